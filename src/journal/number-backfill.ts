import { EventEmitter } from 'node:events';
import type { CountryCode } from 'libphonenumber-js';
import { Db, SqlValue } from '../db/database';
import { phoneFormsVersion } from '../directory/phone';
import { callNumbers } from './journal-writer';

interface StaleRow {
  id: string;
  direction: string;
  external_number: string | null;
  caller_number: string | null;
  destination_number: string | null;
  external_e164: string | null;
  search: string;
}

export interface NumberBackfillOptions {
  /** Calls per transaction. */
  chunk?: number;
  /** Pause between chunks, so live journal writes get their turn. */
  pauseMs?: number;
}

/**
 * Brings calls stored under other phone rules (before migration 0006, or under another
 * TELEFONIST_PHONE_REGION) to the rules the writer uses now: their E.164 columns, the `numbers` the
 * number filter searches and the number forms in the free-text `search`, so old journals are found by
 * any notation too. Runs in the background after start, in small transactions, resumable (a call is
 * done once its numbers_norm is set); a call the writer or a customer link touched meanwhile is read
 * again. Emits 'progress' (done so far) and 'done' (total).
 */
export class NumberBackfill extends EventEmitter {
  private stopped = false;
  private prepared: Promise<void> | null = null;
  private running: Promise<number> | null = null;
  private readonly chunk: number;
  private readonly pauseMs: number;
  private readonly norm: string;

  constructor(
    private readonly db: Db,
    private readonly region: CountryCode,
    opts: NumberBackfillOptions = {},
  ) {
    super();
    this.chunk = opts.chunk ?? 250;
    this.pauseMs = opts.pauseMs ?? 5;
    this.norm = phoneFormsVersion(region);
  }

  /**
   * Marks the calls written under another TELEFONIST_PHONE_REGION as stale. Call it before the journal
   * writer writes anything (before the call service starts): afterwards every row is either stale or
   * written under the current rules, and stays so.
   */
  prepare(): Promise<void> {
    this.prepared ??= this.forgetOtherRules();
    return this.prepared;
  }

  /** Starts (once); resolves with the number of calls rewritten. */
  run(): Promise<number> {
    this.running ??= this.work();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  private async work(): Promise<number> {
    await this.prepare();
    let done = 0;
    // Rounds: a call changed under our feet is left stale by its guarded UPDATE and read again next round.
    for (let round = 0; round < 5 && !this.stopped; round++) {
      let after = '';
      let skipped = 0;
      for (;;) {
        if (this.stopped) return done;
        const rows = await this.db.query<StaleRow>(
          `SELECT id, direction, external_number, caller_number, destination_number, external_e164, search
             FROM calls WHERE numbers_norm IS NULL AND id > ? ORDER BY id LIMIT ${this.chunk}`,
          [after],
        );
        if (rows.length === 0) break;
        after = rows[rows.length - 1].id;
        const n = await this.rewrite(rows);
        done += n;
        skipped += rows.length - n;
        this.emit('progress', done);
        if (this.pauseMs) await new Promise((r) => setTimeout(r, this.pauseMs));
      }
      if (skipped === 0) break;
    }
    this.emit('done', done);
    return done;
  }

  /**
   * Calls written under other rules (TELEFONIST_PHONE_REGION changed) are marked stale in one statement.
   * Every call that has rules has the same (this runs before anything is written under new ones), so the
   * newest such call tells whether that is needed: an up-to-date journal costs one row read.
   */
  private async forgetOtherRules(): Promise<void> {
    const [newest] = await this.db.query<{ numbers_norm: string | null }>(
      'SELECT numbers_norm FROM calls WHERE numbers_norm IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT 1',
    );
    if (!newest?.numbers_norm || newest.numbers_norm === this.norm) return;
    await this.db.exec('UPDATE calls SET numbers_norm = NULL WHERE numbers_norm IS NOT NULL AND numbers_norm <> ?', [this.norm]);
  }

  /** Rewrites the rows that nobody changed since they were read; returns how many. */
  private async rewrite(rows: StaleRow[]): Promise<number> {
    const values: SqlValue[][] = rows.map((r) => {
      const n = callNumbers({
        direction: r.direction,
        externalNumber: r.external_number,
        callerNumber: r.caller_number,
        destinationNumber: r.destination_number,
      }, this.region);
      // `search` also holds customer names linked later: keep it, add the number forms it lacks.
      const missing = n.forms.map((f) => f.toLowerCase()).filter((f) => !r.search.includes(f));
      const search = missing.length ? `${r.search} ${missing.join(' ')}` : r.search;
      return [r.id, r.search, search, n.numbers, r.external_e164 ?? n.externalE164 ?? null, n.callerE164 ?? null, n.destinationE164 ?? null];
    });
    const one = '(?, ?, ?, ?, ?, ?, ?)';
    const sql = `WITH v(id, old_search, search, numbers, external_e164, caller_e164, destination_e164) AS (VALUES ${values.map(() => one).join(', ')})
      UPDATE calls SET search = v.search, numbers = v.numbers, external_e164 = v.external_e164, caller_e164 = v.caller_e164,
        destination_e164 = v.destination_e164, numbers_norm = ?
      FROM v WHERE calls.id = v.id AND calls.numbers_norm IS NULL AND calls.search = v.old_search`;
    return this.db.transaction((tx) => this.db.exec(sql, [...values.flat(), this.norm], tx));
  }
}
