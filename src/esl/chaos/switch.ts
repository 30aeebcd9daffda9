import { createServer, Server, Socket } from 'node:net';
import { encodePlainEventBody } from '../event';
import { authRequestFrame, eventFrame, listenOn, waitForCount, wants } from '../sim-protocol';
import { CallInstance } from './call';
import { ChannelTable } from './channels';
import { ChaosOptions, CUT_KINDS, CutKind, CutPlanner, GlitchKind } from './cuts';
import { CallQueue } from './queue';
import { ChaosSession, SessionHost, Subscription } from './session';
import { CallTemplate } from './templates';
import { prng, uuidFrom } from './util';

/**
 * The chaos stand-in for FreeSWITCH (issue 9, `npm run bench -- chaos`). Unlike the replay simulator it is
 * a switch with a life of its own: it runs many concurrent calls built from the real 1.10.12 captures, each
 * with fresh UUIDs, this switch's Core-UUID and one Event-Sequence, timestamps mapped onto now (compressed
 * by `speed`, inter-event timing kept), and it updates its channel table (created, callstate, bridged
 * partner) as the events HAPPEN, whether a client is connected or not. While no client is subscribed the
 * events are simply not delivered, as FreeSWITCH would do. `api show channels as json` / `show calls as
 * json` / `uuid_dump <uuid> json` are answered from that live table in the shapes of the captures.
 *
 * With chaos on it cuts the client's connection at random points (mid-frame, in the middle of a resync
 * reply: show channels, show calls or a uuid_dump; between the show channels and show calls replies;
 * right after auth), answers a `show …` with -ERR now and then, and delays `show channels`
 * replies (snapshot taken at the request) while events keep flowing. It keeps its own truth per call: what
 * FreeSWITCH's CDR says (from the template's CHANNEL_HANGUP_COMPLETE variables, mapped like the events) and
 * whether every event the client subscribed to was handed to a connected client.
 *
 * Here: the calls' schedule, event delivery and the cuts' bookkeeping. Templates and truth: templates.ts,
 * call.ts; the channel table: channels.ts; the cut plans: cuts.ts; one connection's protocol: session.ts
 * (on src/esl/sim-protocol.ts, shared with src/esl/simulator.ts). For tests and benches only.
 */

export interface ChaosSwitchOptions {
  password?: string;
  seed?: number;
  /** Call time runs this many times faster than the captures (timestamps are compressed alike). */
  speed?: number;
}

export class ChaosSwitch {
  readonly coreUuid: string;
  readonly speed: number;
  port = 0;
  readonly stats = {
    connections: 0,
    cuts: Object.fromEntries(CUT_KINDS.map((k) => [k, 0])) as Record<CutKind, number>,
    glitches: { 'show-err': 0, 'show-delayed': 0 } as Record<GlitchKind, number>,
    events: 0,
    framesWritten: 0,
    shows: 0,
  };
  readonly commands: string[] = [];
  private readonly rand: () => number;
  private readonly password: string;
  private readonly table: ChannelTable;
  private readonly cuts: CutPlanner;
  private readonly host: SessionHost;
  private server: Server | null = null;
  private clients = new Set<ChaosSession>();
  private nextClientId = 1;
  private instances: CallInstance[] = [];
  private queue = new CallQueue();
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private seq = 1_000;
  private standing: Subscription | null = null;
  private idleWaiters: Array<() => void> = [];

  constructor(opts: ChaosSwitchOptions = {}) {
    this.password = opts.password ?? 'ClueCon';
    this.speed = opts.speed ?? 1;
    this.rand = prng(opts.seed ?? 1);
    this.coreUuid = uuidFrom(this.rand);
    this.table = new ChannelTable(this.coreUuid, () => ++this.seq);
    this.cuts = new CutPlanner(this.rand);
    this.host = {
      password: this.password,
      coreUuid: this.coreUuid,
      commands: this.commands,
      stats: this.stats,
      table: this.table,
      cuts: this.cuts,
      rand: this.rand,
      nextSeq: () => ++this.seq,
      callCount: () => this.instances.length,
      subscribed: (sub) => {
        this.standing = sub;
      },
      cut: (c, kind) => this.cut(c, kind),
      glitch: (kind) => this.glitch(kind),
    };
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    this.server = createServer((s) => this.onConnection(s));
    this.port = await listenOn(this.server, port, host);
    return this.port;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    this.queue.clear();
    this.dropClients();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Drops every connection at once (no cut accounting). */
  dropClients(): void {
    for (const c of this.clients) {
      c.alive = false;
      c.socket.destroy();
    }
    this.clients.clear();
  }

  get subscribers(): number {
    return [...this.clients].filter((c) => c.alive && c.sub).length;
  }

  async waitForSubscribers(n = 1, timeoutMs = 5000): Promise<void> {
    await waitForCount(() => this.subscribers, n, timeoutMs);
  }

  /** Live channel UUIDs (what `show channels` would list now). */
  liveChannels(): string[] {
    return this.table.uuids();
  }

  /** `api show channels as json`, exactly as 1.10.12 shapes it (02_show_channels_midcall.json). */
  showChannels(): string {
    return this.table.showChannels();
  }

  /** `api show calls as json` (02_show_calls_midcall.json): bridged pairs as one row with b_ columns. */
  showCalls(): string {
    return this.table.showCalls();
  }

  /** `api uuid_dump <uuid> json`: the channel's last event headers as a CHANNEL_DATA object (capture 02). */
  uuidDump(uuid: string, json: boolean): string {
    return this.table.uuidDump(uuid, json);
  }

  get calls(): readonly CallInstance[] {
    return this.instances;
  }

  /** Schedules one call from a template; its first event happens at `startMs` (wall clock). */
  addCall(tpl: CallTemplate, startMs = Date.now()): CallInstance {
    const inst = new CallInstance(tpl, this.instances.length, startMs, this.speed, this.coreUuid, () => uuidFrom(this.rand));
    this.instances.push(inst);
    this.queue.push(inst);
    this.arm();
    return inst;
  }

  /** Resolves when every scheduled call has played all its events and every write has settled. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.instances.every((i) => i.pending === 0)) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  startChaos(opts: ChaosOptions): void {
    this.cuts.start(opts);
    // A client that is already connected gets its fate now.
    for (const c of this.clients) {
      if (!c.alive || c.plan) continue;
      this.cuts.plan(c);
      if (c.sub) this.cuts.arm(c);
    }
  }

  stopChaos(): void {
    this.cuts.stop();
    for (const c of this.clients) {
      c.plan = null;
      c.cutAt = 0;
    }
  }

  get cutsMade(): number {
    return Object.values(this.stats.cuts).reduce((a, b) => a + b, 0);
  }

  /** Plans `kind` for the next connection (tests); chaos need not be on. */
  forceNextCut(kind: CutKind, afterMs = 0): void {
    this.cuts.force(kind, afterMs);
  }

  // ---- scheduling -------------------------------------------------------------------------------------

  private arm(): void {
    if (this.immediate) return; // a pump is already queued; it re-arms
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const first = this.queue.first;
    if (!first) return;
    const wait = Math.max(0, first.nextAt - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, wait);
  }

  private pump(): void {
    let n = 0;
    for (let inst = this.queue.first; inst && inst.nextAt <= Date.now(); inst = this.queue.first) {
      inst.started = true;
      this.emit(inst, inst.next);
      inst.next++;
      if (inst.next >= inst.tpl.events.length) {
        inst.done = true;
        this.queue.popFirst();
      } else {
        inst.nextAt = inst.atMs(inst.next);
        this.queue.fixFirst();
      }
      if (++n >= 500) {
        // Let sockets breathe; the clock keeps the schedule.
        this.immediate = setImmediate(() => {
          this.immediate = null;
          this.pump();
        });
        return;
      }
    }
    this.arm();
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.queue.length === 0 && this.instances.every((i) => i.pending === 0)) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  // ---- events: state first, then delivery -------------------------------------------------------------

  private emit(inst: CallInstance, i: number): void {
    const ev = inst.tpl.events[i];
    const seq = ++this.seq;
    this.stats.events++;
    this.table.track(inst, i);
    const wanted = this.standing ? wants(this.standing, ev.name, ev.subclass) : true;
    if (wanted) inst.wanted++;
    let json: Buffer | undefined;
    let plain: Buffer | undefined;
    let targets = 0;
    let cutHere = false;
    let ok = false;
    for (const c of this.clients) {
      if (!c.alive || !c.sub || !wants(c.sub, ev.name, ev.subclass)) continue;
      let frame: Buffer;
      if (c.sub.format === 'json') {
        json ??= eventFrame('json', inst.jsonBody(i, seq));
        frame = json;
      } else {
        plain ??= eventFrame('plain', encodePlainEventBody(inst.event(i, seq)));
        frame = plain;
      }
      if (c.plan === 'mid-frame' && c.cutAt > 0 && Date.now() >= c.cutAt && this.cuts.mayCut()) {
        // Half a frame, then the connection is gone.
        const k = 1 + Math.floor(this.rand() * (frame.length - 1));
        c.socket.write(frame.subarray(0, k));
        this.cut(c, 'mid-frame');
        if (wanted) inst.miss('cut mid-frame');
        cutHere = true;
        continue;
      }
      targets++;
      inst.pending++;
      this.stats.framesWritten++;
      c.socket.write(frame, (err) => {
        inst.pending--;
        if (!err && !ok) {
          ok = true;
          if (wanted) inst.delivered++;
        } else if (err && wanted) {
          inst.miss('write failed');
          inst.note('-', `${ev.name} (write failed)`);
        }
        if (inst.pending === 0 && inst.done) this.checkIdle();
      });
    }
    const what = `${ev.name} ${ev.uid >= 0 ? inst.letter(ev.uid) : 'J'}`;
    if (wanted && targets === 0 && !cutHere) {
      const why = this.offlineReason();
      inst.miss(why);
      inst.note('-', `${what} (${why})`);
    } else if (wanted && cutHere) {
      inst.note('-', `${what} (cut mid-frame)`);
    } else if (wanted) {
      inst.note('+', what);
    }
  }

  private offlineReason(): string {
    const authed = [...this.clients].some((c) => c.alive && c.authed);
    if (authed) return 'connected, not subscribed yet';
    const last = this.cuts.lastCut;
    return last ? `offline after ${last.kind}` : 'no client';
  }


  // ---- connections and cuts ---------------------------------------------------------------------------

  private onConnection(socket: Socket): void {
    this.stats.connections++;
    this.cuts.connected(Date.now());
    const c = new ChaosSession(this.nextClientId++, socket, this.host);
    this.cuts.plan(c);
    this.clients.add(c);
    socket.setNoDelay(true);
    socket.on('close', () => {
      c.alive = false;
      this.clients.delete(c);
    });
    socket.on('error', () => undefined);
    socket.on('data', (d) => c.onData(d));
    socket.write(authRequestFrame());
  }

  /** Ends the connection the way a cut looks from the client: what was written arrives, then EOF. */
  private cut(c: ChaosSession, kind: CutKind): void {
    if (!c.alive) return;
    c.alive = false;
    this.cuts.made(kind);
    this.stats.cuts[kind]++;
    for (const inst of this.queue.all) {
      if (!inst.started) continue;
      inst.cuts.add(kind);
      inst.note('x', `cut ${kind}`);
    }
    c.socket.end();
    setTimeout(() => c.socket.destroy(), 1000).unref();
  }

  private glitch(kind: GlitchKind): void {
    this.stats.glitches[kind]++;
    for (const inst of this.queue.all) {
      if (!inst.started) continue;
      inst.glitches.add(kind);
      inst.note('!', kind);
    }
  }
}
