/*
 * Writes the next migration for both databases from the change between the schema as of the last
 * migration (prisma/migrations/schema.snapshot.prisma) and prisma/schema.prisma:
 *   npx tsx scripts/db-new-migration.ts <name>
 * Prisma's `migrate diff` needs no database; src/db/migrate.ts applies the files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');
const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: db-new-migration <snake_case_name>');
  process.exit(2);
}
execFileSync('npx', ['tsx', join(root, 'scripts/prisma-postgres-schema.ts')], { stdio: 'inherit' });
const snapshot = join(root, 'prisma/migrations/schema.snapshot.prisma');
const providers = [
  { dir: 'sqlite', schema: 'prisma/schema.prisma', from: snapshot, sub: (s: string) => s },
  {
    dir: 'postgres',
    schema: 'prisma/postgres/schema.prisma',
    from: snapshot,
    sub: (s: string) => s.replace(/provider = "sqlite"\n  url      = "[^"]*"/, 'provider = "postgresql"\n  url      = "postgresql://localhost/telefonist"'),
  },
];
for (const p of providers) {
  const dir = join(root, 'prisma/migrations', p.dir);
  mkdirSync(dir, { recursive: true });
  // The next number after the highest one (not the count: a number may be missing, as 0013 is).
  const n = Math.max(0, ...readdirSync(dir).filter((f) => f.endsWith('.sql')).map((f) => parseInt(f, 10) || 0)) + 1;
  const args = ['prisma', 'migrate', 'diff', '--script', '--to-schema-datamodel', join(root, p.schema)];
  let tmp: string | undefined;
  if (existsSync(p.from)) {
    tmp = join(root, `prisma/migrations/.from-${p.dir}.prisma`);
    writeFileSync(tmp, p.sub(readFileSync(p.from, 'utf8')));
    args.push('--from-schema-datamodel', tmp);
  } else {
    args.push('--from-empty');
  }
    const env = {
    ...process.env,
    DATABASE_URL: p.dir === 'postgres' ? 'postgresql://postgres@127.0.0.1:5432/test' : `file:${join(root, 'data/.migrate-diff.db')}`,
  };
  mkdirSync(join(root, 'data'), { recursive: true });
  const sql = execFileSync('npx', args, { cwd: root, encoding: 'utf8', env });
  if (tmp) require('node:fs').unlinkSync(tmp);
  const file = join(dir, `${String(n).padStart(4, '0')}_${name}.sql`);
  writeFileSync(file, sql);
  console.log(`wrote ${file}`);
}
copyFileSync(join(root, 'prisma/schema.prisma'), snapshot);
