#!/usr/bin/env node
/* Runs after `npm install`: generates both Prisma clients (SQLite and PostgreSQL) offline. */
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');
const fs = require('node:fs');

const root = join(__dirname, '..');
const env = {
  ...process.env,
  PRISMA_QUERY_ENGINE_LIBRARY: join(root, 'prisma.config.ts'),
  PRISMA_SCHEMA_ENGINE_BINARY: join(root, 'prisma.config.ts'),
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};
const prisma = join(root, 'node_modules', 'prisma', 'build', 'index.js');
if (!fs.existsSync(prisma)) {
  console.log('postinstall: prisma CLI not installed (production install?), skipping client generation');
  process.exit(0);
}
for (const schema of ['prisma/schema.prisma', 'prisma/postgres/schema.prisma']) {
  execFileSync(process.execPath, [prisma, 'generate', '--schema', schema], { cwd: root, env, stdio: 'inherit' });
}
// better-sqlite3 is built by its own install script (allowed in package.json "allowScripts");
// check that it loads, so a broken native build fails the install rather than the first start.
require(join(root, 'node_modules', 'better-sqlite3'))(':memory:').close();
