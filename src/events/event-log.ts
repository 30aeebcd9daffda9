import { EventEmitter } from 'node:events';
import { Db, SqlValue } from '../db/database';

/**
 * Types of events 1C and the panel receive. call.incoming: an outside call reached the PBX (IVR, queue),
 * no employee's phone rings yet; call.ringing: an employee's phone rings (or an employee dials out);
 * employee.presence: an extension's presence changed (offline, online, busy with a reason; see
 * src/employees/presence.ts), addressed to that extension and to every supervisor.
 */
export const EVENT_TYPES = ['call.incoming', 'call.ringing', 'call.answered', 'call.transferred', 'call.ended', 'call.merged', 'customer.linked', 'employee.presence',
  // Call control (src/control): transfer and supervision resources changing state, and hold / resume / hang-up requests.
  'transfer.updated', 'supervision.updated', 'call.action',
  // Chats (src/chats): addressed to the employees who may see the chat (src/auth/scope.ts chatAudience).
  'chat.created', 'chat.message', 'chat.message_updated', 'chat.delivery', 'chat.assigned', 'chat.observer_added', 'chat.handed_over', 'chat.closed',
  // AI analysis of a chat finished (done or failed): src/ai/chat-analyses.ts, to the same employees.
  'chat.analysis'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface LogEventInput {
  /** Deterministic identity: the same happening logged twice (a replay, a resync) is stored once. */
  key: string;
  type: EventType;
  callId?: string;
  /** Extensions of the employees the event is addressed to (empty: to nobody in particular). */
  employees: string[];
  data: Record<string, unknown>;
  at?: number;
}

/** An event as every consumer gets it (SSE data, long-poll item, webhook body). */
export interface LogEvent {
  /** The cursor: a decimal string, increasing. */
  id: string;
  type: EventType;
  at: string;
  callId: string | null;
  employees: string[];
  data: Record<string, unknown>;
}

export interface EventFilter {
  /** Only events addressed to this extension. */
  employee?: string;
  types?: readonly string[];
}

export function matches(e: LogEvent, f: EventFilter): boolean {
  if (f.employee && !e.employees.includes(f.employee)) return false;
  if (f.types && f.types.length && !f.types.includes(e.type)) return false;
  return true;
}

interface Row {
  id: bigint | number | string;
  type: string;
  call_id: string | null;
  employees: string;
  payload: string;
  created_at: bigint | number | string;
}

function toEvent(r: Row): LogEvent {
  return {
    id: String(r.id),
    type: r.type as EventType,
    at: new Date(Number(r.created_at)).toISOString(),
    callId: r.call_id,
    employees: r.employees.trim() ? r.employees.trim().split(' ') : [],
    data: JSON.parse(r.payload) as Record<string, unknown>,
  };
}

/**
 * The one durable event log: appends are committed before anyone sees them (SSE, long-poll, webhooks all
 * read it by cursor), in order, each key once. Appends queue behind one another and go in batches.
 * Emits 'appended' with the new events after each commit.
 */
export class EventLog extends EventEmitter {
  private nextId = 1n;
  private committed = 0n;
  private queue: Array<{ input: LogEventInput; resolve: (e: LogEvent | null) => void; reject: (e: Error) => void }> = [];
  private writing: Promise<void> | null = null;
  readonly stats = { appended: 0, duplicates: 0, commits: 0, failures: 0 };
  lastError: Error | null = null;
  private closed = false;

  private constructor(private readonly db: Db) {
    super();
    this.setMaxListeners(0);
    this.on('error', () => undefined); // failures are retried and shown in stats/health
  }

  static async open(db: Db): Promise<EventLog> {
    const log = new EventLog(db);
    const [r] = await db.query<{ m: bigint | number | null }>('SELECT MAX(id) AS m FROM event_log');
    const max = r?.m == null ? 0n : BigInt(r.m);
    log.nextId = max + 1n;
    log.committed = max;
    return log;
  }

  /** The id of the newest committed event ("0" when the log is empty). */
  latest(): string {
    return String(this.committed);
  }

  /** Appends events; resolves with each one as stored, or null for a key already in the log. */
  append(inputs: LogEventInput[]): Promise<Array<LogEvent | null>> {
    const all = inputs.map((input) => new Promise<LogEvent | null>((resolve, reject) => this.queue.push({ input, resolve, reject })));
    if (!this.writing) this.writing = this.drain();
    return Promise.all(all);
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, 500);
        let stored: Array<LogEvent | null>;
        for (;;) {
          try {
            stored = await this.insert(batch.map((b) => b.input));
            break;
          } catch (e) {
            // Nothing is dropped: the same batch is retried until the database takes it.
            this.stats.failures++;
            this.lastError = e as Error;
            this.emit('error', e);
            if (this.closed) {
              for (const b of batch) b.reject(e as Error);
              throw e;
            }
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
        this.lastError = null;
        batch.forEach((b, i) => b.resolve(stored[i]));
        const fresh = stored.filter((e): e is LogEvent => e !== null);
        if (fresh.length) this.emit('appended', fresh);
      }
    } finally {
      this.writing = null;
    }
  }

  private async insert(inputs: LogEventInput[]): Promise<Array<LogEvent | null>> {
    const now = Date.now();
    const rows: SqlValue[][] = [];
    const events: LogEvent[] = [];
    const seenKeys = new Set<string>();
    for (const input of inputs) {
      if (seenKeys.has(input.key)) {
        events.push(null as unknown as LogEvent);
        continue;
      }
      seenKeys.add(input.key);
      const id = this.nextId++;
      const at = input.at ?? now;
      const employees = [...new Set(input.employees)].sort();
      rows.push([id, input.key, input.type, input.callId ?? null, employees.length ? ` ${employees.join(' ')} ` : '', JSON.stringify(input.data), BigInt(at)]);
      events.push({ id: String(id), type: input.type, at: new Date(at).toISOString(), callId: input.callId ?? null, employees, data: input.data });
    }
    const inserted = new Set<string>();
    await this.db.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += 100) {
        const chunk = rows.slice(i, i + 100);
        const sql = `INSERT INTO event_log (id, key, type, call_id, employees, payload, created_at) VALUES ${chunk
          .map(() => '(?, ?, ?, ?, ?, ?, ?)')
          .join(', ')} ON CONFLICT (key) DO NOTHING RETURNING id`;
        for (const r of await this.db.query<{ id: bigint | number }>(sql, chunk.flat(), tx)) inserted.add(String(r.id));
      }
    });
    this.stats.commits++;
    if (rows.length) this.committed = BigInt(rows[rows.length - 1][0] as bigint);
    return events.map((e) => {
      if (!e || !inserted.has(e.id)) {
        this.stats.duplicates++;
        return null;
      }
      this.stats.appended++;
      return e;
    });
  }

  /** Events after the cursor, oldest first. */
  async read(after: string, filter: EventFilter = {}, limit = 100, upTo?: string): Promise<LogEvent[]> {
    const where = ['id > ?'];
    const params: SqlValue[] = [BigInt(after)];
    if (upTo !== undefined) {
      where.push('id <= ?');
      params.push(BigInt(upTo));
    }
    if (filter.employee) {
      where.push('employees LIKE ?');
      params.push(`% ${filter.employee} %`);
    }
    if (filter.types?.length) {
      where.push(`type IN (${filter.types.map(() => '?').join(', ')})`);
      params.push(...filter.types);
    }
    params.push(limit);
    const rows = await this.db.query<Row>(
      `SELECT id, type, call_id, employees, payload, created_at FROM event_log WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`,
      params,
    );
    return rows.map(toEvent);
  }

  /**
   * One page for a cursor-based reader: the events after `after` that pass the filter, and the cursor to
   * send next time (past the events the filter skipped, so they are not scanned again).
   */
  async page(after: string, filter: EventFilter, limit: number): Promise<{ events: LogEvent[]; cursor: string }> {
    const upTo = this.latest();
    if (BigInt(after) >= BigInt(upTo)) return { events: [], cursor: after };
    const events = await this.read(after, filter, limit, upTo);
    const cursor = events.length === limit ? events[events.length - 1].id : upTo;
    return { events, cursor };
  }

  /** Resolves once all appends queued so far are committed. */
  async idle(): Promise<void> {
    while (this.writing) await this.writing.catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.idle();
    this.closed = true;
    this.removeAllListeners('appended');
  }
}
