import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { loadConfig } from '../src/config';
import { StartOptions, startTelefonist, Telefonist } from '../src/app';
import { FreeSwitchSimulator, PlayOptions } from '../src/esl/simulator';
import { Logger } from '../src/log';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

export type DbKind = 'sqlite' | 'postgres';
export const DB_KINDS: DbKind[] = ['sqlite', 'postgres'];

/** A fresh, empty database of the given kind; `drop` removes it. */
export async function freshDatabase(kind: DbKind): Promise<{ url: string; drop: () => Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'telefonist-test-'));
    return { url: `file:${join(dir, 'journal.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `tf_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = PG_ADMIN_URL.replace(/\/[^/?]*(\?.*)?$/, `/${name}$1`).replace('$1', '');
  return {
    url,
    drop: async () => {
      const c = new Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface Stack {
  sim: FreeSwitchSimulator;
  app: Telefonist;
  base: string;
  dbUrl: string;
  /** Stops the server (not the simulator or database) and starts a new one on the same database. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(
  kind: DbKind,
  opts: { dbUrl?: string; sim?: FreeSwitchSimulator; password?: string; env?: Record<string, string>; start?: StartOptions } = {},
): Promise<Stack> {
  const sim = opts.sim ?? new FreeSwitchSimulator('ClueCon');
  if (!sim.port) await sim.listen(0);
  const db = opts.dbUrl ? { url: opts.dbUrl, drop: async () => undefined } : await freshDatabase(kind);
  const config = loadConfig(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      FREESWITCH_ESL_HOST: '127.0.0.1',
      FREESWITCH_ESL_PORT: String(sim.port),
      FREESWITCH_ESL_PASSWORD: opts.password ?? 'ClueCon',
      TELEFONIST_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: 'error',
      ...opts.env,
    },
    { dotenv: false },
  );
  const boot = async () => {
    const app = await startTelefonist(config, new Logger('error'), opts.start);
    if (!opts.password || opts.password === 'ClueCon') await waitFor(() => app.calls.stats.resyncs > 0, 'first resync');
    return app;
  };
  let first: Telefonist;
  try {
    first = await boot();
  } catch (e) {
    if (!opts.sim) await sim.close();
    await db.drop();
    throw e;
  }
  const stack: Stack = {
    sim,
    app: first,
    base: '',
    dbUrl: db.url,
    async restart() {
      await stack.app.close();
      stack.app = await boot();
      stack.base = `http://127.0.0.1:${stack.app.port}/api/v1`;
    },
    async stop() {
      await stack.app.close();
      if (!opts.sim) await sim.close();
      await db.drop();
    },
  };
  stack.base = `http://127.0.0.1:${stack.app.port}/api/v1`;
  return stack;
}

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Plays a capture through the simulator's socket and waits until the journal has committed it. */
export async function playAndSettle(stack: Stack, scenario: string, opts: PlayOptions = {}): Promise<void> {
  await stack.sim.play(scenario, opts);
  await settle(stack);
}

/** Waits until no more events arrive on the socket and the journal has committed what came. */
export async function settle(stack: Stack): Promise<void> {
  let last = -1;
  while (last !== stack.app.calls.esl.stats.events) {
    last = stack.app.calls.esl.stats.events;
    await new Promise((r) => setTimeout(r, 40));
  }
  await stack.app.calls.drained();
  await stack.app.calls.writer.idle();
  await stack.app.events.idle();
}

export async function api(stack: Stack, path: string, init: RequestInit & { token?: string | null } = {}): Promise<{ status: number; body: any }> {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? ADMIN_TOKEN : init.token;
  if (token) headers.set('Authorization', `Bearer ${token}`);
  const res = await fetch(`${stack.base}${path}`, { ...init, headers });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, body };
}
