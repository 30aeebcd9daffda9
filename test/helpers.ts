import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { loadConfig } from '../src/config';
import { StartOptions, startTelefonist, Telefonist } from '../src/app';
import { FreeSwitchSimulator, PlayOptions } from '../src/esl/simulator';
import { registrationEvent } from '../src/esl/sim-registrations';
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
  /** Stops the server only (a crash or an upgrade: FreeSWITCH and the database go on). */
  down(): Promise<void>;
  /** Starts the server again after `down()`, on the same database; waits for its first resync. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(
  kind: DbKind,
  opts: { dbUrl?: string; sim?: FreeSwitchSimulator; password?: string; env?: Record<string, string>; start?: StartOptions; log?: Logger } = {},
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
    const app = await startTelefonist(config, opts.log ?? new Logger('error'), opts.start);
    if (!opts.password || opts.password === 'ClueCon') await waitFor(() => app.calls.stats.resyncs > 0, 'first resync', 30_000);
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
    async down() {
      await stack.app.close();
    },
    async up() {
      stack.app = await boot();
      stack.base = `http://127.0.0.1:${stack.app.port}/api/v1`;
    },
    async stop() {
      await stack.app.close().catch(() => undefined);
      if (!opts.sim) await sim.close();
      await db.drop();
    },
  };
  stack.base = `http://127.0.0.1:${stack.app.port}/api/v1`;
  return stack;
}

/**
 * The phones register (sofia::register), as they would on a real FreeSWITCH: click-to-call refuses an extension
 * that is neither a configured employee nor registered (422 unknown_employee).
 */
export async function registerPhones(stack: Stack, ...exts: string[]): Promise<void> {
  await waitFor(() => stack.app.presence.stats.snapshots > 0, 'first registrations snapshot');
  for (const ext of exts) stack.sim.emitEvent(registrationEvent('register', { ext, callId: `desk@${ext}`, expires: 3600 }));
  await waitFor(() => exts.every((ext) => stack.app.presence.get(ext).registrations > 0), `${exts.join(', ')} registered`);
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

/** A real SSE client: reads the stream as it arrives and parses it the way EventSource does. */
export class SseClient {
  readonly events: Array<{ id: string; event: string; data: any }> = [];
  /** Called as each event arrives (benchmarks time it). */
  onEvent: ((e: { id: string; event: string; data: any }) => void) | null = null;
  private readonly ac = new AbortController();
  status = 0;
  contentType = '';
  private constructor() {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    const res = await fetch(url, { headers, signal: c.ac.signal });
    c.status = res.status;
    c.contentType = res.headers.get('content-type') ?? '';
    if (res.body) void c.read(res.body);
    return c;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of body as any as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const msg: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (!line || line.startsWith(':')) continue;
            const at = line.indexOf(':');
            const k = at < 0 ? line : line.slice(0, at);
            const v = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
            msg[k] = msg[k] === undefined ? v : `${msg[k]}\n${v}`;
          }
          if (msg.data !== undefined) {
            const e = { id: msg.id, event: msg.event ?? 'message', data: JSON.parse(msg.data) };
            this.events.push(e);
            this.onEvent?.(e);
          }
        }
      }
    } catch {
      // aborted
    }
  }

  close(): void {
    this.ac.abort();
  }
}

/** A real HTTP receiver for webhooks; `answer` decides the status of each delivery (0: drop the connection). */
export async function webhookReceiver(answer: (n: number) => number = () => 200): Promise<{
  url: string;
  received: Array<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>;
  close: () => Promise<void>;
}> {
  const { createServer } = await import('node:http');
  const received: Array<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> = [];
  let n = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const status = answer(n++);
      received.push({ status, headers: req.headers, body });
      if (status === 0) {
        req.socket.destroy(); // the receiver drops the connection
        return;
      }
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'not now');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hs/telefonist/events`,
    received,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** `npm start` as its own process (see startServerProcess): kill it for real, read its output. */
export interface ServerProcess {
  proc: ChildProcess;
  base: string;
  /** stdout and stderr so far. */
  output(): string;
  /** A crash: SIGKILL, no shutdown code runs; resolves when the process is gone. */
  crash(): Promise<void>;
  /** SIGTERM (a clean stop); resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Node arguments that run a TypeScript file in this very process under tsx's loader (what `tsx file.ts`
 * runs in the child it spawns): a signal sent to the spawned process reaches the program itself, and a
 * SIGKILL leaves no orphan behind.
 */
export function tsxNodeArgs(script: string): string[] {
  const tsx = join(__dirname, '..', 'node_modules', 'tsx', 'dist');
  return ['--require', join(tsx, 'preflight.cjs'), '--import', pathToFileURL(join(tsx, 'loader.mjs')).href, script];
}

/**
 * Runs the server (src/main.ts under tsx, as `npm start` does) as a child process with `env` on top of a
 * test base (free port, 127.0.0.1, the test admin token, info log), in `cwd` (a temp dir, so no `.env` of
 * the checkout is read); resolves once it listens and has resynced with its FreeSWITCH (/health).
 */
export async function startServerProcess(env: Record<string, string>, cwd: string, timeoutMs = 60_000): Promise<ServerProcess> {
  const proc = spawn(process.execPath, tsxNodeArgs(join(__dirname, '..', 'src', 'main.ts')), {
    cwd,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', TELEFONIST_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const gone = () => proc.exitCode !== null || proc.signalCode !== null;
  const server: ServerProcess = {
    proc,
    base: '',
    output: () => out,
    async crash() {
      if (!gone()) proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!gone()) proc.kill('SIGTERM');
      return exited;
    },
  };
  try {
    await waitFor(() => gone() || /API listening \{"url":"http:\/\/127\.0\.0\.1:\d+\/api\/v1"/.test(out), 'the server to listen', timeoutMs);
    if (gone()) throw new Error(`the server exited: ${out}`);
    server.base = out.match(/API listening \{"url":"(http:\/\/127\.0\.0\.1:\d+\/api\/v1)"/)![1];
    await waitFor(async () => {
      const h = (await (await fetch(`${server.base}/health`)).json()) as { freeswitch?: { lastResyncAt?: string | null } };
      return !!h.freeswitch?.lastResyncAt;
    }, 'the server\'s first resync', timeoutMs);
  } catch (e) {
    await server.crash();
    throw e;
  }
  return server;
}
