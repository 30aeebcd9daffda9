import { readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { DbKind, dbKindOf, sqlitePath } from './url';

/**
 * Applies prisma/migrations/<provider>/*.sql in order, each once, each in its own transaction, recorded in
 * `_telefonist_migrations` (name, checksum). Ours because `prisma migrate deploy` fails on PostgreSQL with
 * the 6.x pg adapter and needs a native engine otherwise (docs/decisions.md).
 */
export const MIGRATIONS_ROOT = join(__dirname, '..', '..', 'prisma', 'migrations');

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

export function migrationFiles(kind: DbKind): Array<{ name: string; sql: string; checksum: string }> {
  const dir = join(MIGRATIONS_ROOT, kind);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

export async function migrate(url: string): Promise<MigrationResult> {
  const kind = dbKindOf(url);
  const files = migrationFiles(kind);
  return kind === 'sqlite' ? migrateSqlite(url, files) : migratePostgres(url, files);
}

function checkChecksums(applied: Map<string, string>, files: Array<{ name: string; checksum: string }>): void {
  for (const f of files) {
    const prev = applied.get(f.name);
    if (prev && prev !== f.checksum) {
      throw new Error(`migration ${f.name} was changed after it was applied (checksum mismatch); add a new migration instead`);
    }
  }
}

function migrateSqlite(url: string, files: Array<{ name: string; sql: string; checksum: string }>): MigrationResult {
  const file = sqlitePath(url);
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(`CREATE TABLE IF NOT EXISTS _telefonist_migrations (
      name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const applied = new Map(
      (db.prepare('SELECT name, checksum FROM _telefonist_migrations').all() as Array<{ name: string; checksum: string }>).map(
        (r) => [r.name, r.checksum],
      ),
    );
    checkChecksums(applied, files);
    const done: string[] = [];
    // Prisma's SQLite migrations rebuild tables (create new, copy, drop old): with foreign keys on, the
    // drop would cascade-delete the children. SQLite's documented procedure: keys off outside the
    // transaction, rebuild, check, keys back on.
    db.pragma('foreign_keys = OFF');
    try {
      for (const f of files) {
        if (applied.has(f.name)) continue;
        db.transaction(() => {
          db.exec(f.sql);
          const broken = db.pragma('foreign_key_check') as unknown[];
          if (broken.length) throw new Error(`migration ${f.name} leaves ${broken.length} broken foreign key(s)`);
          db.prepare('INSERT INTO _telefonist_migrations (name, checksum, applied_at) VALUES (?, ?, ?)').run(f.name, f.checksum, Date.now());
        })();
        done.push(f.name);
      }
    } finally {
      db.pragma('foreign_keys = ON');
    }
    return { applied: done, alreadyApplied: applied.size };
  } finally {
    db.close();
  }
}

async function migratePostgres(url: string, files: Array<{ name: string; sql: string; checksum: string }>): Promise<MigrationResult> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    // One migrator at a time (two servers started together against one database).
    await client.query('SELECT pg_advisory_lock(727274)');
    await client.query(`CREATE TABLE IF NOT EXISTS _telefonist_migrations (
      name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const res = await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM _telefonist_migrations');
    const applied = new Map(res.rows.map((r) => [r.name, r.checksum]));
    checkChecksums(applied, files);
    const done: string[] = [];
    for (const f of files) {
      if (applied.has(f.name)) continue;
      await client.query('BEGIN');
      try {
        await client.query(f.sql);
        await client.query('INSERT INTO _telefonist_migrations (name, checksum, applied_at) VALUES ($1, $2, $3)', [f.name, f.checksum, Date.now()]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${f.name} failed: ${(e as Error).message}`);
      }
      done.push(f.name);
    }
    return { applied: done, alreadyApplied: applied.size };
  } finally {
    await client.query('SELECT pg_advisory_unlock(727274)').catch(() => undefined);
    await client.end();
  }
}
