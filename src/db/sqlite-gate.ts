import type BetterSqlite3 from 'better-sqlite3';
import type { SqlValue } from './database';

/**
 * One SQLite connection, shared by Prisma (through its better-sqlite3 driver adapter) and our raw SQL,
 * behind one FIFO gate. The adapter itself runs a query that arrives while a transaction is open inside
 * that transaction (it only locks transactions against each other), and an interactive transaction
 * spans many event-loop turns; so everything — Prisma queries, Prisma transactions, our statements and
 * our transactions — passes the gate, and our own transactions run their statements synchronously on
 * the connection (cached prepared statements), holding it for as little time as SQLite needs.
 */
export class Gate {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  acquire(): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        this.held = true;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          const next = this.waiters.shift();
          if (next) next();
          else this.held = false;
        });
      };
      if (!this.held) grant();
      else this.waiters.push(grant);
    });
  }

  async run<T>(fn: () => T | Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

type Adapter = Record<string | symbol, unknown> & { client?: BetterSqlite3.Database };

/** Wraps Prisma's driver adapter so that its queries and transactions pass the gate. */
export function gatedAdapterFactory(factory: { connect(): Promise<unknown>; provider: string; adapterName: string }, gate: Gate, onClient: (c: BetterSqlite3.Database) => void) {
  const gateCalls = new Set(['queryRaw', 'executeRaw', 'executeScript']);
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    async connect() {
      const adapter = (await factory.connect()) as Adapter;
      if (!adapter.client) throw new Error('the better-sqlite3 driver adapter exposes no client');
      onClient(adapter.client);
      return new Proxy(adapter, {
        get(target, prop) {
          const v = Reflect.get(target, prop, target);
          if (typeof v !== 'function') return v;
          if (gateCalls.has(prop as string)) return (...args: unknown[]) => gate.run(() => (v as (...a: unknown[]) => unknown).apply(target, args));
          if (prop === 'startTransaction') {
            return async (...args: unknown[]) => {
              const release = await gate.acquire();
              try {
                const tx = (await (v as (...a: unknown[]) => Promise<Adapter>).apply(target, args)) as Adapter;
                return new Proxy(tx, {
                  get(t, p) {
                    const f = Reflect.get(t, p, t);
                    if (typeof f !== 'function') return f;
                    if (p === 'commit' || p === 'rollback') {
                      return async (...a: unknown[]) => {
                        try {
                          return await (f as (...x: unknown[]) => unknown).apply(t, a);
                        } finally {
                          release();
                        }
                      };
                    }
                    return (f as (...x: unknown[]) => unknown).bind(t);
                  },
                });
              } catch (e) {
                release();
                throw e;
              }
            };
          }
          return (v as (...a: unknown[]) => unknown).bind(target);
        },
      });
    },
  };
}

/** Our statements on the shared connection: prepared once, run synchronously. */
export class SqliteStatements {
  private readonly cache = new Map<string, BetterSqlite3.Statement>();

  constructor(readonly client: BetterSqlite3.Database) {}

  private prepare(sql: string): BetterSqlite3.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      if (this.cache.size >= 500) this.cache.clear();
      s = this.client.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  exec(sql: string, params: SqlValue[]): number {
    const s = this.prepare(sql);
    const args = params.map(arg);
    if (s.reader) return s.all(...args).length;
    return s.run(...args).changes;
  }

  query<T>(sql: string, params: SqlValue[]): T[] {
    const s = this.prepare(sql);
    const args = params.map(arg);
    if (!s.reader) {
      s.run(...args);
      return [];
    }
    return s.all(...args) as T[];
  }
}

function arg(v: SqlValue | undefined): string | number | bigint | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}
