import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Db, SqlValue } from '../db/database';
import type { CountryCode } from 'libphonenumber-js';
import { absorbTimelineEntry, CallState, FINAL_STATUSES, JournalBatch, LegState, RecordingInfo, TimelineEntry } from '../calls/types';
import { DEFAULT_PHONE_REGION, phoneForms, phoneFormsVersion, withoutContained } from '../directory/phone';

interface Pending {
  calls: Map<string, CallState>;
  legs: Map<string, LegState>;
  timeline: TimelineEntry[];
  recordings: Map<string, RecordingInfo>;
  merges: Array<{ from: string; into: string }>;
  waiters: Array<{ resolve: () => void; reject: (e: Error) => void }>;
  events: number;
  /** "FreeSWITCH link known alive until" (ms, FreeSWITCH clock) to persist with this flush. */
  aliveMark?: number;
}

function emptyPending(): Pending {
  return { calls: new Map(), legs: new Map(), timeline: [], recordings: new Map(), merges: [], waiters: [], events: 0 };
}

export interface JournalWriterOptions {
  /** Longest time a change waits before it is committed. */
  maxDelayMs?: number;
  /** Commit at once when this many tracker batches are waiting. */
  maxBatches?: number;
  /** TELEFONIST_PHONE_REGION: the country of numbers written without one (the stored E.164 forms). */
  region?: CountryCode;
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
  private readonly region: CountryCode;
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
    this.region = opts.region ?? DEFAULT_PHONE_REGION;
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
      // RECORD_STOP's start (stop − record_ms) is when audio began; RECORD_START comes early (while ringing).
      p.recordings.set(r.key, prev ? { ...prev, ...r, startedAt: r.seconds !== undefined ? r.startedAt : prev.startedAt } : r);
    }
    p.events++;
    const done = new Promise<void>((resolve, reject) => p.waiters.push({ resolve, reject }));
    if (p.events >= this.maxBatches) this.kick(0);
    else this.kick(this.maxDelayMs);
    return done;
  }

  /**
   * Persists "the link showed every live leg alive until `fsMs`" (ms, FreeSWITCH clock; CallTracker's
   * aliveMark) in journal_marks, in the same transaction as the changes queued before it or a later one:
   * never ahead of a hangup it follows. One row upsert; the latest mark wins.
   */
  markAlive(fsMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error('journal writer is closed'));
    const p = this.pending;
    p.aliveMark = fsMs;
    p.events++;
    const done = new Promise<void>((resolve, reject) => p.waiters.push({ resolve, reject }));
    this.kick(this.maxDelayMs);
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
    merged.aliveMark = cur.aliveMark ?? old.aliveMark;
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
      if (b.aliveMark !== undefined) {
        await db.exec(
          `INSERT INTO journal_marks (name, at, updated_at) VALUES ('${ALIVE_MARK}', ?, ?)
           ON CONFLICT (name) DO UPDATE SET at = excluded.at, updated_at = excluded.updated_at`,
          [BigInt(b.aliveMark), BigInt(now)],
          tx,
        );
      }
    });
  }



  private async upsertCalls(tx: Parameters<Db['exec']>[2], calls: CallState[], now: number): Promise<void> {
    if (calls.length === 0) return;
    const rows: SqlValue[][] = [];
    const empRows: SqlValue[][] = [];
    for (const c of calls) {
      // Final in the journal = closed by the tracker: no late event (RECORD_STOP, HANGUP_COMPLETE) can come.
      const final = c.closed === true && FINAL_STATUSES.includes(c.status) && c.endedAt !== undefined;
      const ringEnd = c.answeredAt ?? c.endedAt;
      const employees = Object.keys(c.employees).sort();
      const n = callNumbers(c, this.region);
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
        n.numbers,
        searchText(c, employees, n),
        BigInt(now),
        c.identity?.customerId ?? null,
        c.identity?.contactId ?? null,
        c.identity?.kind ?? null,
        n.externalE164 ?? c.externalE164 ?? null,
        n.callerE164 ?? null,
        n.destinationE164 ?? null,
        n.norm,
        c.uncertain === true,
      ]);
      for (const e of employees) {
        const info = c.employees[e];
        empRows.push([c.id, e, info.role, info.answered, BigInt(c.startedAt)]);
      }
    }
    await this.db.execMany(
            `INSERT INTO calls (id, direction, status, started_at, answered_at, ended_at, ring_ms, talk_ms, duration_ms,
        external_number, caller_number, caller_name, destination_number, hangup_cause, employee_list, has_recording,
        origin_job, final, live_state, numbers, search, updated_at, customer_id, contact_id, identification, external_e164,
        caller_e164, destination_e164, numbers_norm, uncertain)`,
      30,
      rows,
      `ON CONFLICT (id) DO UPDATE SET direction = excluded.direction, status = excluded.status,
        started_at = excluded.started_at, answered_at = excluded.answered_at, ended_at = excluded.ended_at,
        ring_ms = excluded.ring_ms, talk_ms = excluded.talk_ms, duration_ms = excluded.duration_ms,
        external_number = excluded.external_number, caller_number = excluded.caller_number,
        caller_name = excluded.caller_name, destination_number = excluded.destination_number,
        hangup_cause = excluded.hangup_cause, employee_list = excluded.employee_list,
        has_recording = excluded.has_recording, origin_job = COALESCE(excluded.origin_job, calls.origin_job),
        final = excluded.final, live_state = excluded.live_state, numbers = excluded.numbers, search = excluded.search, updated_at = excluded.updated_at,
        external_e164 = excluded.external_e164, caller_e164 = excluded.caller_e164,
        destination_e164 = excluded.destination_e164, numbers_norm = excluded.numbers_norm, uncertain = excluded.uncertain,
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
    // A recording FreeSWITCH discarded (empty-file on an unanswered call) is not a recording.
    for (const r of recs.filter((x) => x.discarded)) await this.db.exec('DELETE FROM recordings WHERE key = ?', [r.key], tx);
    recs = recs.filter((x) => !x.discarded);
    if (recs.length === 0) return;
    const rows: SqlValue[][] = recs.map((r) => [r.key, r.callId, r.leg, r.path, BigInt(r.startedAt), big(r.stoppedAt), r.seconds ?? null, r.stereo]);
    await this.db.execMany(
            'INSERT INTO recordings (key, call_id, leg, path, started_at, stopped_at, seconds, stereo)',
      8,
      rows,
      `ON CONFLICT (key) DO UPDATE SET call_id = excluded.call_id,
        started_at = CASE WHEN excluded.seconds IS NOT NULL THEN excluded.started_at ELSE recordings.started_at END, stopped_at = COALESCE(excluded.stopped_at, recordings.stopped_at),
        seconds = COALESCE(excluded.seconds, recordings.seconds), stereo = excluded.stereo`, tx);
  }
}

/** journal_marks' row of CallTracker's "link known alive until" (migration 0019). */
export const ALIVE_MARK = 'freeswitch_alive';

function big(v: number | undefined): bigint | null {
  return v === undefined ? null : BigInt(v);
}

function isEmpty(b: JournalBatch): boolean {
  return !b.calls.length && !b.legs.length && !b.timeline.length && !b.recordings.length && !b.merges.length;
}

/** The numbers a call is stored and found by, under one set of phone rules (src/directory/phone.ts). */
export interface CallNumbers {
  /** The external party in E.164 (not for internal calls): what calls are linked to customers by. */
  externalE164?: string;
  callerE164?: string;
  destinationE164?: string;
  /** What the number filter searches: each number as reported, with its E.164 and national digits. */
  numbers: string;
  /** The same forms, for the free-text search. */
  forms: string[];
  /** phoneFormsVersion: the rules these were computed under. */
  norm: string;
}

/** A call's raw numbers as the journal keeps them (a CallState, or a stored row for the backfill). */
export interface RawCallNumbers {
  direction: string;
  externalNumber?: string | null;
  callerNumber?: string | null;
  destinationNumber?: string | null;
}

export function callNumbers(c: RawCallNumbers, region: CountryCode): CallNumbers {
  const ext = phoneForms(c.externalNumber ?? undefined, region);
  const caller = phoneForms(c.callerNumber ?? undefined, region);
  const dest = phoneForms(c.destinationNumber ?? undefined, region);
  const forms = withoutContained([...ext.forms, ...caller.forms, ...dest.forms]);
  return {
    externalE164: c.direction === 'internal' ? undefined : ext.e164,
    callerE164: caller.e164,
    destinationE164: dest.e164,
    numbers: forms.join(' '),
    forms,
    norm: phoneFormsVersion(region),
  };
}

/** Lower-case text the free-text filter `q` searches. */
export function searchText(
  c: Pick<CallState, 'id' | 'callerName' | 'hangupCause' | 'identity'> & { status: string; direction: string },
  employees: string[],
  n: Pick<CallNumbers, 'forms'>,
): string {
  return [c.id, ...n.forms, c.callerName, c.hangupCause, c.status, c.direction,
    c.identity?.customerName, c.identity?.contactName, ...employees]
    .filter((x): x is string => !!x)
    .join(' ')
    .toLowerCase();
}
