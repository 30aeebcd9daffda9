import { useEffect, useMemo, useState } from 'react';
import { sessionExtension, sessionName } from '../api/client';
import { useSession } from '../shell/session';
import { liveApi } from './http';

/** Who is signed in, as GET /api/v1/session says: the extension the live screens act as, and the role. */
export interface LiveSession {
  extension: string | null;
  name: string | null;
  role: string;
  /** May see and use listen / whisper / barge (the API still answers 403 to anyone else). */
  supervisor: boolean;
}

export function parseSession(body: any): LiveSession {
  const emp = body?.employee && typeof body.employee === 'object' ? body.employee : body?.user ?? {};
  const extension = sessionExtension(body);
  const role = String(body?.role ?? emp.role ?? body?.user?.role ?? 'operator');
  const rights: unknown = emp.effectiveRights ?? emp.rights ?? body?.rights;
  const supervisor =
    role === 'supervisor' || role === 'admin' || emp.supervisor === true || body?.supervisor === true || (Array.isArray(rights) && rights.includes('supervisor'));
  return { extension, name: sessionName(body) || null, role, supervisor };
}

/** The shell's session (its context) when there is one, else GET /session. */
export function useLiveSession(): LiveSession | null {
  const { session } = useSession();
  const fromShell = useMemo(() => (session ? parseSession(session) : null), [session]);
  const [fetched, setFetched] = useState<LiveSession | null>(null);
  useEffect(() => {
    if (fromShell) return;
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const get = () =>
      liveApi('/session').then(
        (b) => alive && setFetched(parseSession(b)),
        () => {
          if (alive) timer = setTimeout(get, 3000);
        },
      );
    void get();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [fromShell]);
  return fromShell ?? fetched;
}
