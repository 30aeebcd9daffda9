import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as SqliteClient } from '../generated/sqlite/client';
import { PrismaClient as PostgresClient } from '../generated/postgres/client';
import { DbKind, dbKindOf, sqlitePath } from './url';
import { migrate, MigrationResult } from './migrate';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Gate, gatedAdapterFactory, SqliteStatements } from './sqlite-gate';
import { SqliteCheckpointer } from './sqlite-checkpointer';

/** Set inside a SQLite transaction: a statement there without `tx` would wait for the gate forever. */
const inTransaction = new AsyncLocalStorage<boolean>();
const outsideTx = () => {
  if (inTransaction.getStore()) throw new Error('a statement inside a transaction must use its tx');
};

/** Both generated clients have the same model API; the SQLite one's type stands for both. */
export type Prisma = InstanceType<typeof SqliteClient>;
export type SqlValue = string | number | bigint | boolean | null;
export type Tx = Pick<Prisma, '$executeRawUnsafe' | '$queryRawUnsafe'>;

/**
 * The database: a Prisma client over a driver adapter (better-sqlite3 or pg), plus raw SQL for the bulk
 * paths. SQL is written with `?` placeholders; for PostgreSQL they become `$1..$n`.
 */
export class Db {
  /** SQLite only: our statements on Prisma's connection, and the gate both pass. */
  private sqlite: { gate: Gate; statements: SqliteStatements; tx: Tx; checkpointer: SqliteCheckpointer } | null = null;

  private constructor(
    readonly kind: DbKind,
    readonly prisma: Prisma,
    readonly url: string,
  ) {}

  static async open(url: string, opts: { migrate?: boolean } = {}): Promise<{ db: Db; migrations?: MigrationResult }> {
    const kind = dbKindOf(url);
    const migrations = opts.migrate === false ? undefined : await migrate(url);
    if (kind === 'sqlite') {
      const gate = new Gate();
      let client: import('better-sqlite3').Database | undefined;
      const adapter = gatedAdapterFactory(new PrismaBetterSQLite3({ url: sqlitePath(url) }), gate, (c) => (client = c));
      const prisma = new SqliteClient({ adapter: adapter as unknown as PrismaBetterSQLite3 });
      await prisma.$connect();
      if (!client) throw new Error('SQLite connection did not open');
      // WAL is set by the migrator; these are per connection. Integers come back as numbers (exact to 2^53).
      client.pragma('synchronous = NORMAL');
      client.pragma('busy_timeout = 5000');
      client.pragma('foreign_keys = ON');
      client.defaultSafeIntegers(false);
      client.pragma('wal_autocheckpoint = 0');
      const checkpointer = new SqliteCheckpointer(sqlitePath(url));
      const db = new Db(kind, prisma, url);
      const statements = new SqliteStatements(client);
      const tx: Tx = {
        $executeRawUnsafe: (async (sql: string, ...params: SqlValue[]) => statements.exec(sql, params)) as Tx['$executeRawUnsafe'],
        $queryRawUnsafe: (async (sql: string, ...params: SqlValue[]) => statements.query(sql, params)) as Tx['$queryRawUnsafe'],
      };
      db.sqlite = { gate, statements, tx, checkpointer };
      return { db, migrations };
    }
    const prisma = new PostgresClient({ adapter: new PrismaPg({ connectionString: url, max: 8 }) }) as unknown as Prisma;
    const db = new Db(kind, prisma, url);
    return { db, migrations };
  }

  sql(text: string): string {
    if (this.kind === 'sqlite') return text;
    let i = 0;
    return text.replace(/\?/g, () => `$${++i}`);
  }

  async exec(text: string, params: SqlValue[] = [], tx?: Tx): Promise<number> {
    const lite = this.sqlite;
    if (lite) {
      if (tx === lite.tx) return lite.statements.exec(text, params);
      outsideTx();
      return lite.gate.run(() => lite.statements.exec(text, params));
    }
    return (tx ?? this.prisma).$executeRawUnsafe(this.sql(text), ...params);
  }

  async query<T = Record<string, unknown>>(text: string, params: SqlValue[] = [], tx?: Tx): Promise<T[]> {
    const lite = this.sqlite;
    if (lite) {
      if (tx === lite.tx) return lite.statements.query<T>(text, params);
      outsideTx();
      return lite.gate.run(() => lite.statements.query<T>(text, params));
    }
    return (tx ?? this.prisma).$queryRawUnsafe<T[]>(this.sql(text), ...params);
  }

  /** A multi-row statement (`INSERT ... VALUES (...), (...) ON CONFLICT ...`), chunked to keep parameters bounded. */
  async execMany(head: string, cols: number, rows: SqlValue[][], tail = '', tx?: Tx, perStatement = 100): Promise<void> {
    const one = `(${new Array(cols).fill('?').join(', ')})`;
    for (let i = 0; i < rows.length; i += perStatement) {
      const chunk = rows.slice(i, i + perStatement);
      await this.exec(`${head} VALUES ${chunk.map(() => one).join(', ')} ${tail}`, chunk.flat(), tx);
    }
  }

  /**
   * A transaction. On SQLite it holds the connection's gate from BEGIN to COMMIT and its statements run
   * synchronously, so nothing else (Prisma included) runs inside it; the callback must use `tx` for every
   * statement and must not wait on anything but them.
   */
  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const lite = this.sqlite;
    if (lite) {
      outsideTx();
      const release = await lite.gate.acquire();
      const c = lite.statements.client;
      try {
        c.exec('BEGIN IMMEDIATE');
        try {
          const out = await inTransaction.run(true, () => fn(lite.tx));
          c.exec('COMMIT');
          return out;
        } catch (e) {
          if (c.inTransaction) c.exec('ROLLBACK');
          throw e;
        }
      } finally {
        release();
      }
    }
    return this.prisma.$transaction((tx) => fn(tx as unknown as Tx), { timeout: 60_000, maxWait: 30_000 });
  }

  async ping(): Promise<boolean> {
    try {
      await this.prisma.$queryRawUnsafe('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.sqlite) {
      await this.sqlite.checkpointer.stop();
      const c = this.sqlite.statements.client;
      await this.sqlite.gate.run(() => c.pragma('wal_checkpoint(TRUNCATE)'));
    }
    await this.prisma.$disconnect();
  }
}
