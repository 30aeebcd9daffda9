import { EventEmitter } from 'node:events';
import { Db } from '../db/database';
import { dialogueText } from '../transcription/dialogue';
import { Transcriber } from '../transcription/transcriber';
import { Summarizer } from './summarizer';

export interface CallSummaryView {
  callId: string;
  status: 'disabled' | 'none' | 'pending' | 'done' | 'failed';
  summary?: unknown;
  model?: string | null;
  error?: string | null;
  updatedAt?: string;
}

/**
 * Summaries of calls: made after each finished transcript and on demand, one at a time, stored with the
 * call. A summary that was pending when the server stopped, or a transcript finished while it was down,
 * is picked up at the next start.
 */
export class CallSummaries extends EventEmitter {
  private queue: string[] = [];
  private busy: Promise<void> | null = null;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly db: Db,
    private readonly transcriber: Transcriber,
    private readonly summarizer: Summarizer,
  ) {
    super();
    this.on('error', () => undefined);
    transcriber.on('done', (callId: string) => this.request(callId));
  }

  async start(): Promise<void> {
    const rows = await this.db.query<{ call_id: string }>(
      `SELECT DISTINCT j.call_id FROM transcription_jobs j LEFT JOIN call_summaries s ON s.call_id = j.call_id
        WHERE j.status = 'done' AND (s.call_id IS NULL OR s.status = 'pending')`,
    );
    for (const r of rows) this.request(r.call_id);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue = [];
    this.abort.abort();
    await this.busy?.catch(() => undefined);
  }

  request(callId: string): void {
    if (this.stopped || this.queue.includes(callId)) return;
    this.queue.push(callId);
    if (!this.busy) this.busy = this.drain().finally(() => (this.busy = null));
  }

  async get(callId: string): Promise<CallSummaryView> {
    const [r] = await this.db.query<{ status: CallSummaryView['status']; summary: string | null; model: string | null; error: string | null; updated_at: number }>(
      'SELECT status, summary, model, error, updated_at FROM call_summaries WHERE call_id = ?',
      [callId],
    );
    if (!r) return { callId, status: 'none' };
    return { callId, status: r.status, summary: r.summary ? JSON.parse(r.summary) : null, model: r.model, error: r.error, updatedAt: new Date(Number(r.updated_at)).toISOString() };
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.stopped) {
      const callId = this.queue.shift()!;
      try {
        await this.summarize(callId);
      } catch (e) {
        this.emit('error', e);
      }
    }
  }

  private async summarize(callId: string): Promise<void> {
    const now = () => BigInt(Date.now());
    await this.db.exec(
      `INSERT INTO call_summaries (call_id, status, attempts, updated_at) VALUES (?, 'pending', 0, ?)
       ON CONFLICT (call_id) DO UPDATE SET status = 'pending', updated_at = excluded.updated_at`,
      [callId, now()],
    );
    const jobs = (await this.transcriber.jobs(callId)).filter((j) => j.status === 'done');
    const text = dialogueText(jobs.flatMap((j) => j.segments));
    try {
      const summary = await this.summarizer.summarize(text, this.abort.signal);
      await this.db.exec(`UPDATE call_summaries SET status = 'done', summary = ?, model = ?, error = NULL, attempts = attempts + 1, updated_at = ? WHERE call_id = ?`, [
        JSON.stringify(summary),
        this.summarizer.modelName,
        now(),
        callId,
      ]);
      this.emit('done', callId);
    } catch (e) {
      if (this.stopped) return; // stays pending: done at the next start
      await this.db.exec(`UPDATE call_summaries SET status = 'failed', error = ?, attempts = attempts + 1, updated_at = ? WHERE call_id = ?`, [
        (e as Error).message.slice(0, 500),
        now(),
        callId,
      ]);
      this.emit('failed', callId, e);
    }
  }
}
