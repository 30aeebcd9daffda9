import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as SqliteClient } from '../generated/sqlite/client';
import { PrismaClient as PostgresClient } from '../generated/postgres/client';
import { DbKind, dbKindOf, sqlitePath } from './url';
import { migrate, MigrationResult } from './migrate';

/** Both generated clients have the same model API; the SQLite one's type stands for both. */
export type Prisma = InstanceType<typeof SqliteClient>;
export type SqlValue = string | number | bigint | boolean | null;
export type Tx = Pick<Prisma, '$executeRawUnsafe' | '$queryRawUnsafe'>;

/**
 * The database: a Prisma client over a driver adapter (better-sqlite3 or pg), plus raw SQL for the bulk
 * paths. SQL is written with `?` placeholders; for PostgreSQL they become `$1..$n`.
 */
export class Db {
  private constructor(
    readonly kind: DbKind,
    readonly prisma: Prisma,
    readonly url: string,
  ) {}

  static async open(url: string, opts: { migrate?: boolean } = {}): Promise<{ db: Db; migrations?: MigrationResult }> {
    const kind = dbKindOf(url);
    const migrations = opts.migrate === false ? undefined : await migrate(url);
    let prisma: Prisma;
    if (kind === 'sqlite') {
      prisma = new SqliteClient({ adapter: new PrismaBetterSQLite3({ url: sqlitePath(url) }) });
    } else {
      prisma = new PostgresClient({ adapter: new PrismaPg({ connectionString: url, max: 8 }) }) as unknown as Prisma;
    }
    const db = new Db(kind, prisma, url);
    if (kind === 'sqlite') {
      // WAL is set by the migrator; these are per connection.
      await prisma.$queryRawUnsafe('PRAGMA synchronous = NORMAL');
      await prisma.$queryRawUnsafe('PRAGMA busy_timeout = 5000');
      await prisma.$queryRawUnsafe('PRAGMA foreign_keys = ON');
    }
    return { db, migrations };
  }

  sql(text: string): string {
    if (this.kind === 'sqlite') return text;
    let i = 0;
    return text.replace(/\?/g, () => `$${++i}`);
  }

  async exec(text: string, params: SqlValue[] = [], tx: Tx = this.prisma): Promise<number> {
    return tx.$executeRawUnsafe(this.sql(text), ...params);
  }

  async query<T = Record<string, unknown>>(text: string, params: SqlValue[] = [], tx: Tx = this.prisma): Promise<T[]> {
    return tx.$queryRawUnsafe<T[]>(this.sql(text), ...params);
  }

  /** A multi-row statement (`INSERT ... VALUES (...), (...) ON CONFLICT ...`), chunked to keep parameters bounded. */
  async execMany(head: string, cols: number, rows: SqlValue[][], tail = '', tx: Tx = this.prisma, perStatement = 100): Promise<void> {
    const one = `(${new Array(cols).fill('?').join(', ')})`;
    for (let i = 0; i < rows.length; i += perStatement) {
      const chunk = rows.slice(i, i + perStatement);
      await this.exec(`${head} VALUES ${chunk.map(() => one).join(', ')} ${tail}`, chunk.flat(), tx);
    }
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
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
    await this.prisma.$disconnect();
  }
}
