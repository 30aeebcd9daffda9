import { Router } from 'express';
import { Db } from '../db/database';
import { CallService } from '../calls/call-service';
import { route } from './errors';
import { rejectUnknown } from './query';

/** /health takes no parameters: one it does not know is a 400 naming it, as on /calls (never silently ignored). */
const NO_PARAMS: ReadonlySet<string> = new Set();

export function healthRouter(db: Db, calls: CallService, startedAt: number): Router {
  const r = Router();
  r.get('/health', route(async (req, res) => {
    rejectUnknown(req.query as Record<string, unknown>, NO_PARAMS);
    const dbOk = await db.ping();
    const esl = calls.esl;
    const fsOk = esl.state === 'ready';
    // 'stale': connected, but nothing has arrived for the idle window and a probe is out (see EslConnection).
    const link = esl.link;
    const writerError = calls.writer.lastError?.message ?? null;
    const at = (ms: number) => (ms ? new Date(ms).toISOString() : null);
    res.status(dbOk && !writerError ? 200 : 503).json({
      status: dbOk && fsOk && link === 'live' && !writerError ? 'ok' : 'degraded',
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      freeswitch: {
        connected: fsOk,
        state: esl.state,
        link,
        lastByteAt: at(esl.stats.lastByteAt),
        lastEventAt: at(esl.stats.lastEventAt),
        lastHeartbeatAt: at(esl.stats.lastHeartbeatAt),
        connects: esl.stats.connects,
        eventsReceived: esl.stats.events,
        malformedFrames: esl.stats.malformed,
        probes: esl.stats.probes,
        probeFailures: esl.stats.probeFailures,
        handshakeTimeouts: esl.stats.handshakeTimeouts,
        lastError: esl.stats.lastError || null,
        lastResyncAt: calls.stats.lastResyncAt ? new Date(calls.stats.lastResyncAt).toISOString() : null,
        lastResyncError: calls.stats.lastResyncError || null,
      },
      database: { ok: dbOk, kind: db.kind, journalWriteError: writerError },
      liveCalls: calls.liveCalls().length,
    });
  }));
  return r;
}
