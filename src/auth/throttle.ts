import { isIPv4, isIPv6 } from 'node:net';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { Logger } from '../log';

export interface AuthThrottleOptions {
  /** Failed authentications a client may make per window before it gets 429 (default 20). */
  burst?: number;
  /** The window in seconds (default 10: after a burst, at most burst/window failures a second on average). */
  windowSeconds?: number;
  /** How many clients' known-good tokens are remembered (default 10,000; the oldest are forgotten first). */
  maxClients?: number;
}

/** Tokens a client proved it holds are remembered this long (ms) to let it through its own throttle. */
const KNOWN_GOOD_MS = 24 * 3600_000;
const KNOWN_PER_CLIENT = 16;

/**
 * Failed authentication per client (IP address; an IPv6 client by its /64, which one host usually owns):
 * a burst of `burst` failures (missing, malformed, unknown or revoked token) per `windowSeconds`, then
 * 429 with Retry-After until the window ends. Counters are rate-limiter-flexible's in-memory fixed
 * windows (one Telefonist process per database, so memory is the right store).
 *
 * Only failures count; successes neither count nor reset the counter (else a client holding one valid
 * token could interleave it to guess others freely). A throttled client is not asked for its token
 * again, except for a token that already authenticated from that same client: a 1C server or panel
 * behind the same address (NAT, one proxy) as a broken or hostile client keeps working with the tokens
 * it was using. Such a token is only accepted, never learnt, while throttled, so guessing gains nothing.
 */
export class AuthThrottle {
  readonly burst: number;
  readonly windowSeconds: number;
  private readonly limiter: RateLimiterMemory;
  private readonly maxClients: number;
  /** client → token hash → when it last authenticated from there; Map order is least recently used first. */
  private readonly known = new Map<string, Map<string, number>>();

  constructor(opts: AuthThrottleOptions = {}, private readonly log?: Logger) {
    this.burst = opts.burst ?? 20;
    this.windowSeconds = opts.windowSeconds ?? 10;
    this.maxClients = opts.maxClients ?? 10_000;
    this.limiter = new RateLimiterMemory({ keyPrefix: 'auth', points: this.burst, duration: this.windowSeconds });
  }

  /** The key a request's failures are counted under: its IPv4 address, or the /64 of its IPv6 address. */
  static clientKey(ip: string | undefined): string {
    if (!ip) return 'unknown';
    const bare = ip.replace(/%.*$/, '');
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
    if (mapped) return mapped[1];
    if (isIPv4(bare) || !isIPv6(bare)) return bare;
    const [head, tail = ''] = bare.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = bare.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
    return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
  }

  /** Milliseconds until this client may try again, or 0 when it is not throttled. */
  async blockedFor(client: string): Promise<number> {
    const r = await this.limiter.get(client);
    return r && r.consumedPoints >= this.burst && r.msBeforeNext > 0 ? r.msBeforeNext : 0;
  }

  /** Counts one failed authentication; logs once when the client reaches the limit. */
  async failed(client: string, reason: string): Promise<void> {
    const r = await this.limiter.penalty(client, 1);
    if (r.consumedPoints === this.burst) {
      this.log?.warn('authentication throttled: too many failed tokens from one client', {
        client,
        failures: r.consumedPoints,
        windowSeconds: this.windowSeconds,
        retryAfterSeconds: Math.ceil(r.msBeforeNext / 1000),
        lastReason: reason,
      });
    }
  }

  /** The token (by hash) authenticated from this client. */
  succeeded(client: string, tokenHash: string): void {
    let tokens = this.known.get(client);
    if (tokens) this.known.delete(client);
    else tokens = new Map();
    this.known.set(client, tokens);
    tokens.delete(tokenHash);
    tokens.set(tokenHash, Date.now());
    if (tokens.size > KNOWN_PER_CLIENT) tokens.delete(tokens.keys().next().value!);
    if (this.known.size > this.maxClients) this.known.delete(this.known.keys().next().value!);
  }

  /** Whether the token (by hash) authenticated from this client lately: it is let through a throttle. */
  knownGood(client: string, tokenHash: string): boolean {
    const at = this.known.get(client)?.get(tokenHash);
    return at !== undefined && Date.now() - at < KNOWN_GOOD_MS;
  }
}
