import { Suspense, useCallback, useEffect, useState } from 'react';
import { App as AntApp, ConfigProvider, Spin } from 'antd';
import ruRU from 'antd/locale/ru_RU';
import enUS from 'antd/locale/en_US';
import { useTranslation } from 'react-i18next';
import { api, ApiError, onUnauthorized, sessionExtension, type Session } from './api/client';
import { matchPath, RouterProvider } from './router';
import { routes } from './routes';
import { prefetchJournal } from './pages/journal-data';

// The page in the address bar loads while the session is checked, not after.
routes.find((r) => matchPath(r.path, window.location.pathname))?.preload?.().catch(() => undefined);
import { SessionContext } from './shell/session';
import { Layout } from './shell/Layout';
import { SignIn } from './pages/SignIn';

export function App() {
  const { i18n } = useTranslation();
  return (
    <ConfigProvider locale={i18n.language === 'en' ? enUS : ruRU} theme={{ token: { borderRadius: 6 } }}>
      <AntApp>
        <RouterProvider>
          <Authenticated />
        </RouterProvider>
      </AntApp>
    </ConfigProvider>
  );
}

/** Signed in: the journal's first page is fetched now, while the shell renders (see pages/journal-data.ts). */
function signedIn(s: Session): Session {
  if (window.location.pathname === '/') prefetchJournal(window.location.search);
  return s;
}

function Authenticated() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => {
    api.session
      .get()
      .then((s) => setSession(signedIn(s)))
      .catch((e) => {
        if (!(e instanceof ApiError)) console.error(e);
        setSession(null);
      });
    return onUnauthorized(() => setSession(null));
  }, []);
  const signOut = useCallback(() => {
    api.session.remove().catch(() => undefined).finally(() => setSession(null));
  }, []);
  if (session === undefined) return <Spin fullscreen />;
  if (!session) return <SignIn onSignedIn={(s) => setSession(signedIn(s))} />;
  return (
    <SessionContext.Provider value={{ session, extension: sessionExtension(session), signOut }}>
      <Suspense fallback={<Spin fullscreen />}>
        <Layout />
      </Suspense>
    </SessionContext.Provider>
  );
}
