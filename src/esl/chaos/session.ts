import { Socket } from 'node:net';
import { encodeJsonEventBody, encodePlainEventBody, EslEvent } from '../event';
import {
  addKeywords, answerApi, ApiState, apiFrame, authAnswer, disconnectNoticeFrame, EventFilter, EventFormat, eventFrame,
  eventReplyText, jobHeaders, parseCommand, parseEventKeywords, replyFrame, takeCommands, wants,
} from '../sim-protocol';
import { CallInstance } from './call';
import { ChannelTable } from './channels';
import { CutKind, CutPlan, CutPlanner, GlitchKind } from './cuts';
import { localDate, uuidFrom } from './util';

/**
 * One client connection of the chaos switch: the Event Socket commands (auth, event, api, bgapi, exit,
 * noevents) in the shapes of src/esl/sim-protocol.ts, with this switch's chaos on top: a cut right after
 * auth, in the middle of a resync reply or between its show channels and show calls, a `show` answered
 * -ERR, a `show channels` reply held back while events keep flowing.
 */

export interface Subscription extends EventFilter {
  format: EventFormat;
}

/** What a connection needs of its switch. */
export interface SessionHost {
  readonly password: string;
  readonly coreUuid: string;
  readonly commands: string[];
  readonly stats: { shows: number };
  readonly table: ChannelTable;
  readonly cuts: CutPlanner;
  readonly rand: () => number;
  /** The switch's next Event-Sequence. */
  nextSeq(): number;
  /** Calls run since startup (for `status`). */
  callCount(): number;
  /** A client subscribed: what a client listens to decides which events count as wanted. */
  subscribed(sub: Subscription): void;
  cut(c: ChaosSession, kind: CutKind): void;
  glitch(kind: GlitchKind): void;
}

export class ChaosSession implements CutPlan {
  alive = true;
  authed = false;
  sub: Subscription | null = null;
  buf = '';
  plan: CutKind | null = null;
  cutAt = 0;
  cutReply = 0;
  /** api replies since the last `show channels` (the resync's). */
  apiReplies = 0;
  /** The calls the last `show channels` reply listed, until the `show calls` reply completes the pair. */
  listed: Set<CallInstance> | null = null;
  private queue: Promise<void> = Promise.resolve();
  private readonly api: ApiState;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly host: SessionHost,
  ) {
    const { table } = host;
    this.api = {
      who: 'stand-in',
      status: () =>
        `UP 0 years, 0 days, 0 hours, 1 minute, 0 seconds, 0 milliseconds, 0 microseconds\nFreeSWITCH (Version 1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit) is ready\n${host.callCount()} session(s) since startup\n${table.size} session(s) - peak ${table.size}, last 5min ${table.size} \n0 session(s) per Sec out of max 30, peak 2, last 5min 2 \n1000 session(s) max\nmin idle cpu 0.00/99.00\nCurrent Stack Size/Max 240K/8192K\n`,
      showChannels: () => table.showChannels(),
      showCalls: () => table.showCalls(),
      uuidDump: (uuid, json) => table.uuidDump(uuid, json),
      hasChannel: (uuid) => table.has(uuid),
    };
  }

  /** Bytes from the client: each complete command runs after the previous one has finished. */
  onData(d: Buffer): void {
    if (!this.alive) return;
    for (const cmd of takeCommands(this, d)) {
      this.queue = this.queue.then(() => this.onCommand(cmd)).catch(() => undefined);
    }
  }

  write(bytes: Buffer): void {
    if (this.alive) this.socket.write(bytes);
  }

  private reply(text: string, extra: Array<[string, string]> = []): void {
    this.write(replyFrame(text, extra));
  }

  private disconnectNotice(): void {
    this.write(disconnectNoticeFrame());
    this.alive = false;
    this.socket.end();
  }

  private async onCommand(raw: string): Promise<void> {
    if (!this.alive) return;
    const host = this.host;
    const cmd = parseCommand(raw);
    host.commands.push(cmd.line);
    const { verb, rest, args, extra } = cmd;
    if (!this.authed) {
      const auth = authAnswer(cmd, host.password);
      this.authed = auth.accepted;
      this.reply(auth.reply);
      if (auth.hangUp) this.disconnectNotice();
      else if (auth.accepted && this.plan === 'after-auth' && host.cuts.mayCut()) host.cut(this, 'after-auth');
      return;
    }
    switch (verb) {
      case 'event':
        return this.subscribe(rest);
      case 'api':
        return this.answer(args);
      case 'bgapi':
        return this.bgapi(args, extra['Job-UUID'] ?? uuidFrom(host.rand));
      case 'exit':
        this.reply('+OK bye');
        this.disconnectNotice();
        return;
      case 'noevents':
        this.sub = null;
        this.reply('+OK no longer listening for events');
        return;
      default:
        this.reply('-ERR command not found');
    }
  }

  private subscribe(rest: string[]): void {
    const k = parseEventKeywords(rest);
    if (!k) {
      this.reply(eventReplyText(k));
      return;
    }
    const sub: Subscription =
      this.sub && this.sub.format === k.format ? this.sub : { format: k.format, all: false, names: new Set(), subclasses: new Set() };
    addKeywords(sub, k);
    this.sub = sub;
    this.host.subscribed(sub);
    this.host.cuts.arm(this);
    this.reply(eventReplyText(k));
  }

  private bgapi(args: string, jobUuid: string): void {
    this.reply(`+OK Job-UUID: ${jobUuid}`, [['Job-UUID', jobUuid]]);
    const body = answerApi(args, this.api);
    const sub = this.sub;
    if (!sub || !wants(sub, 'BACKGROUND_JOB')) return;
    const now = Date.now();
    const ev: EslEvent = {
      name: 'BACKGROUND_JOB',
      headers: {
        'Event-Name': 'BACKGROUND_JOB', 'Core-UUID': this.host.coreUuid, 'FreeSWITCH-Hostname': 'vm', 'FreeSWITCH-Switchname': 'vm',
        'Event-Date-Local': localDate(now), 'Event-Date-GMT': new Date(now).toUTCString(), 'Event-Date-Timestamp': String(now * 1000),
        'Event-Calling-File': 'mod_event_socket.c', 'Event-Calling-Function': 'api_exec', 'Event-Calling-Line-Number': '1572',
        'Event-Sequence': String(this.host.nextSeq()), ...jobHeaders(jobUuid, args),
      },
      body,
    };
    const encoded = sub.format === 'json' ? eventFrame('json', encodeJsonEventBody(ev)) : eventFrame('plain', encodePlainEventBody(ev));
    setImmediate(() => this.write(encoded));
  }

  /** `api …`; the resync's show channels, show calls and uuid_dump replies are where the chaos strikes. */
  private async answer(args: string): Promise<void> {
    const { host } = this;
    const trimmed = args.trim();
    const channels = trimmed === 'show channels as json';
    const show = channels || trimmed === 'show calls as json';
    if (channels) this.apiReplies = 0; // a resync starts
    const n = this.apiReplies++;
    if (this.plan === 'resync-mid-reply' && n === this.cutReply && host.cuts.mayCut()) {
      // Half of this resync reply (show channels, show calls or a uuid_dump), then the connection is gone.
      const f = apiFrame(channels ? host.table.showChannels() : show ? host.table.showCalls() : answerApi(args, this.api));
      this.write(f.subarray(0, 1 + Math.floor(host.rand() * (f.length - 1))));
      host.cut(this, 'resync-mid-reply');
      return;
    }
    if (!show) {
      this.write(apiFrame(answerApi(args, this.api)));
      return;
    }
    host.stats.shows++;
    if (host.cuts.showError()) {
      host.glitch('show-err');
      this.write(apiFrame('-ERR Unable to query the core database\n'));
      return;
    }
    // The snapshot is taken now; with chaos the reply may go out later, after more events.
    const body = channels ? host.table.showChannels() : host.table.showCalls();
    const listed = channels ? host.table.listedCalls() : null;
    const delay = channels ? host.cuts.showDelay() : null;
    if (delay !== null) {
      host.glitch('show-delayed');
      await new Promise((r) => setTimeout(r, delay));
    }
    if (!this.alive) return;
    // A listing counts as seen once the snapshot pair (show channels + show calls) reached the client.
    if (listed) this.listed = listed;
    const pair = !channels ? this.listed : null;
    if (!channels) this.listed = null;
    this.socket.write(apiFrame(body), (err) => {
      if (err || !pair) return;
      for (const inst of pair) {
        inst.snapshots++;
        inst.note('=', 'listed in a resync snapshot');
      }
    });
    if (channels && this.plan === 'resync-between' && host.cuts.mayCut()) host.cut(this, 'resync-between');
  }
}
