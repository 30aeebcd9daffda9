/* Writes prisma/postgres/schema.prisma from the SQLite source schema (one schema cannot serve both). */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');
const src = readFileSync(join(root, 'prisma/schema.prisma'), 'utf8');
const out = src
  .replace('output       = "../src/generated/sqlite"', 'output       = "../../src/generated/postgres"')
  .replace(/provider = "sqlite"\n  url      = "file:.\/dev.db"/, 'provider = "postgresql"\n  url      = "postgresql://localhost/telefonist"')
  .replace(/^\/\/ Telefonist domain schema\.[^\n]*\n/m, '// GENERATED from prisma/schema.prisma by scripts/prisma-postgres-schema.ts: do not edit.\n');
if (out === src || !out.includes('postgresql')) throw new Error('schema rewrite failed');
mkdirSync(join(root, 'prisma/postgres'), { recursive: true });
writeFileSync(join(root, 'prisma/postgres/schema.prisma'), out);
console.log('wrote prisma/postgres/schema.prisma');
