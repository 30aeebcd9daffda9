/**
 * Directory and screen-pop benchmarks (issue 3):
 *  - bulk sync of a 200,000-partner base from 1C through the real HTTP API (batches of 5,000), giving a
 *    directory of 1,000,000 phones (2 company phones + 3 contact persons with a phone each per partner);
 *  - caller lookup over it: warm (identity cache, the path a call takes) and cold (database);
 *  - screen-pop latency: CHANNEL_CREATE written on the ESL socket → event received by an SSE client,
 *    with calls arriving at 100 per second at real-time pace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { loadConfig } from '../src/config';
import { startTelefonist, Telefonist } from '../src/app';
import { Logger } from '../src/log';
import { asOutsideParty, captureRewriter, FreeSwitchSimulator } from '../src/esl/simulator';
import { loadFixtureEvents } from '../src/esl/fixtures';
import { encodeFrame } from '../src/esl/frame';
import { encodeJsonEventBody } from '../src/esl/event';
import { SUBSCRIBED_EVENTS } from '../src/calls/call-service';
import { lookupKey } from '../src/directory/phone';
import { SseClient } from '../test/helpers';

const PARTNERS = Number(process.env.BENCH_PARTNERS ?? 200_000);
const PG_ADMIN = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
export const TOKEN = 'bench-admin-token-0123456789abcdef';

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const pad7 = (n: number) => String(n).padStart(7, '0');

/** The i-th partner's numbers as 1C users type them, and their E.164 forms. */
function partnerPhones(i: number): { company: string[]; contacts: string[]; e164: string[] } {
  const a = pad7(2 * i);
  const b = pad7(2 * i + 1);
  const company = [`8 (495) ${a.slice(0, 3)}-${a.slice(3, 5)}-${a.slice(5)}`, `+7 812 ${b}`];
  const contacts = [0, 1, 2].map((k) => `8-9${16 + k}-${pad7(i)}`);
  return { company, contacts, e164: [`+7495${a}`, `+7812${b}`, ...[0, 1, 2].map((k) => `+79${16 + k}${pad7(i)}`)] };
}

function partner(i: number) {
  const p = partnerPhones(i);
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    name: `ООО «Партнёр ${i}»`,
    inn: String(7700000000 + i),
    phones: p.company,
    contacts: p.contacts.map((phone, k) => ({ id: `00000000-0000-4000-9000-${String(i * 3 + k).padStart(12, '0')}`, name: `Контакт ${i}-${k}`, position: 'менеджер', phones: [phone] })),
  };
}

export async function freshDb(kind: string): Promise<{ url: string; drop: () => Promise<void> }> {
  if (kind !== 'postgres') {
    const dir = mkdtempSync(join(tmpdir(), 'telefonist-bench-'));
    return { url: `file:${join(dir, 'directory.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `tf_bench_dir_${Date.now()}`;
  const admin = new Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    url: PG_ADMIN.replace(/\/[^/]*$/, `/${name}`),
    drop: async () => {
      const a = new Client({ connectionString: PG_ADMIN });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

async function start(url: string, sim: FreeSwitchSimulator): Promise<Telefonist> {
  const config = loadConfig(
    {
      PORT: '0', HOST: '127.0.0.1', DATABASE_URL: url, FREESWITCH_ESL_HOST: '127.0.0.1', FREESWITCH_ESL_PORT: String(sim.port),
      TELEFONIST_ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'error',
    },
    { dotenv: false },
  );
  const app = await startTelefonist(config, new Logger('error'));
  while (app.calls.stats.resyncs === 0) await new Promise((r) => setTimeout(r, 10));
  return app;
}

export async function directoryBench(): Promise<void> {
  const kind = process.env.BENCH_DB === 'postgres' ? 'postgres' : 'sqlite';
  console.log(`\n== Customer directory (${kind}): ${fmt(PARTNERS)} partners, ${fmt(PARTNERS * 5)} phones`);
  const db = await freshDb(kind);
  const sim = new FreeSwitchSimulator();
  await sim.listen(0);
  const app = await start(db.url, sim);
  const base = `http://127.0.0.1:${app.port}/api/v1`;
  try {
    // 1. Bulk sync through HTTP, as 1C's exchange would send it.
    const BATCH = 5000;
    const t0 = performance.now();
    let requestMs = 0;
    let bytes = 0;
    for (let from = 0; from < PARTNERS; from += BATCH) {
      const customers = Array.from({ length: Math.min(BATCH, PARTNERS - from) }, (_, k) => partner(from + k));
      const body = JSON.stringify({ run: 'bench-full', customers });
      bytes += body.length;
      const t = performance.now();
      const res = await fetch(`${base}/directory/sync`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body });
      if (res.status !== 200) throw new Error(`sync failed: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      requestMs += performance.now() - t;
    }
    const finish = await fetch(`${base}/directory/sync/finish`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: '{"run":"bench-full"}' });
    if (finish.status !== 200) throw new Error(`finish failed: ${finish.status}`);
    const syncS = (performance.now() - t0) / 1000;
    const counts = await app.directory.counts();
    console.log(`full sync over HTTP: ${syncS.toFixed(1)} s (${fmt(PARTNERS / syncS)} partners/s, ${(bytes / 1e6).toFixed(0)} MB JSON, ${(requestMs / 1000).toFixed(1)} s in requests)`
      + ` → ${fmt(counts.customers)} customers, ${fmt(counts.contacts)} contacts, ${fmt(counts.phones)} phones`);
    const t1 = performance.now();
    await fetch(`${base}/directory/sync`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ customers: Array.from({ length: BATCH }, (_, k) => partner(k)) }) });
    console.log(`re-sync of ${fmt(BATCH)} unchanged partners (idempotent upsert): ${(performance.now() - t1).toFixed(0)} ms`);

    // 2. Lookups. Numbers arrive from FreeSWITCH as caller ids: 8XXXXXXXXXX, +7XXXXXXXXXX, 7XXXXXXXXXX.
    let seed = 12345;
    const rnd = () => { // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const callerIds = (n: number) => Array.from({ length: n }, () => {
      const i = Math.floor(rnd() * PARTNERS);
      const e = rnd() < 0.9 ? partnerPhones(i).e164[Math.floor(rnd() * 5)] : `+7499${pad7(Math.floor(rnd() * 9_999_999))}`; // 10 % unknown
      const style = Math.floor(rnd() * 3);
      return style === 0 ? `8${e.slice(2)}` : style === 1 ? e : e.slice(1);
    });
    const cache = app.directory.cache;
    cache.flushAll();
    // Cold: each number asked once, so every lookup goes to the database.
    const coldIds = [...new Map(callerIds(22_000).map((raw) => [lookupKey(raw, 'RU'), raw])).values()].slice(0, 20_000);
    const cold: number[] = [];
    for (const raw of coldIds) {
      const t = performance.now();
      await app.directory.identify(lookupKey(raw, 'RU')!);
      cold.push(performance.now() - t);
    }
    cold.sort((a, b) => a - b);
    // Warm: the numbers are in the cache (callers call again); this is the path a call takes (sync hit).
    const warmIds = callerIds(200_000).map((raw) => raw);
    for (const raw of warmIds) await app.directory.identify(lookupKey(raw, 'RU')!);
    const warm: number[] = [];
    const peekOnly: number[] = [];
    let found = 0;
    for (const raw of warmIds) {
      const t = process.hrtime.bigint();
      const key = lookupKey(raw, 'RU')!;
      const hit = cache.peek(key);
      const t2 = process.hrtime.bigint();
      cache.peek(key);
      const t3 = process.hrtime.bigint();
      if (hit && hit.kind !== 'unknown') found++;
      warm.push(Number(t2 - t) / 1000);
      peekOnly.push(Number(t3 - t2) / 1000);
    }
    warm.sort((a, b) => a - b);
    peekOnly.sort((a, b) => a - b);
    if (cache.stats.misses < cold.length) console.log(`!! only ${cache.stats.misses} of ${cold.length} cold lookups missed the cache`);
    const heap = process.memoryUsage().heapUsed / 1e6;
    console.log('lookup                                   p50        p95        p99');
    console.log(`cold (database), ${fmt(cold.length)} numbers    ${(pct(cold, 50) * 1000).toFixed(0).padStart(6)} µs ${(pct(cold, 95) * 1000).toFixed(0).padStart(7)} µs ${(pct(cold, 99) * 1000).toFixed(0).padStart(7)} µs`);
    console.log(`warm (normalise + cache), ${fmt(warm.length)} ${pct(warm, 50).toFixed(1).padStart(7)} µs ${pct(warm, 95).toFixed(1).padStart(7)} µs ${pct(warm, 99).toFixed(1).padStart(7)} µs`);
    console.log(`warm (cache only)                     ${pct(peekOnly, 50).toFixed(1).padStart(7)} µs ${pct(peekOnly, 95).toFixed(1).padStart(7)} µs ${pct(peekOnly, 99).toFixed(1).padStart(7)} µs`);
    console.log(`  ${fmt(cache.size())} numbers cached (${(100 * found / warmIds.length).toFixed(0)} % known), heap ${heap.toFixed(0)} MB`);
  } finally {
    await app.close();
    await sim.close();
    await db.drop();
  }
}

export async function screenPopBench(): Promise<void> {
  const RATE = Number(process.env.BENCH_CALL_RATE ?? 100);
  const SECONDS = Number(process.env.BENCH_POP_SECONDS ?? 10);
  console.log(`\n== Screen pop: CHANNEL_CREATE on the socket → SSE client, ${RATE} calls/s for ${SECONDS} s at real-time pace`);
  const kind = process.env.BENCH_DB === 'postgres' ? 'postgres' : 'sqlite';
  console.log(`   (the server is \`src/main.ts\` in its own process on ${kind}; FreeSWITCH simulator and SSE client here, one clock)`);
  const db = await freshDb(kind);
  const sim = new FreeSwitchSimulator();
  await sim.listen(0);
  const server = await spawnServer(db.url, sim.port);
  const base = server.base;
  try {
    const customers = Array.from({ length: 1000 }, (_, i) => partner(i));
    const synced = await fetch(`${base}/directory/sync`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ customers }) });
    if (synced.status !== 200) throw new Error(`sync failed: ${synced.status}`);
    const wanted = new Set(SUBSCRIBED_EVENTS);
    const capture = loadFixtureEvents('02_inbound_call_bridge').filter((e) => wanted.has(e.event.name));
    const sentAt = new Map<string, number>();
    const incoming: number[] = [];
    const ringing: number[] = [];
    let named = 0;
    const sse = await SseClient.open(`${base}/events/stream?types=call.incoming,call.ringing`, { Authorization: `Bearer ${TOKEN}` });
    sse.onEvent = (e) => {
      const t = sentAt.get(e.data.data.leg);
      if (t === undefined) return;
      (e.event === 'call.incoming' ? incoming : ringing).push(performance.now() - t);
      if (e.data.data.customer) named++;
    };
    const total = RATE * SECONDS;
    let seq = 5_000_000;
    // FreeSWITCH's side is prepared up front (encoded frames), so the load generator costs little here.
    const prepared = Array.from({ length: total }, (_, n) => {
      // Every call from a known customer (the first 1000 partners), caller ids as 8XXXXXXXXXX.
      const number = `8${partnerPhones(n % 1000).e164[0].slice(2)}`;
      const events = asOutsideParty(capture, '1000', number);
      const rw = captureRewriter(events, { coreUuid: sim.coreUuid, nextSeq: () => ++seq }, Date.now() + 5000 + (n * 1000) / RATE);
      return events.map((fe) => {
        const ev = rw(fe.event);
        return {
          at: Number(ev.headers['Event-Date-Timestamp'] ?? 0) / 1000,
          create: ev.name === 'CHANNEL_CREATE' ? String(ev.headers['Unique-ID']) : null,
          frame: encodeFrame([['Content-Length', ''], ['Content-Type', 'text/event-json']], encodeJsonEventBody(ev)),
        };
      });
    });
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const plays: Array<Promise<void>> = [];
    const t0 = performance.now();
    for (let n = 0; n < total; n++) {
      const wait = t0 + (n * 1000) / RATE - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      plays.push(playRealTime(sim, prepared[n], sentAt));
    }
    await Promise.all(plays);
    const deadline = Date.now() + 10_000;
    while ((incoming.length < total || ringing.length < total) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    sse.close();
    const show = (name: string, xs: number[]) => {
      xs.sort((a, b) => a - b);
      console.log(`${name.padEnd(38)} ${fmt(xs.length).padStart(5)}  p50 ${pct(xs, 50).toFixed(2)} ms  p95 ${pct(xs, 95).toFixed(2)} ms  p99 ${pct(xs, 99).toFixed(2)} ms  max ${xs[xs.length - 1].toFixed(2)} ms`);
    };
    show('call.incoming (caller leg created)', incoming);
    show('call.ringing (operator\'s phone rings)', ringing);
    lag.disable();
    console.log(`  ${named} of ${incoming.length + ringing.length} events named the customer; this process's event-loop delay `
      + `(simulator + SSE client) p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(1)} ms`);
  } finally {
    await server.stop();
    await sim.close();
    await db.drop();
  }
}

/** `src/main.ts` as installers run it, in a child process. */
export async function spawnServer(url: string, eslPort: number): Promise<{ base: string; stop: () => Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn(process.execPath, [...(process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', 'src/main.ts'], {
    cwd: join(__dirname, '..'),
    env: {
      ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: url, FREESWITCH_ESL_HOST: '127.0.0.1', FREESWITCH_ESL_PORT: String(eslPort),
      TELEFONIST_ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}/api/v1`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await fetch(`${base}/health`).then((r) => r.json() as Promise<any>, () => null);
    if (ok?.freeswitch?.connected) break;
    if (Date.now() > deadline) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 300)); // the first resync
  return {
    base,
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** Sends one call's frames with their captured spacing, noting when each channel's CHANNEL_CREATE went out. */
async function playRealTime(sim: FreeSwitchSimulator, frames: Array<{ at: number; create: string | null; frame: Buffer }>, sentAt: Map<string, number>): Promise<void> {
  const start = performance.now();
  const first = frames[0].at;
  for (const f of frames) {
    const wait = start + Math.min(10_000, f.at - first) - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (f.create) sentAt.set(f.create, performance.now());
    sim.sendRaw(f.frame);
  }
}
