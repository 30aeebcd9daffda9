import { Router, Response } from 'express';
import { Principal, TokenService } from '../auth/tokens';
import { employeeScope } from '../auth/scope';
import { EVENT_TYPES, EventFilter, EventLog, LogEvent, matches } from '../events/event-log';
import { requireRole, revokedError, TOKEN_REVOKED, tokenRevoked } from './auth';
import { route } from './errors';
import { bad, intParam, list, QueryParam, rejectUnknown, single } from './query';

const EXT_RE = /^[0-9A-Za-z_.+-]{1,32}$/;
const CURSOR_RE = /^\d{1,19}$/;

const COMMON: QueryParam[] = [
  { name: 'employee', description: 'Only events addressed to this extension (the operator\'s screen pop).', schema: { type: 'string', pattern: EXT_RE.source } },
  { name: 'types', description: `Comma-separated event types: ${EVENT_TYPES.join(', ')}.`, schema: { type: 'string', example: 'call.ringing,call.answered' } },
];

export const EVENT_POLL_PARAMS: QueryParam[] = [
  {
    name: 'after',
    description: 'Cursor: return events after this one (the `cursor` of the previous answer). Absent: only events from now on.',
    schema: { type: 'string', pattern: CURSOR_RE.source },
  },
  { name: 'wait', description: 'Seconds to wait for an event when there is none yet, 0..60 (default 25).', schema: { type: 'integer', minimum: 0, maximum: 60, default: 25 } },
  { name: 'limit', description: 'Most events per answer, 1..500 (default 100).', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
  ...COMMON,
];

export const EVENT_STREAM_PARAMS: QueryParam[] = [
  {
    name: 'after',
    description: 'Cursor to resume from (the Last-Event-ID header does the same and wins). Absent: only events from now on.',
    schema: { type: 'string', pattern: CURSOR_RE.source },
  },
  ...COMMON,
  { name: 'access_token', description: 'The API token, for browsers\' EventSource, which cannot send an Authorization header.', schema: { type: 'string' } },
];

function cursorParam(v: string | undefined, field: string, log: EventLog): string {
  if (v === undefined) return log.latest();
  if (!CURSOR_RE.test(v)) throw bad(field, `${field} must be an event id (digits), as given in "cursor" or the SSE id`);
  return BigInt(v) > BigInt(log.latest()) ? log.latest() : v;
}

function filterOf(query: Record<string, unknown>, who: Principal): EventFilter {
  const employee = single(query, 'employee');
  if (employee !== undefined && !EXT_RE.test(employee)) throw bad('employee', 'employee must be an extension (letters, digits, ._+-; up to 32)');
  return { employee: employeeScope(who, employee), types: list(query, 'types', EVENT_TYPES) };
}

/**
 * The event log for 1C and the panel, three ways from one cursor: long-poll (`GET /events`, for 1C's
 * HTTPСоединение), Server-Sent Events (`GET /events/stream`, for the panel); webhooks are pushed by the
 * dispatcher from the same log.
 */
export function eventsRouter(tokens: TokenService, log: EventLog): Router {
  const r = Router();
  const roles = ['admin', 'supervisor', 'operator', 'integration'] as const;
  const pollKnown = new Set(EVENT_POLL_PARAMS.map((p) => p.name));
  const streamKnown = new Set(EVENT_STREAM_PARAMS.map((p) => p.name));

  r.get(
    '/events',
    requireRole(tokens, roles),
    route(async (req, res) => {
      const query = req.query as Record<string, unknown>;
      rejectUnknown(query, pollKnown);
      const after = cursorParam(single(query, 'after'), 'after', log);
      const wait = intParam(query, 'wait', 0, 60, 25);
      const limit = intParam(query, 'limit', 1, 500, 100);
      const filter = filterOf(query, req.principal!);
      let page = await log.page(after, filter, limit);
      if (page.events.length === 0 && wait > 0) {
        const cursorBefore = page.cursor;
        const woke = await waitForEvent(res, log, filter, wait * 1000);
        if (woke === 'closed') return;
        if (woke === 'revoked') throw revokedError();
        if (woke === 'event') page = await log.page(cursorBefore, filter, limit);
        else page = { events: [], cursor: log.latest() };
      }
      if (tokenRevoked(res)) throw revokedError();
      res.set('Cache-Control', 'no-store');
      res.json(page);
    }),
  );

  r.get(
    '/events/stream',
    requireRole(tokens, roles, { queryToken: true }),
    route(async (req, res) => {
      const query = req.query as Record<string, unknown>;
      rejectUnknown(query, streamKnown);
      const lastId = req.headers['last-event-id'];
      const after = cursorParam(typeof lastId === 'string' && lastId ? lastId : single(query, 'after'), typeof lastId === 'string' && lastId ? 'Last-Event-ID' : 'after', log);
      const filter = filterOf(query, req.principal!);
      res.status(200);
      res.set({
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      res.flushHeaders();
      req.socket.setNoDelay(true);
      const send = (e: LogEvent) => {
        if (!res.writableEnded) res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      };
      // Live events that arrive while the backlog is read wait in `held`; nothing is sent twice or skipped.
      let sent = BigInt(after);
      let held: LogEvent[] | null = [];
      const onAppended = (events: LogEvent[]) => {
        for (const e of events) {
          if (!matches(e, filter)) continue;
          if (held) held.push(e);
          else if (BigInt(e.id) > sent) {
            send(e);
            sent = BigInt(e.id);
          }
        }
      };
      log.on('appended', onAppended);
      const heartbeat = setInterval(() => res.writableEnded || res.write(': keep-alive\n\n'), 15_000);
      const close = () => {
        clearInterval(heartbeat);
        log.off('appended', onAppended);
      };
      res.on('close', close);
      // Revoking the token ends the stream at once; EventSource's reconnect then gets 401 and stops.
      res.once(TOKEN_REVOKED, () => {
        close();
        if (!res.writableEnded) res.end(': token revoked\n\n');
      });
      res.write('retry: 2000\n\n');
      try {
        for (;;) {
          const page = await log.page(String(sent), filter, 500);
          for (const e of page.events) send(e);
          if (page.events.length) sent = BigInt(page.events[page.events.length - 1].id);
          if (page.events.length < 500) break;
        }
        const backlog = held;
        held = null;
        for (const e of backlog) {
          if (BigInt(e.id) > sent) {
            send(e);
            sent = BigInt(e.id);
          }
        }
      } catch (e) {
        close();
        res.end();
        throw e;
      }
    }),
  );
  return r;
}

/**
 * Waits for a matching event: 'event' when one is appended, 'timeout' after `ms`, 'closed' when the client
 * went away, 'revoked' when the token was revoked meanwhile.
 */
function waitForEvent(res: Response, log: EventLog, filter: EventFilter, ms: number): Promise<'event' | 'timeout' | 'closed' | 'revoked'> {
  if (tokenRevoked(res)) return Promise.resolve('revoked');
  return new Promise((resolve) => {
    const done = (v: 'event' | 'timeout' | 'closed' | 'revoked') => {
      clearTimeout(timer);
      log.off('appended', onAppended);
      res.off('close', onClose);
      res.off(TOKEN_REVOKED, onRevoked);
      resolve(v);
    };
    const onAppended = (events: LogEvent[]) => {
      if (events.some((e) => matches(e, filter))) done('event');
    };
    const onClose = () => done('closed');
    const onRevoked = () => done('revoked');
    const timer = setTimeout(() => done('timeout'), ms);
    log.on('appended', onAppended);
    res.on('close', onClose);
    res.on(TOKEN_REVOKED, onRevoked);
  });
}
