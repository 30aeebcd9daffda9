import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { Db } from '../db/database';
import { JournalReader } from '../journal/journal-reader';
import { RecordingFiles } from '../recordings/recording-files';
import { durationSeconds, parseWav, wavDuration } from './audio';
import { mergeDialogue, Segment, Speaker, Turn } from './dialogue';
import { EngineError, TranscriptionEngine } from './engine';
import { engineInput } from './silence';

/** Which calls the installer wants transcribed. */
export interface TranscriptionRules {
  minSeconds: number;
  maxSeconds: number;
  /** Empty: every direction. */
  directions: string[];
  /** Empty: every employee; else calls with at least one of them. */
  employees: string[];
}

/**
 * Whether the call is wanted (directions, employees): decided when its recordings finish. How long a
 * recording is is decided later, on the audio itself (`durationRule`): the journal's seconds and the WAV
 * header can both be wrong (a recorder killed before it finalised the file writes sizes of 0).
 */
export function shouldTranscribe(call: { direction: string; employees: string[] }, rules: TranscriptionRules): boolean {
  if (rules.directions.length && !rules.directions.includes(call.direction)) return false;
  if (rules.employees.length && !call.employees.some((e) => rules.employees.includes(e))) return false;
  return true;
}

/** Why a recording of `seconds` of decoded audio is not transcribed, or null when it is. */
export function durationRule(seconds: number, rules: Pick<TranscriptionRules, 'minSeconds' | 'maxSeconds'>): string | null {
  if (seconds < rules.minSeconds) return `the recording is ${seconds.toFixed(1)} s of audio, shorter than TRANSCRIBE_MIN_SECONDS (${rules.minSeconds} s)`;
  if (seconds > rules.maxSeconds) return `the recording is ${seconds.toFixed(1)} s of audio, longer than TRANSCRIBE_MAX_SECONDS (${rules.maxSeconds} s)`;
  return null;
}

export interface TranscriberOptions {
  engine: TranscriptionEngine;
  language: string;
  concurrency: number;
  rules: TranscriptionRules;
  /** Frames at or below this level (dBFS) are silence (TRANSCRIBE_SILENCE_DB); see silence.ts. */
  silenceDb?: number;
  /** First retry delay; doubles per attempt up to 10 minutes. */
  baseDelayMs?: number;
  maxAttempts?: number;
  /** How often the queue is looked at when nothing wakes it (due retries wake it on time anyway). */
  scanEveryMs?: number;
}

export interface JobView {
  recording: number;
  recordingKey: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'skipped';
  progress: number;
  attempts: number;
  error: string | null;
  engine: string | null;
  language: string | null;
  audioSeconds: number | null;
  wallMs: number | null;
  segments: Array<{ speaker: string; role: string; start: number; end: number; text: string }>;
}

interface JobRow {
  recording_key: string;
  call_id: string;
  status: JobView['status'];
  attempts: number;
  progress: number;
  error: string | null;
  engine: string | null;
  language: string | null;
  segments: string | null;
  audio_seconds: number | null;
  wall_ms: number | null;
}

/**
 * The transcription queue: a job per finished recording (as the rules allow), kept in the database so a
 * restart loses none (a job that was running is queued again), run `concurrency` at a time, retried with
 * backoff when the engine or the file is not there yet. Stereo recordings are transcribed per channel —
 * the recorded leg's party on the left, the other party on the right — and merged by time into one
 * dialogue with speaker labels; mono recordings become one unlabeled speaker. Silence never reaches the
 * engine (silence.ts): a silent channel is not sent, long silences are cut out. A recording with nothing to
 * transcribe — an empty file, a length outside the rules (of the audio the file really holds), no speech on
 * any channel — ends `skipped` with the reason, never `done` with no segments.
 */
export class Transcriber extends EventEmitter {
  private running = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly active = new Set<Promise<void>>();
  private pumping: Promise<void> | null = null;
  private again = false;
  /** At start every finished recording without a job is looked for; after that only those of committed calls. */
  private scanAll = true;
  private readonly scanCalls = new Set<string>();
  /** Recordings re-run on demand: the duration rule does not apply to them (until their job ends). */
  private readonly onDemand = new Set<string>();
  /** Aborts engine calls in flight when the server stops; their jobs are queued again. */
  private readonly abort = new AbortController();

  constructor(
    private readonly db: Db,
    private readonly reader: JournalReader,
    private readonly files: RecordingFiles,
    private readonly opts: TranscriberOptions,
  ) {
    super();
    this.on('error', () => undefined);
  }

  get engineName(): string {
    return this.opts.engine.name;
  }

  async start(): Promise<void> {
    await this.db.exec(`UPDATE transcription_jobs SET status = 'queued', updated_at = ? WHERE status = 'running'`, [BigInt(Date.now())]);
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.pumping?.catch(() => undefined);
    await Promise.all([...this.active]);
  }

  /** Look for work now; `callIds`: calls just committed, whose recordings may have finished. */
  wake(callIds: Iterable<string> = []): void {
    if (this.stopped) return;
    for (const id of callIds) this.scanCalls.add(id);
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump()
      .catch((e) => {
        this.emit('error', e);
      })
      .finally(() => {
        this.pumping = null;
        if (this.again) {
          this.again = false;
          this.wake();
        } else this.schedule(this.opts.scanEveryMs ?? 5000);
      });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), ms);
    this.timer.unref();
  }

  private async pump(): Promise<void> {
    await this.enqueueFinished();
    const free = this.opts.concurrency - this.running;
    if (free <= 0) return;
    const now = Date.now();
    const due = await this.db.query<{ recording_key: string }>(
      `SELECT recording_key FROM transcription_jobs WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, recording_key LIMIT ?`,
      [BigInt(now), free],
    );
    for (const { recording_key: key } of due) {
      const claimed = await this.db.exec(`UPDATE transcription_jobs SET status = 'running', progress = 0, updated_at = ? WHERE recording_key = ? AND status = 'queued'`, [
        BigInt(now),
        key,
      ]);
      if (!claimed) continue;
      this.running++;
      const p: Promise<void> = this.run(key)
        .catch((e) => {
        this.emit('error', e);
      })
        .finally(() => {
          this.running--;
          this.active.delete(p);
          this.wake();
        });
      this.active.add(p);
    }
    const [next] = await this.db.query<{ at: number | bigint | null }>(`SELECT MIN(next_attempt_at) AS at FROM transcription_jobs WHERE status = 'queued'`);
    if (next?.at != null) this.schedule(Math.max(10, Number(next.at) - Date.now()));
  }

  /**
   * Jobs for recordings that stopped and that the rules want, once each: all of them at start, then only
   * those of the calls commits named (a scan of the whole recordings table on every commit would be the
   * hot path's biggest query).
   */
  private async enqueueFinished(): Promise<void> {
    if (this.scanAll) {
      while ((await this.enqueueWhere('', [])) === 500);
      this.scanAll = false;
    }
    const ids = [...this.scanCalls];
    this.scanCalls.clear();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      await this.enqueueWhere(`AND r.call_id IN (${chunk.map(() => '?').join(', ')})`, chunk);
    }
  }

  private async enqueueWhere(filter: string, params: string[]): Promise<number> {
    const rows = await this.db.query<{ key: string; call_id: string; direction: string; employee_list: string }>(
      `SELECT r.key, r.call_id, c.direction, c.employee_list
         FROM recordings r JOIN calls c ON c.id = r.call_id
         LEFT JOIN transcription_jobs j ON j.recording_key = r.key
        WHERE r.stopped_at IS NOT NULL AND j.recording_key IS NULL ${filter}
        LIMIT 500`,
      params,
    );
    const now = BigInt(Date.now());
    for (const r of rows) {
      const employees = r.employee_list.trim().split(' ').filter(Boolean);
      // Recordings the rules skip get a terminal row too, so they are not looked at again.
      const wanted = shouldTranscribe({ direction: r.direction, employees }, this.opts.rules);
      await this.db.exec(
        `INSERT INTO transcription_jobs (recording_key, call_id, status, attempts, next_attempt_at, progress, error, created_at, updated_at)
         VALUES (?, ?, ?, 0, ?, 0, ?, ?, ?) ON CONFLICT (recording_key) DO NOTHING`,
        [r.key, r.call_id, wanted ? 'queued' : 'skipped', now, wanted ? null : 'the transcription rules skip this call', now, now],
      );
    }
    return rows.length;
  }

  /** Queues the call's recordings again (or for the first time), whatever the rules say. */
  async rerun(callId: string): Promise<number> {
    const recs = await this.db.query<{ key: string }>('SELECT key FROM recordings WHERE call_id = ? AND stopped_at IS NOT NULL', [callId]);
    const now = BigInt(Date.now());
    for (const r of recs) {
      this.onDemand.add(r.key);
      await this.db.exec(
        `INSERT INTO transcription_jobs (recording_key, call_id, status, attempts, next_attempt_at, progress, created_at, updated_at)
         VALUES (?, ?, 'queued', 0, ?, 0, ?, ?)
         ON CONFLICT (recording_key) DO UPDATE SET status = 'queued', attempts = 0, next_attempt_at = excluded.next_attempt_at,
           progress = 0, error = NULL, updated_at = excluded.updated_at
         WHERE transcription_jobs.status <> 'running'`,
        [r.key, callId, now, now, now],
      );
    }
    this.wake();
    return recs.length;
  }

  async jobs(callId: string): Promise<JobView[]> {
    const recs = await this.db.query<{ key: string }>('SELECT key FROM recordings WHERE call_id = ? ORDER BY started_at', [callId]);
    const rows = await this.db.query<JobRow>('SELECT * FROM transcription_jobs WHERE call_id = ?', [callId]);
    const byKey = new Map(rows.map((r) => [r.recording_key, r]));
    const out: JobView[] = [];
    recs.forEach((rec, i) => {
      const r = byKey.get(rec.key);
      if (!r) return;
      out.push({
        recording: i,
        recordingKey: r.recording_key,
        status: r.status,
        progress: Number(r.progress),
        attempts: Number(r.attempts),
        error: r.error,
        engine: r.engine,
        language: r.language,
        audioSeconds: r.audio_seconds == null ? null : Number(r.audio_seconds),
        wallMs: r.wall_ms == null ? null : Number(r.wall_ms),
        segments: r.segments ? JSON.parse(r.segments) : [],
      });
    });
    return out;
  }

  private async run(key: string): Promise<void> {
    const t0 = Date.now();
    const [rec] = await this.db.query<{ key: string; call_id: string; leg: string; path: string; stereo: number | boolean }>(
      'SELECT key, call_id, leg, path, stereo FROM recordings WHERE key = ?',
      [key],
    );
    const [job] = await this.db.query<{ attempts: number }>('SELECT attempts FROM transcription_jobs WHERE recording_key = ?', [key]);
    try {
      if (!rec) throw new EngineError('the recording is gone from the journal', false);
      const file = await this.files.open(rec.path);
      if (!file) throw new EngineError(`the recording file ${rec.path} is not in TELEFONIST_RECORDINGS_DIR (yet)`, true);
      const bytes = await readFile(file.path);
      // How long the recording is, from the audio the file really holds (not the journal, not the header).
      const audio = bytes.length === 0 ? null : wavDuration(bytes);
      const skip = !audio ? 'the recording file is empty (0 bytes)'
        : audio.frames === 0 ? 'the recording has no audio (a WAV header with no samples behind it)'
          : this.onDemand.has(key) ? null : durationRule(audio.seconds, this.opts.rules);
      if (skip) {
        await this.skip(key, skip, audio?.seconds ?? 0, t0);
        this.emit('skipped', rec.call_id, key, skip);
        return;
      }
      const pcm = parseWav(bytes);
      const speakers = await this.speakersOf(rec.call_id, rec.leg, pcm.channels.length);
      const channels: Array<{ speaker: Speaker; segments: Segment[] }> = [];
      let threshold = -Infinity;
      for (let c = 0; c < speakers.length; c++) {
        const ch = await this.transcribeChannel(pcm.channels[c], pcm.sampleRate);
        if (ch.segments) channels.push({ speaker: speakers[c], segments: ch.segments });
        threshold = Math.max(threshold, ch.thresholdDb);
        const progress = Math.round(((c + 1) / speakers.length) * 100);
        if (c + 1 < speakers.length) await this.db.exec('UPDATE transcription_jobs SET progress = ?, updated_at = ? WHERE recording_key = ?', [progress, BigInt(Date.now()), key]);
      }
      if (!channels.length) {
        const reason = `no speech: ${speakers.length > 1 ? 'every channel is' : 'the recording is'} silent (nothing above ${Math.round(threshold)} dBFS)`;
        await this.skip(key, reason, durationSeconds(pcm), t0);
        this.emit('skipped', rec.call_id, key, reason);
        return;
      }
      const turns = mergeDialogue(channels);
      await this.db.exec(
        `UPDATE transcription_jobs SET status = 'done', progress = 100, error = NULL, engine = ?, language = ?, segments = ?, audio_seconds = ?, wall_ms = ?,
           attempts = attempts + 1, updated_at = ? WHERE recording_key = ?`,
        [this.opts.engine.name, this.opts.language, JSON.stringify(turns.map(view)), durationSeconds(pcm), Date.now() - t0, BigInt(Date.now()), key],
      );
      this.onDemand.delete(key);
      this.emit('done', rec.call_id, key);
    } catch (e) {
      if (this.stopped) {
        // Not the job's fault: it runs again after the restart.
        await this.db.exec(`UPDATE transcription_jobs SET status = 'queued', updated_at = ? WHERE recording_key = ?`, [BigInt(Date.now()), key]).catch(() => undefined);
        return;
      }
      const retryable = e instanceof EngineError ? e.retryable : false;
      const attempts = Number(job?.attempts ?? 0) + 1;
      const max = this.opts.maxAttempts ?? 5;
      const delay = Math.min(600_000, (this.opts.baseDelayMs ?? 5000) * 2 ** (attempts - 1));
      const final = !retryable || attempts >= max;
      if (final) this.onDemand.delete(key);
      await this.db.exec(
        `UPDATE transcription_jobs SET status = ?, attempts = ?, next_attempt_at = ?, error = ?, updated_at = ? WHERE recording_key = ?`,
        [final ? 'failed' : 'queued', attempts, BigInt(Date.now() + delay), (e as Error).message.slice(0, 500), BigInt(Date.now()), key],
      );
      this.emit(final ? 'failed' : 'retry', rec?.call_id, key, e);
    }
  }

  /**
   * One channel through the engine, silence left out: no segments (null) when the channel is silent
   * throughout (it is not sent); else the engine gets the voiced stretches (long silences cut out, times shifted back) and the
   * segments with no voice under them are dropped.
   */
  private async transcribeChannel(samples: Float32Array, sampleRate: number): Promise<{ segments: Segment[] | null; thresholdDb: number }> {
    const input = engineInput(samples, sampleRate, { silenceDb: this.opts.silenceDb });
    if (!input.wav) return { segments: null, thresholdDb: input.va.thresholdDb };
    const raw = await this.opts.engine.transcribe(input.wav, { language: this.opts.language, signal: this.abort.signal });
    return { segments: input.segmentsFrom(raw), thresholdDb: input.va.thresholdDb };
  }

  private async skip(key: string, reason: string, seconds: number, t0: number): Promise<void> {
    this.onDemand.delete(key);
    await this.db.exec(
      `UPDATE transcription_jobs SET status = 'skipped', progress = 0, error = ?, segments = NULL, engine = NULL, audio_seconds = ?, wall_ms = ?,
         attempts = attempts + 1, updated_at = ? WHERE recording_key = ?`,
      [reason, seconds, Date.now() - t0, BigInt(Date.now()), key],
    );
  }

  /** Stereo: left is the recorded leg's party, right the other side; mono: one unlabeled speaker. */
  private async speakersOf(callId: string, legUuid: string, channels: number): Promise<Speaker[]> {
    if (channels < 2) return [{ role: 'unknown', label: 'Собеседники' }];
    const call = await this.reader.getCall(callId);
    const legs = (call?.legs ?? []) as Array<{ uuid: string; employee: string | null; number: string | null }>;
    const customerLabel = (call?.customer as { name?: string } | null)?.name ?? (call?.externalNumber as string | null) ?? null;
    // An employee's channel is labelled with their full name once 1C synced it (call detail employeeDetails[].name).
    const names = new Map(((call?.employeeDetails ?? []) as Array<{ extension: string; name?: string | null }>).map((e) => [e.extension, e.name ?? undefined]));
    const partyOf = (leg: { employee: string | null; number: string | null } | undefined): Speaker =>
      leg?.employee ? { role: 'employee', label: names.get(leg.employee) ?? leg.employee } : { role: 'customer', label: customerLabel ?? leg?.number ?? 'Клиент' };
    const recorded = legs.find((l) => l.uuid === legUuid);
    const other = legs.find((l) => l.uuid !== legUuid && (l.employee ? l.employee !== recorded?.employee : true));
    return [partyOf(recorded), partyOf(other)];
  }
}

/** One status for a call's transcription jobs (the call detail and the transcript endpoint both show it). */
export function transcriptionStatus(items: JobView[]): { status: 'none' | 'queued' | 'running' | 'done' | 'failed' | 'skipped'; progress: number } {
  const progress = items.length ? Math.round(items.reduce((a, i) => a + i.progress, 0) / items.length) : 0;
  const status = items.length === 0 ? 'none'
    : items.some((i) => i.status === 'running') ? 'running'
      : items.some((i) => i.status === 'queued') ? 'queued'
        : items.every((i) => i.status === 'skipped') ? 'skipped'
          : items.some((i) => i.status === 'done') ? 'done' : 'failed';
  return { status, progress };
}

function view(t: Turn) {
  return { speaker: t.speaker.label, role: t.speaker.role, start: round(t.start), end: round(t.end), text: t.text };
}

function round(s: number): number {
  return Math.round(s * 100) / 100;
}
