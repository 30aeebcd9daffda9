import NodeCache from 'node-cache';

/** Who a phone number belongs to, as the directory knows it. */
export interface CallerIdentity {
  kind: 'customer' | 'contact' | 'unknown';
  /** The number in E.164. */
  number: string;
  customer?: { id: string; name: string };
  contact?: { id: string; name: string };
  /** How many customers share this number (the most recently updated one is named). */
  matches: number;
}

/**
 * Hot caller lookups: a node-cache in front of the directory query. Unknown numbers are cached too
 * (most calls come from numbers that called before). Invalidation by number; a lookup that raced with a
 * change to its number is not cached.
 */
export class IdentityCache {
  private readonly cache: NodeCache;
  private readonly inflight = new Map<string, Promise<CallerIdentity>>();
  /** Bumped per number on every change: a slow lookup started before it must not be cached after it. */
  private readonly generation = new Map<string, number>();
  private flushes = 0;
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly load: (e164: string) => Promise<CallerIdentity>,
    opts: { ttlSeconds?: number } = {},
  ) {
    this.cache = new NodeCache({ stdTTL: opts.ttlSeconds ?? 900, checkperiod: 120, useClones: false });
  }

  /** A cached answer, synchronously; undefined when the number is not in the cache. */
  peek(e164: string): CallerIdentity | undefined {
    const v = this.cache.get<CallerIdentity>(e164);
    if (v) this.stats.hits++;
    return v;
  }

  get(e164: string): Promise<CallerIdentity> {
    const hit = this.peek(e164);
    if (hit) return Promise.resolve(hit);
    let p = this.inflight.get(e164);
    if (p) return p;
    this.stats.misses++;
    const gen = this.generation.get(e164) ?? 0;
    const flushes = this.flushes;
    p = this.load(e164).then(
      (v) => {
        this.inflight.delete(e164);
        if ((this.generation.get(e164) ?? 0) === gen && this.flushes === flushes) this.cache.set(e164, v);
        return v;
      },
      (e) => {
        this.inflight.delete(e164);
        throw e;
      },
    );
    this.inflight.set(e164, p);
    return p;
  }

  invalidate(numbers: Iterable<string>): void {
    for (const n of numbers) {
      this.cache.del(n);
      this.inflight.delete(n);
      this.generation.set(n, (this.generation.get(n) ?? 0) + 1);
    }
    if (this.generation.size > 100_000) {
      // Keeping every generation forever would leak; a flush makes all in-flight lookups uncacheable.
      this.generation.clear();
      this.flushAll();
    }
  }

  flushAll(): void {
    this.flushes++;
    this.cache.flushAll();
    this.inflight.clear();
  }

  size(): number {
    return this.cache.keys().length;
  }

  close(): void {
    this.cache.close();
  }
}
