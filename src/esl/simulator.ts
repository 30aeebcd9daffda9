import { createServer, Server, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { encodeJsonEventBody, encodePlainEventBody, EslEvent, EslHeaders, header } from './event';
import { FixtureEvent, loadFixtureEvents } from './fixtures';
import {
  addKeywords, answerApi, ApiState, apiFrame, authAnswer, authRequestFrame, disconnectNoticeFrame, EventFilter, eventFrame,
  eventReplyText, jobHeaders, listenOn, parseCommand, parseEventKeywords, replyFrame, showJson, takeCommands,
  uuidDumpAnswer, waitForCount, wants,
} from './sim-protocol';
import { SimRegistrations } from './sim-registrations';
import { SimActions } from './sim-actions';
import { asOutsideParty, captureRewriter } from './sim-rewrite';

export { asOutsideParty, captureRewriter } from './sim-rewrite';

/**
 * A FreeSWITCH stand-in that speaks the real Event Socket protocol on a TCP port, replaying the captured
 * events of shared/fixtures/freeswitch. For tests and `npm run demo` only: it carries no media and routes
 * no calls, so it is never a way to run production.
 *
 * Behaviour copied from the captures: auth/request greeting; `-ERR invalid` + disconnect-notice + close on
 * a wrong password; `-ERR command not found` before auth and for unknown commands; `event json|plain`;
 * api/response with Content-Type first; events with Content-Length first and JSON bodies without a
 * trailing newline; `show channels as json` → `{"row_count": 0}\n` when idle; bgapi → command/reply with
 * a Job-UUID header, then BACKGROUND_JOB with the result in `_body`. The protocol itself (framing,
 * subscriptions, api answers) is src/esl/sim-protocol.ts, shared with the chaos switch.
 */

interface Client extends EventFilter {
  socket: Socket;
  authed: boolean;
  format: 'json' | 'plain' | null;
  buf: string;
}

export interface PlayOptions {
  /** Fresh channel UUIDs, this simulator's Core-UUID and event sequence, times shifted to now. */
  rewrite?: boolean;
  /** Replay at this multiple of real time (1 = as captured); 0 or absent = as fast as possible. */
  speed?: number;
  /** With `rewrite`: FreeSWITCH's clock runs this many ms ahead of ours (clock-skew tests). */
  clockOffsetMs?: number;
  /** Stop before this many events (to cut a call in the middle). */
  limit?: number;
  /**
   * The captures are extension-to-extension: make the party on `extension` an outside caller with
   * `number`, coming in on the external sofia profile (for customer calls in tests and the demo).
   */
  outside?: { extension: string; number: string };
}

type ChannelRow = Record<string, string>;

export class FreeSwitchSimulator {
  private server: Server | null = null;
  private clients = new Set<Client>();
  private channels = new Map<string, ChannelRow>();
  private bridges = new Map<string, string>();
  private destroyed = new Set<string>();
  /** Each live channel's latest event headers with its variables: what `uuid_dump <uuid> json` answers. */
  private dumps = new Map<string, EslHeaders>();
  private seq = 1_000_000;
  readonly coreUuid = randomUUID();
  readonly commands: string[] = [];
  /** Answers for api commands the tests script (e.g. originate results); a promise answers when it resolves (never: no reply). */
  readonly apiHandlers = new Map<string, (args: string) => string | Promise<string>>();
  /** A connected FreeSWITCH that goes silent: a command line this returns true for is read and never answered (no reply, no job). */
  mute: ((line: string) => boolean) | null = null;
  /** Phones registered by the sofia::register events emitted here: `show registrations as json` (presence). */
  readonly registrations = new SimRegistrations();
  /** Call-control commands answered from capture templates onto the live channels (src/esl/sim-actions.ts). */
  readonly actions = new SimActions({ coreUuid: this.coreUuid, nextSeq: () => ++this.seq, emit: (ev) => this.emitEvent(ev) });
  port = 0;

  constructor(private readonly password = 'ClueCon') {}

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    this.server = createServer((s) => this.onConnection(s));
    this.port = await listenOn(this.server, port, host);
    return this.port;
  }

  get connectedClients(): number {
    return [...this.clients].filter((c) => c.authed).length;
  }

  /** Resolves once `n` authenticated clients have subscribed to events. */
  async waitForSubscribers(n = 1, timeoutMs = 5000): Promise<void> {
    await waitForCount(() => [...this.clients].filter((c) => c.authed && c.format).length, n, timeoutMs);
  }

  /** Drops every connection, as a FreeSWITCH restart or a network cut would. */
  dropClients(): void {
    for (const c of this.clients) c.socket.destroy();
    this.clients.clear();
  }

  /** Forgets live channels (FreeSWITCH restarted: everything that was up is gone). */
  resetChannels(): void {
    this.channels.clear();
    this.dumps.clear();
    this.destroyed.clear();
    this.bridges.clear();
    this.actions.reset();
  }

  async close(): Promise<void> {
    this.dropClients();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
  }

  /** Sends bytes as they are to every authenticated client (malformed-frame tests). */
  sendRaw(bytes: Buffer | string): void {
    for (const c of this.clients) if (c.authed) c.socket.write(bytes);
  }

  /** Replays a capture (by fixture name) or a list of fixture events. */
  async play(source: string | FixtureEvent[], opts: PlayOptions = {}): Promise<number> {
    let events = typeof source === 'string' ? loadFixtureEvents(source) : source;
    if (opts.limit !== undefined) events = events.slice(0, opts.limit);
    if (opts.outside) events = asOutsideParty(events, opts.outside.extension, opts.outside.number);
    const rw = opts.rewrite
      ? captureRewriter(
          events,
          { coreUuid: this.coreUuid, nextSeq: () => ++this.seq },
          Date.now() + (opts.clockOffsetMs ?? 0),
          opts.speed && opts.speed > 0 ? opts.speed : 1, // a faster replay's events carry its own (faster) times
        )
      : null;
    let prevTs: number | undefined;
    let sent = 0;
    for (const fe of events) {
      const ev = rw ? rw(fe.event) : fe.event;
      if (opts.speed && opts.speed > 0) {
        const ts = Number(header(fe.event, 'Event-Date-Timestamp') ?? 0) / 1000; // the capture's own spacing
        if (prevTs !== undefined && ts > prevTs) await sleep(Math.min(5000, (ts - prevTs) / opts.speed));
        prevTs = ts;
      }
      this.track(ev);
      this.broadcast(ev, rw || opts.outside ? null : fe);
      sent++;
      if (sent % 200 === 0) await new Promise((r) => setImmediate(r));
    }
    return sent;
  }

  /** Emits one event built from headers (used for synthetic scenarios in tests). */
  emitEvent(ev: EslEvent): void {
    this.track(ev);
    this.broadcast(ev, null);
  }

  // ---- protocol -----------------------------------------------------------------------------------

  private onConnection(socket: Socket): void {
    const client: Client = { socket, authed: false, format: null, all: false, names: new Set(), subclasses: new Set(), buf: '' };
    this.clients.add(client);
    socket.setNoDelay(true);
    socket.on('close', () => this.clients.delete(client));
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      for (const cmd of takeCommands(client, d)) this.onCommand(client, cmd);
    });
    socket.write(authRequestFrame());
  }

  private reply(c: Client, text: string, extra: Array<[string, string]> = []): void {
    c.socket.write(replyFrame(text, extra));
  }

  private disconnectNotice(c: Client): void {
    c.socket.write(disconnectNoticeFrame());
    c.socket.end();
  }

  private onCommand(c: Client, raw: string): void {
    const cmd = parseCommand(raw);
    this.commands.push(cmd.line);
    const { verb, rest, args, extra } = cmd;
    if (!c.authed) {
      const auth = authAnswer(cmd, this.password);
      c.authed = auth.accepted;
      this.reply(c, auth.reply);
      if (auth.hangUp) this.disconnectNotice(c);
      return;
    }
    if (this.mute?.(cmd.line)) return;
    switch (verb) {
      case 'event':
        return this.subscribe(c, rest);
      case 'api': {
        const answer = this.runApi(args);
        if (typeof answer === 'string') c.socket.write(apiFrame(answer));
        else void answer.then((body) => c.socket.write(apiFrame(body)));
        return;
      }
      case 'bgapi': {
        const jobUuid = extra['Job-UUID'] ?? randomUUID();
        this.reply(c, `+OK Job-UUID: ${jobUuid}`, [['Job-UUID', jobUuid]]);
        void Promise.resolve(this.runApi(args)).then((body) => setImmediate(() =>
          this.emitEvent({ name: 'BACKGROUND_JOB', headers: { ...this.baseHeaders('BACKGROUND_JOB'), ...jobHeaders(jobUuid, args) }, body }),
        ));
        return;
      }
      case 'exit':
        this.reply(c, '+OK bye');
        this.disconnectNotice(c);
        return;
      case 'noevents':
        c.format = null;
        c.all = false;
        c.names.clear();
        this.reply(c, '+OK no longer listening for events');
        return;
      default:
        this.reply(c, '-ERR command not found');
    }
  }

  private subscribe(c: Client, rest: string[]): void {
    const k = parseEventKeywords(rest);
    if (k) {
      addKeywords(c, k);
      c.format = k.format;
    }
    this.reply(c, eventReplyText(k));
  }

  private readonly api: ApiState = {
    who: 'simulator',
    status: () =>
      `UP 0 years, 0 days, 0 hours, 1 minute, 0 seconds, 0 milliseconds, 0 microseconds\nFreeSWITCH (Version 1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit) is ready (Telefonist simulator)\n${this.channels.size} session(s)\n`,
    showChannels: () => showJson([...this.channels.values()]),
    showCalls: () => this.showCalls(),
    // As FreeSWITCH 1.10.12 answers it (capture 02): the channel as a CHANNEL_DATA event, always JSON.
    uuidDump: (uuid) => {
      const d = this.channels.has(uuid) ? this.dumps.get(uuid) : undefined;
      return uuidDumpAnswer(d && { ...d, 'Event-Name': 'CHANNEL_DATA' }, true);
    },
    hasChannel: (uuid) => this.channels.has(uuid),
  };

  private runApi(args: string): string | Promise<string> {
    // From the registrations it tracked, whatever a test scripts for `show` (channels, calls).
    if (args.trim() === 'show registrations as json') return this.registrations.show();
    const [cmd, ...rest] = args.trim().split(/\s+/);
    const custom = this.apiHandlers.get(cmd);
    if (custom) return custom(rest.join(' '));
    const acted = this.actions.run(cmd, rest.join(' '));
    return acted ?? answerApi(args, this.api);
  }

  private showCalls(): string {
    const rows: Record<string, string>[] = [];
    const seen = new Set<string>();
    for (const [a, b] of this.bridges) {
      if (seen.has(a) || seen.has(b)) continue;
      seen.add(a);
      seen.add(b);
      const ra = this.channels.get(a);
      const rb = this.channels.get(b);
      if (!ra || !rb) continue;
      const row: Record<string, string> = { ...ra };
      for (const [k, v] of Object.entries(rb)) row[`b_${k}`] = v;
      rows.push(row);
    }
    for (const [u, r] of this.channels) if (!seen.has(u)) rows.push({ ...r });
    return showJson(rows);
  }

  // ---- state and broadcast ------------------------------------------------------------------------

  private track(ev: EslEvent): void {
    if (this.registrations.track(ev)) return;
    this.actions.observe(ev);
    const uuid = header(ev, 'Unique-ID');
    if (!uuid) return;
    if (ev.name === 'CHANNEL_DESTROY') {
      this.destroyed.add(uuid);
      this.dumps.delete(uuid);
      this.channels.delete(uuid);
      const b = this.bridges.get(uuid);
      this.bridges.delete(uuid);
      if (b && this.bridges.get(b) === uuid) this.bridges.delete(b);
      return;
    }
    if (!ev.name.startsWith('CHANNEL_') && ev.name !== 'CALL_UPDATE') return;
    // FreeSWITCH still reports CHANNEL_STATE CS_DESTROY after CHANNEL_DESTROY; the channel is gone.
    if (ev.name === 'CHANNEL_CREATE') this.destroyed.delete(uuid); // a replay of the same capture
    if (this.destroyed.has(uuid)) return;
    const created = header(ev, 'Caller-Channel-Created-Time');
    const prev = this.channels.get(uuid);
    if (!prev && (ev.name === 'CHANNEL_HANGUP_COMPLETE' || !header(ev, 'Channel-Name'))) return;
    const row: ChannelRow = prev ?? {
      uuid,
      direction: header(ev, 'Call-Direction') ?? 'inbound',
      created: header(ev, 'Event-Date-Local') ?? '',
      created_epoch: created ? String(Math.floor(Number(created) / 1e6)) : String(Math.floor(Date.now() / 1000)),
      name: header(ev, 'Channel-Name') ?? '',
      state: '',
      cid_name: header(ev, 'Caller-Caller-ID-Name') ?? '',
      cid_num: header(ev, 'Caller-Caller-ID-Number') ?? '',
      ip_addr: header(ev, 'Caller-Network-Addr') ?? '',
      dest: header(ev, 'Caller-Destination-Number') ?? '',
      presence_id: header(ev, 'Channel-Presence-ID') ?? '',
      accountcode: header(ev, 'variable_accountcode') ?? '',
      callstate: 'DOWN',
      call_uuid: header(ev, 'Channel-Call-UUID') ?? uuid,
      hostname: header(ev, 'FreeSWITCH-Hostname') ?? 'telefonist-sim',
    };
    if ((row.created_epoch === '0' || !row.created_epoch) && created && created !== '0') {
      row.created_epoch = String(Math.floor(Number(created) / 1e6));
    }
    row.state = header(ev, 'Channel-State') ?? row.state;
    row.callstate = header(ev, 'Channel-Call-State') ?? row.callstate;
    row.dest = header(ev, 'Caller-Destination-Number') ?? row.dest;
    row.presence_id = header(ev, 'Channel-Presence-ID') ?? row.presence_id;
    row.accountcode = header(ev, 'variable_accountcode') ?? row.accountcode;
    row.call_uuid = header(ev, 'Channel-Call-UUID') ?? row.call_uuid;
    this.channels.set(uuid, row);
    if (header(ev, 'variable_uuid')) this.dumps.set(uuid, ev.headers);
    if (ev.name === 'CHANNEL_BRIDGE') {
      const a = header(ev, 'Bridge-A-Unique-ID');
      const b = header(ev, 'Bridge-B-Unique-ID');
      if (a && b) {
        this.bridges.set(a, b);
        this.bridges.set(b, a);
      }
    } else if (ev.name === 'CHANNEL_UNBRIDGE') {
      const a = header(ev, 'Bridge-A-Unique-ID');
      const b = header(ev, 'Bridge-B-Unique-ID');
      if (a && this.bridges.get(a) === b) this.bridges.delete(a);
      if (b && this.bridges.get(b) === a) this.bridges.delete(b);
    }
  }

  private wants(c: Client, ev: EslEvent): boolean {
    if (!c.authed || !c.format) return false;
    return wants(c, ev.name, header(ev, 'Event-Subclass'));
  }

  private broadcast(ev: EslEvent, original: FixtureEvent | null): void {
    let json: Buffer | undefined;
    let plain: Buffer | undefined;
    for (const c of this.clients) {
      if (!this.wants(c, ev)) continue;
      if (c.format === 'json') {
        json ??= original && original.format === 'json'
          ? original.raw
          : eventFrame('json', encodeJsonEventBody(ev));
        c.socket.write(json);
      } else {
        plain ??= original && original.format === 'plain'
          ? original.raw
          : eventFrame('plain', encodePlainEventBody(ev));
        c.socket.write(plain);
      }
    }
  }

  private baseHeaders(name: string): EslHeaders {
    const now = Date.now();
    return {
      'Event-Name': name,
      'Core-UUID': this.coreUuid,
      'FreeSWITCH-Hostname': 'telefonist-sim',
      'FreeSWITCH-Switchname': 'telefonist-sim',
      'Event-Date-Timestamp': String(now * 1000),
      'Event-Sequence': String(++this.seq),
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
