import { Router } from 'express';
import { Db } from '../db/database';
import { CallService } from '../calls/call-service';
import { route } from './errors';

export function healthRouter(db: Db, calls: CallService, startedAt: number): Router {
  const r = Router();
  r.get('/health', route(async (_req, res) => {
    const dbOk = await db.ping();
    const esl = calls.esl;
    const fsOk = esl.state === 'ready';
    const writerError = calls.writer.lastError?.message ?? null;
    res.status(dbOk && !writerError ? 200 : 503).json({
      status: dbOk && fsOk && !writerError ? 'ok' : 'degraded',
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      freeswitch: {
        connected: fsOk,
        state: esl.state,
        connects: esl.stats.connects,
        eventsReceived: esl.stats.events,
        malformedFrames: esl.stats.malformed,
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
