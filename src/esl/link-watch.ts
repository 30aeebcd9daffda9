import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { EslFrame } from './frame';
import { EslEvent, eventTimestamp } from './event';
import { EslTimeoutError } from './command-errors';
import type { EslConnectionOptions, EslState } from './connection';

/**
 * How the link looks from here: `live` (ready, and either traffic within the idle window or the last probe
 * answered), `stale` (ready, but quiet: a probe is out and nothing has arrived since), `down` (not ready).
 */
export type EslLink = 'live' | 'stale' | 'down';

/** Production defaults of the link watch (see EslConnection). */
export const ESL_LINK_DEFAULTS = { handshakeTimeoutMs: 10_000, idleProbeMs: 30_000, probeTimeoutMs: 10_000 } as const;

/**
 * Runs fn after the I/O that is already waiting has been read. Timers run before the poll phase, so after a
 * busy stretch of the event loop a timeout would otherwise fire while the bytes that answer it sit unread.
 */
export function afterIo(fn: () => void): void {
  setImmediate(fn);
}

/**
 * The link watchdog of an ESL connection (src/esl/connection.ts, where EslConnection's docstring says why):
 * the handshake timeout, the idle probe (`api status` after silence, the link dropped if it goes unanswered)
 * and the link state (live / stale / down, emitted as 'link' when it changes). The connection it watches
 * supplies the socket, its state, its stats, `send` and `drop`.
 */
export abstract class EslLinkWatch extends EventEmitter {
  protected abstract socket: Socket | null;
  protected abstract _state: EslState;
  protected abstract greeted: boolean;
  protected abstract readonly opts: EslConnectionOptions;
  abstract readonly stats: {
    lastError: string; lastFrameAt: number; probes: number; probeFailures: number; handshakeTimeouts: number;
    heartbeats: number; lastHeartbeatAt: number;
  };
  protected handshakeTimer: NodeJS.Timeout | null = null;
  protected idleTimer: NodeJS.Timeout | null = null;
  /** When the outstanding probe was sent (0: none out). */
  protected probeSentAt = 0;
  protected lastLink: EslLink = 'down';
  protected readonly handshakeTimeoutMs: number;
  protected readonly idleProbeMs: number;
  protected readonly probeTimeoutMs: number;

  constructor(opts: EslConnectionOptions) {
    super();
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? ESL_LINK_DEFAULTS.handshakeTimeoutMs;
    this.idleProbeMs = opts.idleProbeMs ?? ESL_LINK_DEFAULTS.idleProbeMs;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? ESL_LINK_DEFAULTS.probeTimeoutMs;
  }

  /** live / stale (quiet, probe out, nothing since) / down (not ready). */
  get link(): EslLink {
    if (this._state !== 'ready') return 'down';
    return this.probeSentAt > 0 && this.stats.lastFrameAt < this.probeSentAt ? 'stale' : 'live';
  }

  protected onHandshakeTimeout(socket: Socket): void {
    if (this.socket !== socket || this._state === 'ready' || this._state === 'closed') return;
    this.stats.handshakeTimeouts++;
    const within = `within ${this.handshakeTimeoutMs} ms`;
    const where = `${this.opts.host}:${this.opts.port}`;
    this.drop(
      this._state === 'connecting'
        ? `TCP connect to ${where} did not complete ${within}`
        : !this.greeted
          ? `${where} accepted but sent no auth/request greeting ${within}`
          : `auth and event subscription not completed ${within}`,
    );
  }

  /** Checks for silence at lastFrameAt + idleProbeMs; a busy link only pays a Date.now() per chunk. */
  protected armIdle(delayMs: number): void {
    if (this.idleProbeMs <= 0) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const socket = this.socket;
    const idleTimer = setTimeout(() => afterIo(() => {
      if (this.idleTimer !== idleTimer) return; // re-armed, dropped or closed meanwhile
      this.idleTimer = null;
      this.onIdle(socket);
    }), Math.max(1, delayMs));
    this.idleTimer = idleTimer;
  }

  protected onIdle(socket: Socket | null): void {
    if (!socket || this.socket !== socket || this._state !== 'ready' || this.probeSentAt) return;
    const quiet = Date.now() - this.stats.lastFrameAt;
    if (quiet < this.idleProbeMs) {
      this.armIdle(this.idleProbeMs - quiet);
      return;
    }
    const sentAt = Date.now();
    this.probeSentAt = sentAt;
    const quietS = Math.round(quiet / 1000);
    this.stats.probes++;
    this.updateLink();
    this.send('api status', 'api', false, this.probeTimeoutMs).then(
      () => {
        if (this.socket !== socket || this.probeSentAt !== sentAt) return;
        this.probeSentAt = 0;
        this.emit('probeAnswered', sentAt);
        this.updateLink();
        this.armIdle(this.idleProbeMs);
      },
      (e: Error) => {
        // No reply in time: send() has already dropped the connection, and its close reconnects with backoff.
        // Any other rejection (connection lost, closed) has its own reason already.
        if (!(e instanceof EslTimeoutError)) return;
        this.stats.probeFailures++;
        this.stats.lastError = `link dead: ${e.message} (probe sent after ${quietS} s of silence)`;
      },
    );
  }

  /**
   * A HEARTBEAT arrived (FreeSWITCH fires one every 20 s by default). Counted, and emitted as 'heartbeat'
   * with its Event-Date-Timestamp in ms (FreeSWITCH clock): every event before it on this link has arrived,
   * so the call tracker knows every leg it has not seen hang up was alive then (src/calls/link-alive.ts).
   * An answered idle probe is emitted as 'probeAnswered' with the time it was sent (ms, our clock).
   */
  protected noteHeartbeat(ev: EslEvent): void {
    this.stats.heartbeats++;
    this.stats.lastHeartbeatAt = this.stats.lastFrameAt;
    const ts = eventTimestamp(ev);
    if (ts !== undefined) this.emit('heartbeat', ts);
  }

  protected updateLink(): void {
    const l = this.link;
    if (l === this.lastLink) return;
    this.lastLink = l;
    this.emit('link', l);
  }

  protected clearWatch(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.handshakeTimer = null;
    this.idleTimer = null;
    this.probeSentAt = 0;
  }

  protected abstract send(text: string, kind: 'api' | 'command', allowBeforeReady?: boolean, timeoutMs?: number): Promise<EslFrame>;
  protected abstract drop(reason: string): void;
}
