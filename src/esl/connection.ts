import { EventEmitter } from 'node:events';
import { connect, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { EslFrame, FrameParser } from './frame';
import { decodeEvent, EslEvent, isEventFrame } from './event';

export interface EslConnectionOptions {
  host: string;
  port: number;
  password: string;
  /** Event names to subscribe to (`CUSTOM a::b c::d` allowed as one entry). */
  events: string[];
  /** Reconnect backoff: first delay and cap, ms. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  commandTimeoutMs?: number;
  /** Background job results wait this long. */
  jobTimeoutMs?: number;
  /** Called with each JSON event body before it is decoded; true skips the event (cheap pre-filter). */
  skipEvent?: (body: string) => boolean;
}

export type EslState = 'disconnected' | 'connecting' | 'authenticating' | 'ready' | 'closed';

export class EslCommandError extends Error {
  constructor(
    message: string,
    readonly reply?: string,
  ) {
    super(message);
    this.name = 'EslCommandError';
  }
}

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

/** FreeSWITCH reads a command up to the blank line: a newline inside an argument would start a new command. */
export function assertSafeCommand(cmd: string): void {
  if (/[\r\n\0]/.test(cmd)) throw new EslCommandError('command contains a line break or NUL');
  if (cmd.length === 0 || cmd.length > 8192) throw new EslCommandError('command is empty or too long');
}

/**
 * One inbound Event Socket connection to FreeSWITCH: auth, event subscription, api and bgapi (Job-UUID
 * correlated), reconnect with exponential backoff forever. Emits:
 *  - 'ready' after every (re)connect and subscription (the owner resyncs live state then);
 *  - 'event' (EslEvent) for each event; 'malformed' (Error) for an event it could not decode;
 *  - 'state' (EslState); 'disconnected' (reason); 'authFailed'.
 */
export class EslConnection extends EventEmitter {
  private socket: Socket | null = null;
  private parser = new FrameParser();
  private replies: PendingReply[] = [];
  private jobs = new Map<string, PendingJob>();
  private backoff: number;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private _state: EslState = 'disconnected';
  private authResolve: ((ok: boolean) => void) | null = null;
  readonly stats = { connects: 0, events: 0, skipped: 0, malformed: 0, authFailures: 0, lastError: '' as string, connectedAt: 0 };

  constructor(private readonly opts: EslConnectionOptions) {
    super();
    this.backoff = opts.initialBackoffMs ?? 500;
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

  private send(text: string, kind: 'api' | 'command', allowBeforeReady = false): Promise<EslFrame> {
    const s = this.socket;
    if (!s || (!allowBeforeReady && this._state !== 'ready')) {
      return Promise.reject(new EslCommandError(`FreeSWITCH is not connected (${this._state})`));
    }
    return new Promise<EslFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.replies.findIndex((r) => r.timer === timer);
        // A reply that never comes desynchronises the FIFO: drop the connection and start clean.
        if (i >= 0) this.drop('command timed out');
        reject(new EslCommandError(`no reply to "${text.split(' ')[0]}" within ${this.opts.commandTimeoutMs ?? 10_000} ms`));
      }, this.opts.commandTimeoutMs ?? 10_000);
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
    const socket = connect({ host: this.opts.host, port: this.opts.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
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
      this.failPending(new EslCommandError('connection lost'));
      if (this._state === 'closed') return;
      this.setState('disconnected');
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
      const sub = await this.send(`event json ${this.opts.events.join(' ')}`, 'command', true);
      if (!(sub.headers['Reply-Text'] ?? '').startsWith('+OK')) {
        this.stats.lastError = `subscription refused: ${sub.headers['Reply-Text'] ?? ''}`;
        socket.destroy();
        return;
      }
      this.stats.connects++;
      this.stats.connectedAt = Date.now();
      this.backoff = this.opts.initialBackoffMs ?? 500;
      this.setState('ready');
      this.emit('ready');
    } catch (e) {
      this.stats.lastError = (e as Error).message;
      socket.destroy();
    }
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (this.socket !== socket) return;
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
    for (const f of frames) this.onFrame(f);
  }

  private onFrame(f: EslFrame): void {
    const ct = f.headers['Content-Type'];
    if (ct === 'auth/request') {
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

  private drop(reason: string): void {
    this.stats.lastError = reason;
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
