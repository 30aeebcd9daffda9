import { connect, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { EslFrame, FrameParser } from './frame';
import { decodeEvent, EslEvent, isEventFrame } from './event';
import { afterIo, EslLink, EslLinkWatch } from './link-watch';
import { assertSafeCommand, commandName, EslCommandError, EslTimeoutError } from './command-errors';

export { assertSafeCommand, EslCommandError, EslTimeoutError } from './command-errors';

export { ESL_LINK_DEFAULTS } from './link-watch';
export type { EslLink } from './link-watch';

export interface EslConnectionOptions {
  host: string;
  port: number;
  password: string;
  /** Event names to subscribe to (`CUSTOM a::b c::d` allowed as one entry). */
  events: string[];
  /** Reconnect backoff: first delay and cap, ms. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A reply to api / bgapi / auth must come within this long, ms (default 10 s): else EslTimeoutError and the link is dropped. */
  commandTimeoutMs?: number;
  /** Background job results wait this long. */
  jobTimeoutMs?: number;
  /** Called with each JSON event body before it is decoded; true skips the event (cheap pre-filter). */
  skipEvent?: (body: string) => boolean;
  /**
   * TCP connect + `auth/request` greeting + auth reply + subscription reply must all happen within this
   * long, ms (default 10 s; covers a SYN that never completes and a server that accepts and never greets).
   */
  handshakeTimeoutMs?: number;
  /** While ready, send `api status` once nothing (no complete frame) has arrived for this long, ms (default 30 s; 0 = never). */
  idleProbeMs?: number;
  /** The probe's reply must come within this long, or the link is dropped as dead, ms (default 10 s). */
  probeTimeoutMs?: number;
  /**
   * Also subscribe HEARTBEAT (default true), so a healthy idle FreeSWITCH keeps the link busy and is not
   * probed. Heartbeats we added ourselves are counted, not emitted as events.
   */
  heartbeat?: boolean;
}

export type EslState = 'disconnected' | 'connecting' | 'authenticating' | 'ready' | 'closed';

interface PendingReply {
  kind: 'api' | 'command';
  resolve: (f: EslFrame) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface PendingJob {
  resolve: (body: string) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One inbound Event Socket connection to FreeSWITCH: auth, event subscription, api and bgapi (Job-UUID
 * correlated), reconnect with exponential backoff forever. Emits:
 *  - 'ready' after every (re)connect and subscription (the owner resyncs live state then);
 *  - 'event' (EslEvent) for each event; 'malformed' (Error) for an event it could not decode;
 *  - 'state' (EslState); 'disconnected' (reason); 'authFailed'; 'link' (EslLink) when live/stale/down changes;
 *  - 'heartbeat' and 'probeAnswered': the link's proofs of life for the call tracker (src/esl/link-watch.ts).
 *
 * The link is watched, because TCP alone says nothing about a peer that went away without a FIN/RST (a
 * half-open connection can look established for hours; keepalive probes take minutes):
 *  - Handshake timeout (default 10 s, `handshakeTimeoutMs`): from the connect attempt to the subscription
 *    reply. FreeSWITCH greets with `Content-Type: auth/request` as soon as it accepts and answers `auth` and
 *    `event json …` at once (captures 01/08b: all within a few ms on loopback), so 10 s is only ever hit by
 *    a dead or wrong peer: a SYN that never completes, a port that accepts and never greets, a reply lost.
 *  - Idle probe (default after 30 s of silence, `idleProbeMs`): `api status`, whose reply (api/response,
 *    capture 01_auth_api_bgapi) shares the reply FIFO with other commands. It must come within 10 s
 *    (`probeTimeoutMs`, the same budget as any command reply), else the connection is dropped and reconnected
 *    with the usual backoff. Any complete frame counts as traffic, so a busy link is never probed; bytes of an
 *    unfinished frame do not (a Content-Length that promises more and then silence is exactly the half-open
 *    case, and the probe's reply can't be read behind it).
 *  - HEARTBEAT: FreeSWITCH fires it every 20 s by default (fixtures README; one HEARTBEAT/RE_SCHEDULE pair
 *    each in captures 03, 05b, 06, `Task-Desc: heartbeat`), so we subscribe it and a healthy idle FreeSWITCH
 *    never needs a probe at 30 s. The interval is configurable (`event-heartbeat-interval` in switch.conf.xml)
 *    and the 1.10.12 event carries no interval header, so heartbeats only count as traffic; the probe decides.
 *    Their times (and answered probes') tell the call tracker until when the link showed every leg alive.
 *  - Timeouts are checked after pending socket input is read (afterIo), so a busy event loop does not drop a
 *    link whose answer is already waiting.
 * All timers are per socket and cleared on close, on every drop and on `close()`.
 */
export class EslConnection extends EslLinkWatch {
  protected socket: Socket | null = null;
  private parser = new FrameParser();
  private replies: PendingReply[] = [];
  private jobs = new Map<string, PendingJob>();
  private backoff: number;
  private reconnectTimer: NodeJS.Timeout | null = null;
  protected _state: EslState = 'disconnected';
  private authResolve: ((ok: boolean) => void) | null = null;
  protected greeted = false;
  /** HEARTBEAT was added to the subscription by us (not asked for by the owner): count it, don't emit it. */
  private readonly ownHeartbeat: boolean;
  readonly stats = {
    connects: 0,
    events: 0,
    skipped: 0,
    malformed: 0,
    authFailures: 0,
    lastError: '' as string,
    connectedAt: 0,
    /** Epoch ms: any bytes from FreeSWITCH / the last complete frame / the last event / the last HEARTBEAT. */
    lastByteAt: 0,
    lastFrameAt: 0,
    lastEventAt: 0,
    lastHeartbeatAt: 0,
    heartbeats: 0,
    /** Idle probes sent, and those that got no reply in time (each dropped the connection). */
    probes: 0,
    probeFailures: 0,
    /** Connection attempts that did not reach `ready` within the handshake timeout. */
    handshakeTimeouts: 0,
  };

  constructor(protected readonly opts: EslConnectionOptions) {
    super(opts);
    this.backoff = opts.initialBackoffMs ?? 500;
    this.ownHeartbeat = opts.heartbeat !== false && !opts.events.some((e) => e === 'ALL' || e === 'HEARTBEAT');
  }

  get state(): EslState {
    return this._state;
  }

  start(): void {
    if (this._state === 'closed') throw new Error('connection was closed');
    this.open();
  }

  async close(): Promise<void> {
    this.setState('closed');
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.clearWatch();
    this.updateLink();
    this.failPending(new EslCommandError('connection closed'));
    const s = this.socket;
    this.socket = null;
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.end('exit\n\n');
        setTimeout(() => s.destroy(), 200).unref();
      });
    }
  }

  /** `api <cmd>`: resolves with the response body (which may itself say -ERR: see apiOk). */
  async api(cmd: string): Promise<string> {
    assertSafeCommand(cmd);
    const f = await this.send(`api ${cmd}`, 'api');
    return f.body ?? '';
  }

  /** `api <cmd>` that must answer +OK (or data); rejects on -ERR / -USAGE. */
  async apiOk(cmd: string): Promise<string> {
    const body = await this.api(cmd);
    if (/^-(ERR|USAGE)/.test(body)) throw new EslCommandError(body.trim(), body);
    return body;
  }

  /** `bgapi <cmd>` with our own Job-UUID; resolves with the BACKGROUND_JOB body. */
  async bgapi(cmd: string, jobUuid: string = randomUUID()): Promise<{ jobUuid: string; body: string }> {
    assertSafeCommand(cmd);
    const timeout = this.opts.jobTimeoutMs ?? 120_000;
    const result = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.jobs.delete(jobUuid);
        reject(new EslCommandError(`background job ${jobUuid} timed out`));
      }, timeout);
      this.jobs.set(jobUuid, { resolve, reject, timer });
    });
    try {
      const reply = await this.send(`bgapi ${cmd}\nJob-UUID: ${jobUuid}`, 'command');
      const text = reply.headers['Reply-Text'] ?? '';
      if (!text.startsWith('+OK')) throw new EslCommandError(text, text);
    } catch (e) {
      const j = this.jobs.get(jobUuid);
      if (j) clearTimeout(j.timer);
      this.jobs.delete(jobUuid);
      result.catch(() => undefined);
      throw e;
    }
    return { jobUuid, body: await result };
  }

  /**
   * `bgapi <cmd>` with our Job-UUID; resolves as soon as FreeSWITCH accepted the job. The result comes
   * later as a BACKGROUND_JOB event, which the call tracker follows (click-to-call rings for up to a minute).
   */
  async bgapiAccepted(cmd: string, jobUuid: string): Promise<void> {
    assertSafeCommand(cmd);
    const reply = await this.send(`bgapi ${cmd}\nJob-UUID: ${jobUuid}`, 'command');
    const text = reply.headers['Reply-Text'] ?? '';
    if (!text.startsWith('+OK')) throw new EslCommandError(text, text);
  }

  protected send(text: string, kind: 'api' | 'command', allowBeforeReady = false, timeoutMs = this.opts.commandTimeoutMs ?? 10_000): Promise<EslFrame> {
    const s = this.socket;
    if (!s || (!allowBeforeReady && this._state !== 'ready')) {
      return Promise.reject(new EslCommandError(`FreeSWITCH is not connected (${this._state})`));
    }
    return new Promise<EslFrame>((resolve, reject) => {
      // afterIo: a reply already waiting in the socket (the event loop was busy) is read before we give up.
      const timer = setTimeout(() => afterIo(() => {
        if (!this.replies.some((r) => r.timer === timer)) return; // answered, or failed with the connection
        const err = new EslTimeoutError(`no reply to "${commandName(text)}" within ${timeoutMs} ms`, timeoutMs);
        // A reply that never comes desynchronises the FIFO: drop the connection and start clean.
        this.drop(err.message);
        reject(err);
      }), timeoutMs);
      this.replies.push({ kind, resolve, reject, timer });
      s.write(`${text}\n\n`);
    });
  }

  private setState(s: EslState): void {
    if (this._state === s) return;
    this._state = s;
    this.emit('state', s);
  }

  private open(): void {
    if (this._state === 'closed') return;
    this.setState('connecting');
    this.parser = new FrameParser();
    this.greeted = false;
    const socket = connect({ host: this.opts.host, port: this.opts.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const handshakeTimer = setTimeout(() => afterIo(() => {
      if (this.handshakeTimer !== handshakeTimer) return; // ready, dropped or closed meanwhile
      this.handshakeTimer = null;
      this.onHandshakeTimeout(socket);
    }), this.handshakeTimeoutMs);
    this.handshakeTimer = handshakeTimer;
    socket.on('connect', () => {
      this.setState('authenticating');
      void this.handshake(socket);
    });
    socket.on('data', (chunk) => this.onData(socket, chunk));
    socket.on('error', (err) => {
      this.stats.lastError = err.message;
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearWatch();
      this.failPending(new EslCommandError('connection lost'));
      if (this._state === 'closed') return;
      this.setState('disconnected');
      this.updateLink();
      this.emit('disconnected', this.stats.lastError);
      this.scheduleReconnect();
    });
  }

  private async handshake(socket: Socket): Promise<void> {
    try {
      const ok = await new Promise<boolean>((resolve) => {
        this.authResolve = resolve;
      });
      if (!ok) return;
      const reply = await this.send(`auth ${this.opts.password}`, 'command', true);
      if (reply.headers['Reply-Text'] !== '+OK accepted') {
        this.stats.authFailures++;
        this.stats.lastError = `authentication failed: ${reply.headers['Reply-Text'] ?? ''}`;
        this.emit('authFailed', reply.headers['Reply-Text']);
        socket.destroy();
        return;
      }
      // HEARTBEAT goes first: FreeSWITCH reads every name after CUSTOM as a subclass.
      const names = this.ownHeartbeat ? ['HEARTBEAT', ...this.opts.events] : this.opts.events;
      const sub = await this.send(`event json ${names.join(' ')}`, 'command', true);
      if (!(sub.headers['Reply-Text'] ?? '').startsWith('+OK')) {
        this.stats.lastError = `subscription refused: ${sub.headers['Reply-Text'] ?? ''}`;
        socket.destroy();
        return;
      }
      if (this.socket !== socket) return;
      if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
      this.handshakeTimer = null;
      this.stats.connects++;
      this.stats.connectedAt = Date.now();
      this.backoff = this.opts.initialBackoffMs ?? 500;
      this.setState('ready');
      this.armIdle(this.idleProbeMs);
      this.emit('ready');
      this.updateLink();
    } catch (e) {
      // A connection already dropped (handshake timeout, lost) keeps the reason it was dropped for.
      if (this.socket === socket) this.stats.lastError = (e as Error).message;
      socket.destroy();
    }
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (this.socket !== socket) return;
    const now = Date.now();
    this.stats.lastByteAt = now;
    let frames: EslFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (e) {
      this.stats.malformed++;
      this.stats.lastError = (e as Error).message;
      this.emit('malformed', e);
      this.drop((e as Error).message);
      return;
    }
    if (frames.length === 0) return;
    this.stats.lastFrameAt = now;
    for (const f of frames) this.onFrame(f);
    if (this.probeSentAt && this.socket === socket) this.updateLink();
  }

  private onFrame(f: EslFrame): void {
    const ct = f.headers['Content-Type'];
    if (ct === 'auth/request') {
      this.greeted = true;
      this.authResolve?.(true);
      this.authResolve = null;
      return;
    }
    if (ct === 'api/response' || ct === 'command/reply') {
      const p = this.replies.shift();
      if (!p) return;
      clearTimeout(p.timer);
      p.resolve(f);
      return;
    }
    if (ct === 'text/disconnect-notice') {
      this.stats.lastError = 'FreeSWITCH sent disconnect-notice';
      return;
    }
    if (isEventFrame(f)) {
      this.stats.lastEventAt = this.stats.lastFrameAt;
      if (this.opts.skipEvent && f.body && f.headers['Content-Type'] === 'text/event-json' && this.opts.skipEvent(f.body)) {
        this.stats.events++;
        this.stats.skipped++;
        return;
      }
      let ev: EslEvent;
      try {
        ev = decodeEvent(f);
      } catch (e) {
        this.stats.malformed++;
        this.emit('malformed', e);
        return;
      }
      if (ev.name === 'HEARTBEAT') {
        this.noteHeartbeat(ev);
        if (this.ownHeartbeat) return;
      }
      this.stats.events++;
      if (ev.name === 'BACKGROUND_JOB') {
        const id = typeof ev.headers['Job-UUID'] === 'string' ? (ev.headers['Job-UUID'] as string) : undefined;
        const job = id ? this.jobs.get(id) : undefined;
        if (job && id) {
          clearTimeout(job.timer);
          this.jobs.delete(id);
          job.resolve(ev.body ?? '');
        }
      }
      this.emit('event', ev);
    }
  }

  protected drop(reason: string): void {
    this.stats.lastError = reason;
    this.clearWatch();
    this.socket?.destroy();
  }

  private failPending(err: Error): void {
    for (const p of this.replies.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.authResolve?.(false);
    this.authResolve = null;
    for (const [id, j] of this.jobs) {
      clearTimeout(j.timer);
      j.reject(err);
      this.jobs.delete(id);
    }
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this._state === 'closed') return;
    const delay = Math.round(this.backoff * (0.8 + Math.random() * 0.4));
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 30_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open();
    }, delay);
  }
}
