/**
 * The chaos switch's cuts: which connection dies how and when (in storms of quick cuts between calm
 * spells sized to fit the cuts left into the time left), and the glitches that are not cuts (a `show …`
 * answered -ERR, a `show channels` reply held back). Seeded: the same seed makes the same choices.
 */

export type CutKind = 'mid-frame' | 'after-auth' | 'resync-mid-reply' | 'resync-between';
export const CUT_KINDS: CutKind[] = ['mid-frame', 'after-auth', 'resync-mid-reply', 'resync-between'];
/** Chaos that is not a cut. */
export type GlitchKind = 'show-err' | 'show-delayed';

export interface ChaosOptions {
  /** How many cuts to make at most. */
  cuts: number;
  /** Wall-clock ms by which the cuts should be spread (pacing: connected time is sized to fit them in). */
  untilMs: number;
  /** Relative weights of the cut kinds (default mid-frame 55, after-auth 15, resync-mid-reply 15, resync-between 15). */
  weights?: Partial<Record<CutKind, number>>;
  /** Chance that a `show … as json` is answered -ERR (default 0.05). */
  showErrorRate?: number;
  /** Chance that a `show channels as json` reply is held back while events keep flowing (default 0.2). */
  showDelayRate?: number;
  /** How long it is held back, ms (default 50..1500). */
  showDelayMs?: [number, number];
  /** Mean number of cuts per storm (default 5; 1 = evenly spread cuts). */
  storm?: number;
}

/** A connection's fate, set by CutPlanner.plan. */
export interface CutPlan {
  /** The cut planned for this connection (chaos on), and for mid-frame the moment from which it fires. */
  plan: CutKind | null;
  /** Negative: relative (−ms−1) until the client subscribes (see arm). */
  cutAt: number;
  /** resync-mid-reply: which api reply of the resync to cut (0 show channels, 1 show calls, 2 the first uuid_dump). */
  cutReply: number;
}

export class CutPlanner {
  /** The chaos in force (null: off) and how many cuts it has left. */
  private chaos: (ChaosOptions & { left: number }) | null = null;
  /** The last cut made (for the reason events were missed, and the reconnect estimate). */
  lastCut: { kind: CutKind; at: number } | null = null;
  private reconnectMs = 0;
  private stormLeft = 0;
  private forced: { kind: CutKind; afterMs: number } | null = null;

  constructor(private readonly rand: () => number) {}

  start(opts: ChaosOptions): void {
    this.chaos = { ...opts, left: opts.cuts };
  }

  stop(): void {
    this.chaos = null;
  }

  /** Plans `kind` for the next connection (tests); chaos need not be on. */
  force(kind: CutKind, afterMs: number): void {
    this.forced = { kind, afterMs };
  }

  /** A client connected: learns how long reconnecting takes after a cut (the calm spells leave room for it). */
  connected(now: number): void {
    if (!this.lastCut) return;
    const sample = now - this.lastCut.at;
    this.reconnectMs = this.reconnectMs ? 0.7 * this.reconnectMs + 0.3 * sample : sample;
  }

  /** Decides how connection `c` will die (if chaos is on, or a cut was forced for it). */
  plan(c: CutPlan): void {
    if (this.forced) {
      c.plan = this.forced.kind;
      c.cutAt = this.forced.kind === 'mid-frame' ? -this.forced.afterMs - 1 : 0; // relative until subscribed
      this.forced = null;
      return;
    }
    const ch = this.chaos;
    if (!ch || ch.left <= 0) return;
    const w = { 'mid-frame': 55, 'after-auth': 15, 'resync-mid-reply': 15, 'resync-between': 15, ...ch.weights };
    const total = CUT_KINDS.reduce((a, k) => a + (w[k] ?? 0), 0);
    let r = this.rand() * total;
    let kind: CutKind = 'mid-frame';
    for (const k of CUT_KINDS) {
      r -= w[k] ?? 0;
      if (r < 0) {
        kind = k;
        break;
      }
    }
    // Cuts come in storms (a few quick cuts: each connection dies within 100 ms of subscribing, or in its
    // handshake or resync) between calm connections that live until the next storm and end mid-frame, so
    // that some calls run entirely while connected and others straddle cuts. The calm spells are sized so
    // that the remaining cuts fit in the remaining time.
    if (this.stormLeft > 0) {
      this.stormLeft--;
      c.plan = kind;
      const r = this.rand();
      c.cutReply = r < 0.5 ? 0 : r < 0.75 ? 1 : 2;
      if (kind === 'mid-frame') c.cutAt = -this.rand() * 100 - 1; // armed when the client subscribes
      return;
    }
    const storm = Math.max(1, ch.storm ?? 5);
    const stormsLeft = Math.max(1, ch.left / storm);
    const calm = Math.max(0, (ch.untilMs - Date.now()) / stormsLeft - storm * (this.reconnectMs + 50));
    c.plan = 'mid-frame';
    c.cutAt = -calm * (0.5 + this.rand()) - 1;
    this.stormLeft = Math.floor(this.rand() * (2 * storm - 1));
  }

  /** A relative mid-frame cut starts counting once the client has subscribed. */
  arm(c: CutPlan): void {
    if (c.cutAt < 0) c.cutAt = Date.now() + (-c.cutAt - 1);
  }

  mayCut(): boolean {
    return !!this.chaos ? this.chaos.left > 0 : true;
  }

  /** Books a cut of `kind` made now. */
  made(kind: CutKind): void {
    if (this.chaos) this.chaos.left--;
    this.lastCut = { kind, at: Date.now() };
  }

  /** Whether this `show … as json` is answered -ERR. */
  showError(): boolean {
    const ch = this.chaos;
    return !!ch && this.rand() < (ch.showErrorRate ?? 0.05);
  }

  /** How long this `show channels` reply is held back, ms (null: it is not). */
  showDelay(): number | null {
    const ch = this.chaos;
    if (!ch || !(this.rand() < (ch.showDelayRate ?? 0.2))) return null;
    const [lo, hi] = ch.showDelayMs ?? [50, 1500];
    return lo + this.rand() * (hi - lo);
  }
}
