/**
 * Action latency: HTTP request → ESL command on FreeSWITCH's socket (issue 11), p50 / p99 per action.
 * The server (`startTelefonist`, SQLite), the FreeSWITCH simulator and the HTTP client share this process:
 * the figure is what the request costs us (validation, auth, call lookup, command building, audit write
 * order) plus one loopback HTTP and one loopback ESL hop. The clock stops when the simulator has read the
 * command line (`npm run bench -- actions`; BENCH_ACTIONS=N rounds, default 300).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config';
import { startTelefonist } from '../src/app';
import { FreeSwitchSimulator } from '../src/esl/simulator';
import { loadFixtureEvents } from '../src/esl/fixtures';
import { Logger } from '../src/log';
import { registrationEvent } from '../src/esl/sim-registrations';

const TOKEN = 'bench-admin-token-0123456789abcdef';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export async function actionsBench(): Promise<void> {
  const ROUNDS = Number(process.env.BENCH_ACTIONS ?? 300);
  console.log(`\n== Call actions: HTTP request → ESL command on the socket (${ROUNDS} of each, SQLite, one process)`);
  const dir = mkdtempSync(join(tmpdir(), 'telefonist-bench-actions-'));
  const sim = new FreeSwitchSimulator();
  await sim.listen(0);
  sim.actions.ringMs = 1;
  for (const ext of ['1001', '1002', '1009']) sim.actions.phone(ext, 'auto');
  sim.actions.phone('1003', 'manual');
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', DATABASE_URL: `file:${join(dir, 'bench.db')}`, FREESWITCH_ESL_PORT: String(sim.port),
    TELEFONIST_ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'error',
  }, { dotenv: false });
  const app = await startTelefonist(config, new Logger('error'), { supervisorRights: () => true });
  const base = `http://127.0.0.1:${app.port}/api/v1`;
  while (app.calls.stats.resyncs === 0) await new Promise((r) => setTimeout(r, 10));
  // The phones register, as on a real FreeSWITCH (click-to-call and supervision refuse an extension that is
  // neither a configured employee nor registered).
  while (app.presence.stats.snapshots === 0) await new Promise((r) => setTimeout(r, 10));
  const phones = ['1001', '1002', '1003', '1009'];
  for (const ext of phones) sim.emitEvent(registrationEvent('register', { ext, callId: `desk@${ext}`, expires: 3600 }));
  while (!phones.every((ext) => app.presence.get(ext).registrations > 0)) await new Promise((r) => setTimeout(r, 10));
  // When each command line reached the simulator.
  const arrived: Array<{ line: string; at: number }> = [];
  const push = sim.commands.push.bind(sim.commands);
  sim.commands.push = (...lines: string[]) => {
    const at = performance.now();
    for (const line of lines) arrived.push({ line, at });
    return push(...lines);
  };
  const post = (path: string, body: unknown, method = 'POST') =>
    fetch(`${base}${path}`, { method, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const events = loadFixtureEvents('09_did_inbound_answered');
  const talking = events.findIndex((e) => e.event.name === 'CHANNEL_BRIDGE') + 1;
  const settle = async () => {
    await sim.actions.idle();
    let last = -1;
    while (last !== app.calls.esl.stats.events) {
      last = app.calls.esl.stats.events;
      await new Promise((r) => setTimeout(r, 5));
    }
    await app.calls.drained();
  };
  const newCall = async () => {
    const before = new Set(sim.actions.legsOf('1001').map((l) => l.uuid));
    await sim.play('09_did_inbound_answered', { rewrite: true, limit: talking });
    await settle();
    const agent = sim.actions.legsOf('1001').find((l) => !before.has(l.uuid))!;
    return { callId: agent.originator!, agent: agent.uuid };
  };
  /** Time from the request to the first command line starting with `prefix` after it. */
  const timed = async (prefix: string, send: () => Promise<Response>): Promise<number> => {
    const from = arrived.length;
    const t0 = performance.now();
    const res = await send();
    if (res.status >= 300) throw new Error(`${prefix}: HTTP ${res.status} ${await res.text()}`);
    const hit = arrived.slice(from).find((a) => a.line.startsWith(prefix));
    if (!hit) throw new Error(`no ${prefix} on the socket`);
    return hit.at - t0;
  };
  const results: Array<[string, number[]]> = [];
  try {
    const hold: number[] = [];
    const resume: number[] = [];
    const call = await newCall();
    for (let i = 0; i < ROUNDS; i++) {
      hold.push(await timed('api uuid_hold ', () => post(`/calls/${call.callId}/hold`, {})));
      await settle();
      resume.push(await timed('api uuid_hold off ', () => post(`/calls/${call.callId}/resume`, {})));
      await settle();
    }
    results.push(['hold (uuid_hold)', hold], ['resume (uuid_hold off)', resume]);
    const blind: number[] = [];
    const attended: number[] = [];
    const cancel: number[] = [];
    const supervise: number[] = [];
    const hangup: number[] = [];
    const c2c: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const c = await newCall();
      supervise.push(await timed('bgapi originate ', () => post(`/calls/${c.callId}/supervision`, { supervisor: '1009', mode: 'listen' })));
      await settle();
      let tr: Response | undefined;
      attended.push(await timed('api uuid_broadcast ', async () => (tr = await post('/transfers', { callId: c.callId, initiator: '1001', target: '1003' }))));
      await settle();
      const { id } = (await tr!.json()) as { id: string };
      cancel.push(await timed('api uuid_kill ', () => post(`/transfers/${id}`, {}, 'DELETE')));
      await settle();
      blind.push(await timed('api uuid_transfer ', () => post('/transfers', { callId: c.callId, initiator: '1001', target: '1002', flow: 'blind' })));
      await settle();
      hangup.push(await timed('api uuid_kill ', () => post(`/calls/${c.callId}/hangup`, {})));
      await settle();
      c2c.push(await timed('bgapi originate ', () => post('/calls', { employee: '1002', number: '+79161234567' })));
      await settle();
      for (const l of sim.actions.legsOf('1002')) await sim.actions.hangup(l.uuid);
      await settle();
    }
    results.push(
      ['blind transfer (setvar + uuid_transfer)', blind], ['attended start (setvar + uuid_broadcast)', attended],
      ['attended cancel (uuid_kill)', cancel], ['supervision (bgapi originate)', supervise],
      ['hang up call (uuid_kill)', hangup], ['click-to-call (bgapi originate)', c2c],
    );
    for (const [name, xs] of results) {
      console.log(`   ${name.padEnd(42)} p50 ${pct(xs, 50).toFixed(2)} ms   p99 ${pct(xs, 99).toFixed(2)} ms   (n=${xs.length})`);
    }
  } finally {
    await app.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
