import { useEffect } from 'react';
import { ActiveCalls } from './ActiveCall';
import { callsStore } from './calls';
import { CustomerCard } from './CustomerCard';
import { liveStream } from './events';
import { liveApi } from './http';
import { IncomingBanners } from './IncomingBanners';
import { useLiveSession } from './session';

/**
 * What floats over every screen once signed in: incoming call banners, the active call window(s) and the
 * customer card answering opens. The stream opens once the session says who we are (so no event is read
 * before the calls store knows whose calls are whose). Mount it once, inside the signed-in shell.
 */
export function LiveLayer() {
  const session = useLiveSession();
  const me = session?.extension ?? null;
  useEffect(() => {
    if (!session) return;
    callsStore.start(me);
    liveStream.start();
    // Calls that rang or talked before this page loaded (a reload): from the journal, once.
    if (me) void callsStore.recover(me, (p) => liveApi(p));
    return () => {
      liveStream.stop();
    };
  }, [session, me]);
  if (!session) return null;
  return (
    <>
      <div
        data-testid="live-layer"
        style={{ position: 'fixed', right: 16, bottom: 16, zIndex: 1100, display: 'flex', flexDirection: 'column', gap: 8, maxHeight: 'calc(100vh - 32px)', overflowY: 'auto' }}
      >
        <IncomingBanners />
        {me && <ActiveCalls me={me} />}
      </div>
      <CustomerCard />
    </>
  );
}

export default LiveLayer;
