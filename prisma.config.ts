import path from 'node:path';
import type { PrismaConfig } from 'prisma';

// Prisma 6.19.3 offline (see docs/decisions.md): the JS schema engine through driver adapters, and the
// engine-path variables pointed at this file so the CLI never tries to download a native engine (a real
// use of them fails loudly instead of silently).
process.env.PRISMA_QUERY_ENGINE_LIBRARY ??= __filename;
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= __filename;
process.env.CHECKPOINT_DISABLE ??= '1';
process.env.PRISMA_HIDE_UPDATE_MESSAGE ??= '1';

const url = process.env.DATABASE_URL ?? 'file:./data/telefonist.db';
const isPg = /^postgres(ql)?:\/\//.test(url);

export default {
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(__dirname, isPg ? 'prisma/postgres/schema.prisma' : 'prisma/schema.prisma'),
  async adapter() {
    if (isPg) {
      const { PrismaPg } = await import('@prisma/adapter-pg');
      return new PrismaPg({ connectionString: url });
    }
    const { PrismaBetterSQLite3 } = await import('@prisma/adapter-better-sqlite3');
    return new PrismaBetterSQLite3({ url: url.replace(/^file:/, '') });
  },
} satisfies PrismaConfig;
