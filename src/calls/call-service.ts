import { EventEmitter } from 'node:events';
import { EslConnection } from '../esl/connection';
import { decodeJsonEvent, EslEvent, peekJsonString } from '../esl/event';
import { JournalWriter } from '../journal/journal-writer';
import { JournalReader } from '../journal/journal-reader';
import { CallRow, CallTracker, ChannelRow } from './tracker';
import { CallState, JournalBatch } from './types';
import { CallerIdentification } from './caller-identification';
import { Directory } from '../directory/directory';
import { EventLog, LogEventInput } from '../events/event-log';
import { callEventsOf, callSummary } from '../events/call-events';

/** Events the control plane subscribes to (channel, bridge, hold, record, DTMF, jobs, registrations). */
export const SUBSCRIBED_EVENTS = [
  'CHANNEL_CREATE',
  'CHANNEL_OUTGOING',
  'CHANNEL_ORIGINATE',
  'CHANNEL_PROGRESS',
  'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_ANSWER',
  'CHANNEL_BRIDGE',
  'CHANNEL_UNBRIDGE',
  'CHANNEL_HOLD',
  'CHANNEL_UNHOLD',
  'CHANNEL_EXECUTE',
  // att_xfer returning on the operator's leg (an attended transfer whose colleague never got a channel).
  'CHANNEL_EXECUTE_COMPLETE',
  'CHANNEL_HANGUP',
  'CHANNEL_HANGUP_COMPLETE',
  'CHANNEL_DESTROY',
  'RECORD_START',
  'RECORD_STOP',
  'DTMF',
  'BACKGROUND_JOB',
  'CUSTOM',
  'sofia::register',
  'sofia::unregister',
  'sofia::expire',
];

/** CHANNEL_EXECUTE applications the call model reads; every other execute is skipped unparsed. */
const EXECUTE_APPS = new Set(['eavesdrop', 'three_way', 'att_xfer', 'uuid_bridge', 'bridge']);

/** Pre-filter for the ESL connection: most CHANNEL_EXECUTEs (set, log, hash, export...) carry nothing for us. */
export function skipUninterestingEvent(body: string): boolean {
  const name = peekJsonString(body.slice(0, 200), 'Event-Name');
  if (name === 'CHANNEL_EXECUTE_COMPLETE') return peekJsonString(body, 'Application') !== 'att_xfer';
  if (name !== 'CHANNEL_EXECUTE') return false;
  const app = peekJsonString(body, 'Application');
  return app !== undefined && !EXECUTE_APPS.has(app);
}

const RESYNC_RETRY_FIRST_MS = 1_000;
const RESYNC_RETRY_MAX_MS = 30_000;
/** At most this many `uuid_dump`s per resync (each ~10 KB); the rest are read from their rows. */
const MAX_DUMPS = 2_000;
const UUID_RE = /^[0-9a-fA-F-]{36}$/;

export function parseRows<T>(body: string): T[] {
  const trimmed = body.trim();
  if (!trimmed.startsWith('{')) throw new Error(`unexpected reply: ${trimmed.slice(0, 120)}`);
  const parsed = JSON.parse(trimmed) as { row_count?: number; rows?: T[] };
  return Array.isArray(parsed.rows) ? parsed.rows : [];
}

export interface CallServiceOptions {
  /** Identify external parties from the customer directory. */
  identification?: CallerIdentification;
  directory?: Directory;
  /** Log call events (ringing, answered, transferred, ended) for 1C and the panel. */
  events?: EventLog;
  /** Employees' full names: call events then carry `employeeNames` {extension: name} beside `callEmployees`. */
  employeeName?: (extension: string) => string | undefined;
  /** Persist "link known alive until" at most this often, ms of our clock (default 15 s; heartbeats: 20 s). */
  aliveEveryMs?: number;
}

const ALIVE_EVERY_MS = 15_000;

/**
 * The call spine: ESL events → call tracker → caller identification → durable journal and event log.
 * Restores live calls from the journal at start, and resyncs with FreeSWITCH after every (re)connect.
 * Batches go through in event order; only a cold directory lookup makes one wait (and those behind it).
 */
export class CallService extends EventEmitter {
  readonly stats = { events: 0, resyncs: 0, lastResyncAt: 0, lastResyncError: '', resyncFailures: 0 };
  private chain: Promise<void> | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private resyncDelayMs = RESYNC_RETRY_FIRST_MS;
  private resyncing: Promise<void> | null = null;
  /** The last "link known alive until" handed to the writer (ms, FreeSWITCH clock), and when (our clock). */
  private alivePersisted = 0;
  private alivePersistedAt = 0;

  constructor(
    readonly esl: EslConnection,
    readonly tracker: CallTracker,
    readonly writer: JournalWriter,
    private readonly reader: JournalReader,
    private readonly opts: CallServiceOptions = {},
  ) {
    super();
    opts.directory?.on('changed', (numbers: string[]) => this.reidentify(numbers));
  }

  async start(): Promise<void> {
    const live = await this.reader.liveState();
    this.tracker.restore(live.calls, live.legs, live.aliveMark);
    this.esl.on('event', (ev: EslEvent) => this.onEvent(ev));
    this.esl.on('heartbeat', (fsMs: number) => {
      this.tracker.observeHeartbeat(fsMs);
      this.persistAlive();
    });
    this.esl.on('probeAnswered', (localMs: number) => {
      this.tracker.observeProbe(localMs);
      this.persistAlive();
    });
    this.esl.on('ready', () => {
      this.resyncDelayMs = RESYNC_RETRY_FIRST_MS;
      void this.resync();
    });
    this.esl.on('disconnected', () => {
      this.tracker.linkDown();
      if (this.resyncTimer) clearTimeout(this.resyncTimer);
      this.resyncTimer = null;
    });
    // Ended calls whose last legs never said CHANNEL_DESTROY are closed after a grace period.
    this.sweepTimer = setInterval(() => this.handle(this.tracker.sweep()), 5_000);
    this.sweepTimer.unref();
    this.esl.start();
  }

  onEvent(ev: EslEvent): void {
    this.stats.events++;
    this.handle(this.tracker.apply(ev));
  }

  /**
   * On a heartbeat or an answered probe: hands the tracker's "link known alive until" to the journal writer
   * (one row), at most every `aliveEveryMs`, behind the batches already handed over (a mark is never
   * committed before a hangup it follows). Nothing while the tracker is out of sync (after a drop or a
   * restart, until the resync): a restart after a crash then ends vanished calls at the last mark.
   */
  private persistAlive(): void {
    const mark = this.tracker.aliveMark;
    if (mark === undefined || mark === this.alivePersisted) return;
    const now = Date.now();
    if (this.alivePersistedAt && now - this.alivePersistedAt < (this.opts.aliveEveryMs ?? ALIVE_EVERY_MS)) return;
    this.alivePersisted = mark;
    this.alivePersistedAt = now;
    const write = () => void this.writer.markAlive(mark).catch(() => undefined); // the writer retries
    if (!this.enqueue(write)) write();
  }

  /** Resolves when every batch handed over so far has reached the journal writer and the event log. */
  async drained(): Promise<void> {
    while (this.chain) await this.chain;
  }

  private handle(batch: JournalBatch): void {
    // Per-call state changes for whoever follows live legs (presence); emitted as the tracker made them.
    if (batch.legs.length || batch.calls.length) this.emit('batch', batch);
    if (this.enqueue(() => this.process(batch))) return;
    const r = this.process(batch);
    if (r) this.follow(r);
  }

  /** Runs `then` behind the batches already handed over, when any are in flight (true); false: the caller runs it now, its own way. */
  private enqueue(then: () => void | Promise<void>): boolean {
    if (!this.chain) return false;
    this.follow(this.chain.then(then));
    return true;
  }

  private follow(p: Promise<void>): void {
    const q: Promise<void> = p
      .catch((e) => {
        this.emit('pipelineError', e);
      })
      .finally(() => {
        if (this.chain === q) this.chain = null;
      });
    this.chain = q;
  }

  private process(batch: JournalBatch): void | Promise<void> {
    const id = this.opts.identification;
    if (id && batch.calls.length) {
      const waits: Promise<void>[] = [];
      for (const c of batch.calls) {
        const r = id.identify(c, this.tracker.liveCall(c.id));
        if (r) waits.push(r);
      }
      if (waits.length) return Promise.all(waits).then(() => this.persist(batch));
    }
    this.persist(batch);
  }

  private persist(batch: JournalBatch): void {
    this.writer.write(batch).catch(() => undefined); // the writer retries; failures surface in health
    const log = this.opts.events;
    if (log) {
      const events = this.named(callEventsOf(batch, (cid) => this.tracker.liveCall(cid)));
      if (events.length) log.append(events).catch((e) => this.emit('pipelineError', e));
    }
  }

  /** Adds `employeeNames` {extension: full name} for the call's employees that have one. */
  private named(events: LogEventInput[]): LogEventInput[] {
    const nameOf = this.opts.employeeName;
    if (!nameOf) return events;
    for (const e of events) {
      const exts = e.data.callEmployees;
      if (!Array.isArray(exts)) continue;
      const names: Record<string, string> = {};
      for (const x of exts as string[]) {
        const n = nameOf(x);
        if (n) names[x] = n;
      }
      e.data.employeeNames = names;
    }
    return events;
  }

  /** The directory changed these numbers: live calls from them are identified again (and 1C told). */
  private reidentify(numbers: string[]): void {
    const id = this.opts.identification;
    if (!id) return;
    const set = new Set(numbers);
    const affected = this.tracker.liveCalls().filter((c) => c.externalE164 && set.has(c.externalE164));
    if (affected.length === 0) return;
    const task = async () => {
      for (const live of affected) {
        const before = live.identity?.customerId;
        Object.assign(live, { identifiedNumber: undefined, identity: undefined });
        await id.identify(live);
        const snapshot = structuredClone(live);
        this.writer.write({ calls: [snapshot], legs: [], timeline: [], recordings: [], merges: [] }).catch(() => undefined);
        if (this.opts.events && live.identity?.customerId !== before) {
          await this.opts.events.append(this.named([
            {
              key: `linked:${live.id}:${live.identity?.customerId ?? 'none'}:${Date.now()}`,
              type: 'customer.linked',
              callId: live.id,
              employees: Object.keys(live.employees),
              data: callSummary(live),
            },
          ]));
        }
      }
    };
    if (!this.enqueue(task)) this.follow(task());
  }

  /**
   * Reconciles the journal with what FreeSWITCH has up right now: `show channels`, `show calls`, then
   * `uuid_dump` of the legs the snapshot shows that we do not know (or know less well). Events keep arriving
   * meanwhile; the tracker leaves every leg they touch alone. A failed resync is tried again with backoff
   * (1 s doubling to 30 s) while the link stays up.
   */
  resync(): Promise<void> {
    if (!this.resyncing) this.resyncing = this.runResync().finally(() => (this.resyncing = null));
    return this.resyncing;
  }

  private async runResync(): Promise<void> {
    try {
      this.tracker.beginSnapshot();
      const channels = parseRows<ChannelRow>(await this.esl.apiOk('show channels as json'));
      const bridged = parseRows<CallRow>(await this.esl.apiOk('show calls as json'));
      const dumps = new Map<string, EslEvent>();
      for (const uuid of this.tracker.legsToInspect(channels).slice(0, MAX_DUMPS)) {
        if (!UUID_RE.test(uuid)) continue;
        const body = await this.esl.api(`uuid_dump ${uuid} json`);
        if (!body.trimStart().startsWith('{')) continue; // -ERR No such channel!: it ended meanwhile
        try {
          dumps.set(uuid, decodeJsonEvent(body.trim()));
        } catch {
          // an unreadable dump: the row alone will do
        }
      }
      const batch = this.tracker.resync({ channels, bridged, dumps });
      this.handle(batch);
      await this.drained();
      await this.writer.idle();
      this.stats.resyncs++;
      this.stats.lastResyncAt = Date.now();
      this.stats.lastResyncError = '';
      this.resyncDelayMs = RESYNC_RETRY_FIRST_MS;
      this.emit('resynced');
    } catch (e) {
      this.tracker.endSnapshot();
      this.stats.resyncFailures++;
      this.stats.lastResyncError = (e as Error).message;
      this.emit('resyncFailed', e);
      if (this.esl.state === 'ready' && !this.resyncTimer) {
        this.resyncTimer = setTimeout(() => {
          this.resyncTimer = null;
          if (this.esl.state === 'ready') void this.resync();
        }, this.resyncDelayMs);
        this.resyncTimer.unref();
        this.resyncDelayMs = Math.min(this.resyncDelayMs * 2, RESYNC_RETRY_MAX_MS);
      }
    }
  }

  liveCalls(): CallState[] {
    return this.tracker.liveCalls();
  }

  async stop(): Promise<void> {
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.esl.close();
    await this.drained();
    await this.writer.close();
    await this.opts.events?.idle();
  }
}
