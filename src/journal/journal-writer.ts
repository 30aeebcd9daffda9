import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Db, SqlValue } from '../db/database';
import { absorbTimelineEntry, CallState, FINAL_STATUSES, JournalBatch, LegState, RecordingInfo, TimelineEntry } from '../calls/types';

interface Pending {
  calls: Map<string, CallState>;
  legs: Map<string, LegState>;
  timeline: TimelineEntry[];
  recordings: Map<string, RecordingInfo>;
  merges: Array<{ from: string; into: string }>;
  waiters: Array<{ resolve: () => void; reject: (e: Error) => void }>;
  events: number;
}

function emptyPending(): Pending {
  return { calls: new Map(), legs: new Map(), timeline: [], recordings: new Map(), merges: [], waiters: [], events: 0 };
}

export interface JournalWriterOptions {
  /** Longest time a change waits before it is committed. */
  maxDelayMs?: number;
  /** Commit at once when this many tracker batches are waiting. */
  maxBatches?: number;
}

/**
 * Persists the tracker's changes: coalesced per call and leg, committed in one transaction per flush,
 * idempotent (upserts keyed by call id, leg uuid, timeline key; a final call is never reopened).
 * Emits 'committed' with the calls written, after the transaction commits.
 */
export class JournalWriter extends EventEmitter {
  private pending = emptyPending();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly maxDelayMs: number;
  private readonly maxBatches: number;
  private closed = false;
  lastError: Error | null = null;
  readonly stats = { flushes: 0, commitMs: 0, batches: 0, failures: 0 };

  constructor(
    private readonly db: Db,
    opts: JournalWriterOptions = {},
  ) {
    super();
    this.maxDelayMs = opts.maxDelayMs ?? 20;
    this.maxBatches = opts.maxBatches ?? 2000;
  }

  /** Queues a batch; the promise resolves once it is committed. */
  write(batch: JournalBatch): Promise<void> {
    if (this.closed) return Promise.reject(new Error('journal writer is closed'));
    if (isEmpty(batch)) return Promise.resolve();
    const p = this.pending;
    for (const m of batch.merges) {
      p.calls.delete(m.from);
      for (const t of p.timeline) if (t.callId === m.from) absorbTimelineEntry(t, m.into);
      for (const r of p.recordings.values()) if (r.callId === m.from) r.callId = m.into;
      p.merges.push(m);
    }
    for (const c of batch.calls) p.calls.set(c.id, c);
    for (const l of batch.legs) p.legs.set(l.uuid, l);
    for (const t of batch.timeline) p.timeline.push(t);
    for (const r of batch.recordings) {
      const prev = p.recordings.get(r.key);
      p.recordings.set(r.key, prev ? { ...prev, ...r, startedAt: prev.startedAt } : r);
    }
    p.events++;
    const done = new Promise<void>((resolve, reject) => p.waiters.push({ resolve, reject }));
    if (p.events >= this.maxBatches) this.kick(0);
    else this.kick(this.maxDelayMs);
    return done;
  }

  /** Resolves when everything queued so far is committed. */
  async idle(): Promise<void> {
    while (this.flushing || this.pending.events > 0) {
      if (this.flushing) await this.flushing.catch(() => undefined);
      else await this.flush();
    }
  }

  async close(): Promise<void> {
    await this.idle();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private kick(delay: number): void {
    if (this.flushing) return; // the running flush re-arms
    if (this.timer && delay > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delay);
  }

  private async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.events === 0) return;
    const batch = this.pending;
    this.pending = emptyPending();
    this.flushing = (async () => {
      try {
        const t0 = performance.now();
        await this.commit(batch);
        this.stats.commitMs += performance.now() - t0;
        this.stats.flushes++;
        this.stats.batches += batch.events;
        this.lastError = null;
        for (const w of batch.waiters) w.resolve();
        this.emit('committed', [...batch.calls.values()]);
      } catch (e) {
        this.lastError = e as Error;
        this.stats.failures++;
        this.emit('error', e);
        // Nothing is dropped: the batch goes back in front of what arrived meanwhile and is retried.
        this.requeue(batch);
      }
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
      if (this.pending.events > 0) this.kick(this.lastError ? 1000 : this.maxDelayMs);
    }
  }

  private requeue(old: Pending): void {
    const cur = this.pending;
    const merged = emptyPending();
    merged.calls = new Map([...old.calls, ...cur.calls]);
    merged.legs = new Map([...old.legs, ...cur.legs]);
    merged.timeline = [...old.timeline, ...cur.timeline];
    merged.recordings = new Map([...old.recordings, ...cur.recordings]);
    merged.merges = [...old.merges, ...cur.merges];
    merged.waiters = [...old.waiters, ...cur.waiters];
    merged.events = old.events + cur.events;
    this.pending = merged;
  }

  private async commit(b: Pending): Promise<void> {
    const db = this.db;
    const now = Date.now();
    await db.transaction(async (tx) => {
      await this.upsertCalls(tx, [...b.calls.values()], now);
      for (const m of b.merges) {
        await db.exec('UPDATE call_events SET call_id = ? WHERE call_id = ?', [m.into, m.from], tx);
        await db.exec(
          // The absorbed call's own "ringing" becomes one more leg ringing in the surviving call.
          `UPDATE call_events SET kind = 'leg_ringing' WHERE call_id = ? AND kind = 'ringing' AND leg <> ?`,
          [m.into, m.into],
          tx,
        );
        await db.exec('UPDATE recordings SET call_id = ? WHERE call_id = ?', [m.into, m.from], tx);
        await db.exec('UPDATE call_legs SET call_id = ? WHERE call_id = ?', [m.into, m.from], tx);
        await db.exec('DELETE FROM call_employees WHERE call_id = ?', [m.from], tx);
        await db.exec('DELETE FROM calls WHERE id = ?', [m.from], tx);
        await db.exec('UPDATE call_aliases SET call_id = ? WHERE call_id = ?', [m.into, m.from], tx);
        await db.exec('INSERT INTO call_aliases (alias_id, call_id) VALUES (?, ?) ON CONFLICT (alias_id) DO UPDATE SET call_id = excluded.call_id', [m.from, m.into], tx);
      }
      await this.upsertLegs(tx, [...b.legs.values()]);
      await this.insertTimeline(tx, b.timeline);
      await this.upsertRecordings(tx, [...b.recordings.values()]);
    });
  }



  private async upsertCalls(tx: Parameters<Db['exec']>[2], calls: CallState[], now: number): Promise<void> {
    if (calls.length === 0) return;
    const rows: SqlValue[][] = [];
    const empRows: SqlValue[][] = [];
    for (const c of calls) {
      const final = FINAL_STATUSES.includes(c.status) && c.endedAt !== undefined;
      const ringEnd = c.answeredAt ?? c.endedAt;
      const employees = Object.keys(c.employees).sort();
      rows.push([
        c.id,
        c.direction,
        c.status,
        BigInt(c.startedAt),
        big(c.answeredAt),
        big(c.endedAt),
        ringEnd !== undefined ? BigInt(Math.max(0, ringEnd - c.startedAt)) : null,
        c.answeredAt !== undefined && c.endedAt !== undefined ? BigInt(Math.max(0, c.endedAt - c.answeredAt)) : null,
        c.endedAt !== undefined ? BigInt(Math.max(0, c.endedAt - c.startedAt)) : null,
        c.externalNumber ?? null,
        c.callerNumber ?? null,
        c.callerName ?? null,
        c.destinationNumber ?? null,
        c.hangupCause ?? null,
        employees.length ? ` ${employees.join(' ')} ` : '',
        c.hasRecording,
        c.originJob ?? null,
        final,
        final ? null : JSON.stringify(c),
        numbersText(c),
        searchText(c, employees),
        BigInt(now),
        c.identity?.customerId ?? null,
        c.identity?.contactId ?? null,
        c.identity?.kind ?? null,
        c.externalE164 ?? null,
      ]);
      for (const e of employees) {
        const info = c.employees[e];
        empRows.push([c.id, e, info.role, info.answered, BigInt(c.startedAt)]);
      }
    }
    await this.db.execMany(
            `INSERT INTO calls (id, direction, status, started_at, answered_at, ended_at, ring_ms, talk_ms, duration_ms,
        external_number, caller_number, caller_name, destination_number, hangup_cause, employee_list, has_recording,
        origin_job, final, live_state, numbers, search, updated_at, customer_id, contact_id, identification, external_e164)`,
      26,
      rows,
      `ON CONFLICT (id) DO UPDATE SET direction = excluded.direction, status = excluded.status,
        started_at = excluded.started_at, answered_at = excluded.answered_at, ended_at = excluded.ended_at,
        ring_ms = excluded.ring_ms, talk_ms = excluded.talk_ms, duration_ms = excluded.duration_ms,
        external_number = excluded.external_number, caller_number = excluded.caller_number,
        caller_name = excluded.caller_name, destination_number = excluded.destination_number,
        hangup_cause = excluded.hangup_cause, employee_list = excluded.employee_list,
        has_recording = excluded.has_recording, origin_job = COALESCE(excluded.origin_job, calls.origin_job),
        final = excluded.final, live_state = excluded.live_state, numbers = excluded.numbers, search = excluded.search, updated_at = excluded.updated_at,
        external_e164 = excluded.external_e164,
        customer_id = CASE WHEN excluded.identification IS NULL THEN calls.customer_id ELSE excluded.customer_id END,
        contact_id = CASE WHEN excluded.identification IS NULL THEN calls.contact_id ELSE excluded.contact_id END,
        identification = COALESCE(excluded.identification, calls.identification)
      WHERE NOT calls.final OR (excluded.final AND excluded.origin_job IS NOT NULL AND calls.origin_job IS NULL)`, tx);
    if (empRows.length) {
      await this.db.execMany(
                'INSERT INTO call_employees (call_id, extension, role, answered, started_at)',
        5,
        empRows,
        `ON CONFLICT (call_id, extension) DO UPDATE SET role = excluded.role, answered = excluded.answered
         WHERE NOT EXISTS (SELECT 1 FROM calls WHERE calls.id = call_employees.call_id AND calls.final AND calls.updated_at <> ${Number(now)})`, tx);
    }
  }

  private async upsertLegs(tx: Parameters<Db['exec']>[2], legs: LegState[]): Promise<void> {
    if (legs.length === 0) return;
    const rows: SqlValue[][] = legs.map((l) => [
      l.uuid,
      l.callId,
      l.fsDirection,
      l.channelName,
      l.employee ?? null,
      l.number ?? null,
      l.name ?? null,
      l.destination ?? null,
      l.role,
      BigInt(l.createdAt),
      big(l.answeredAt),
      big(l.endedAt),
      l.hangupCause ?? null,
      JSON.stringify(l),
    ]);
    await this.db.execMany(
            `INSERT INTO call_legs (uuid, call_id, fs_direction, channel_name, employee, number, name, destination, role,
        created_at, answered_at, ended_at, hangup_cause, state)`,
      14,
      rows,
      `ON CONFLICT (uuid) DO UPDATE SET call_id = excluded.call_id, employee = excluded.employee, number = excluded.number,
        name = excluded.name, destination = excluded.destination, role = excluded.role, answered_at = excluded.answered_at,
        ended_at = excluded.ended_at, hangup_cause = excluded.hangup_cause, state = excluded.state
      WHERE call_legs.ended_at IS NULL OR excluded.ended_at IS NOT NULL`, tx);
  }

  private async insertTimeline(tx: Parameters<Db['exec']>[2], entries: TimelineEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const rows: SqlValue[][] = entries.map((t) => [t.key, t.callId, BigInt(t.at), t.kind, t.leg ?? null, JSON.stringify(t.data)]);
    await this.db.execMany('INSERT INTO call_events (key, call_id, at, kind, leg, data)', 6, rows, 'ON CONFLICT (key) DO NOTHING', tx);
  }

  private async upsertRecordings(tx: Parameters<Db['exec']>[2], recs: RecordingInfo[]): Promise<void> {
    if (recs.length === 0) return;
    const rows: SqlValue[][] = recs.map((r) => [r.key, r.callId, r.leg, r.path, BigInt(r.startedAt), big(r.stoppedAt), r.seconds ?? null, r.stereo]);
    await this.db.execMany(
            'INSERT INTO recordings (key, call_id, leg, path, started_at, stopped_at, seconds, stereo)',
      8,
      rows,
      `ON CONFLICT (key) DO UPDATE SET call_id = excluded.call_id, stopped_at = COALESCE(excluded.stopped_at, recordings.stopped_at),
        seconds = COALESCE(excluded.seconds, recordings.seconds), stereo = excluded.stereo`, tx);
  }
}

function big(v: number | undefined): bigint | null {
  return v === undefined ? null : BigInt(v);
}

function isEmpty(b: JournalBatch): boolean {
  return !b.calls.length && !b.legs.length && !b.timeline.length && !b.recordings.length && !b.merges.length;
}

/** The numbers the digits filter searches (external, caller, destination). */
export function numbersText(c: CallState): string {
  return [c.externalNumber, c.callerNumber, c.destinationNumber].filter((x): x is string => !!x).join(' ');
}

/** Lower-case text the free-text filter `q` searches. */
export function searchText(c: CallState, employees: string[]): string {
  return [c.id, c.externalNumber, c.callerNumber, c.callerName, c.destinationNumber, c.hangupCause, c.status, c.direction,
    c.identity?.customerName, c.identity?.contactName, ...employees]
    .filter((x): x is string => !!x)
    .join(' ')
    .toLowerCase();
}
