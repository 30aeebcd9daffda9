import { EventEmitter } from 'node:events';
import { EslConnection } from '../esl/connection';
import { EslEvent, peekJsonString } from '../esl/event';
import { JournalWriter } from '../journal/journal-writer';
import { JournalReader } from '../journal/journal-reader';
import { CallRow, CallTracker, ChannelRow } from './tracker';
import { CallState } from './types';

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
  if (peekJsonString(body.slice(0, 200), 'Event-Name') !== 'CHANNEL_EXECUTE') return false;
  const app = peekJsonString(body, 'Application');
  return app !== undefined && !EXECUTE_APPS.has(app);
}

export function parseRows<T>(body: string): T[] {
  const trimmed = body.trim();
  if (!trimmed.startsWith('{')) throw new Error(`unexpected reply: ${trimmed.slice(0, 120)}`);
  const parsed = JSON.parse(trimmed) as { row_count?: number; rows?: T[] };
  return Array.isArray(parsed.rows) ? parsed.rows : [];
}

/**
 * The call spine: ESL events → call tracker → durable journal. Restores live calls from the journal at
 * start, and resyncs with FreeSWITCH after every (re)connect.
 */
export class CallService extends EventEmitter {
  readonly stats = { events: 0, resyncs: 0, lastResyncAt: 0, lastResyncError: '' };

  constructor(
    readonly esl: EslConnection,
    readonly tracker: CallTracker,
    readonly writer: JournalWriter,
    private readonly reader: JournalReader,
  ) {
    super();
  }

  async start(): Promise<void> {
    const live = await this.reader.liveState();
    this.tracker.restore(live.calls, live.legs);
    this.esl.on('event', (ev: EslEvent) => this.onEvent(ev));
    this.esl.on('ready', () => {
      void this.resync();
    });
    this.esl.start();
  }

  onEvent(ev: EslEvent): void {
    this.stats.events++;
    const batch = this.tracker.apply(ev);
    this.writer.write(batch).catch(() => undefined); // the writer retries; failures surface in health
  }

  /** Reconciles the journal with what FreeSWITCH has up right now. */
  async resync(): Promise<void> {
    try {
      const channels = parseRows<ChannelRow>(await this.esl.api('show channels as json'));
      const calls = parseRows<CallRow>(await this.esl.api('show calls as json'));
      const batch = this.tracker.resync(channels, calls, Date.now());
      await this.writer.write(batch);
      this.stats.resyncs++;
      this.stats.lastResyncAt = Date.now();
      this.stats.lastResyncError = '';
      this.emit('resynced');
    } catch (e) {
      this.stats.lastResyncError = (e as Error).message;
      this.emit('resyncFailed', e);
    }
  }

  liveCalls(): CallState[] {
    return this.tracker.liveCalls();
  }

  async stop(): Promise<void> {
    await this.esl.close();
    await this.writer.close();
  }
}
