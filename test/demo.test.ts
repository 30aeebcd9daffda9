/**
 * `npm run demo` still runs (issue 9): src/demo.ts as its own process (under tsx's loader) in a temp
 * working directory (so neither a `.env` nor `./data` of the checkout is touched), on a free port
 * (`PORT=0`: the demo prints the URL it got) with a temp journal, replaying the captures at 20×. Over real
 * HTTP: /health is ok with the simulator's link live, /calls fills with the replayed calls (the first is a
 * demo customer calling in, named from the demo directory), and SIGTERM stops it cleanly (exit 0).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsxNodeArgs, waitFor } from './helpers';

jest.setTimeout(90_000);

const ROOT = join(__dirname, '..');
const DEMO_TOKEN = 'demo-admin-token-change-me-0000'; // the demo's default admin token

describe('npm run demo', () => {
  let dir: string;
  let child: ChildProcess | null = null;
  let out = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'telefonist-demo-'));
  });
  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('starts on a free port, is healthy, fills /calls from the replay, stops on SIGTERM', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: `file:${join(dir, 'demo.db')}`, DEMO_SPEED: '20', LOG_LEVEL: 'warn' };
    delete env.TELEFONIST_ADMIN_TOKEN; // the demo's own default
    const proc = spawn(process.execPath, tsxNodeArgs(join(ROOT, 'src', 'demo.ts')), { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout!.on('data', (d) => (out += String(d)));
    proc.stderr!.on('data', (d) => (out += String(d)));
    let exited: number | null = null;
    const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r((exited = code))));

    await waitFor(() => /API on http:\/\/127\.0\.0\.1:\d+\/api\/v1/.test(out) || exited !== null, 'the demo to print its URL', 60_000);
    const base = out.match(/API on (http:\/\/127\.0\.0\.1:\d+\/api\/v1)/)?.[1];
    expect({ base, exited }).toEqual({ base: expect.any(String), exited: null });
    expect(existsSync(join(dir, 'demo.db'))).toBe(true);

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', freeswitch: { connected: true, state: 'ready', link: 'live' }, database: { ok: true, kind: 'sqlite' } });

    const calls = async () => {
      const r = await fetch(`${base}/calls?limit=50`, { headers: { Authorization: `Bearer ${DEMO_TOKEN}` } });
      expect(r.status).toBe(200);
      return ((await r.json()) as { items: any[] }).items;
    };
    let items: any[] = [];
    await waitFor(async () => (items = await calls()).filter((c) => c.status !== 'ringing' && c.status !== 'active').length >= 3, 'three replayed calls in the journal', 45_000);
    // The first replay is capture 02 with a demo customer calling 1001: named from the demo directory.
    const first = items[items.length - 1];
    expect(first).toMatchObject({ direction: 'inbound', status: 'answered', externalNumber: '84951234567', customer: { id: 'demo-0001-romashka', name: 'ООО «Ромашка»' } });
    expect(new Set(items.map((c) => c.id)).size).toBe(items.length);

    proc.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(out).not.toMatch(/demo failed|Error:/);
  });
});
