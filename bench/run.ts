/**
 * `npm run bench`: prints
 *  1. ESL ingest throughput, events/s: real capture events (fresh ids per round) as bytes on a real socket,
 *     through framing → call model → durable journal (SQLite), and the parse-only rates of our parser and
 *     modesl's on the same bytes;
 *  2. journal query latency: p50/p95/p99 of filtered journal pages over 1,000,000 generated calls;
 *  3. customer directory: 200,000-partner bulk sync over HTTP, caller lookup p99 warm/cold over 1,000,000 phones;
 *  4. screen pop: CHANNEL_CREATE on the socket → SSE client at 100 calls/s.
 *  5. transcription: our audio pipeline in front of the speech engine, as a multiple of real time.
 * `npm run bench -- ingest|query|directory|screenpop|transcription|presence|actions|banner|panel|chats|invoices|whatsapp` runs one part; `npm run bench -- chaos
 * [--calls N --cuts N --seed N --speed X]` runs the chaos run of issue 9 (bench/chaos.ts; not part of the full run).
 * Sizes: BENCH_ROUNDS (capture rounds, default 60), BENCH_CALLS (default 1000000), BENCH_DB=postgres to
 * run the query part on PostgreSQL (127.0.0.1:5432) instead of SQLite.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { FrameParser, encodeFrame } from '../src/esl/frame';
import { decodeEvent, encodeJsonEventBody, isEventFrame } from '../src/esl/event';
import { CALL_SCENARIOS, loadFixtureEvents } from '../src/esl/fixtures';
import { captureRewriter, FreeSwitchSimulator } from '../src/esl/simulator';
import { EslConnection } from '../src/esl/connection';
import { CallTracker } from '../src/calls/tracker';
import { CallService, skipUninterestingEvent, SUBSCRIBED_EVENTS } from '../src/calls/call-service';
import { Db } from '../src/db/database';
import { migrate } from '../src/db/migrate';
import { callNumbers, JournalWriter, searchText } from '../src/journal/journal-writer';
import { CallPageRequest, JournalReader } from '../src/journal/journal-reader';
import { directoryBench, screenPopBench } from './directory';
import { transcriptionBench } from './transcription';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 60);
const CALLS = Number(process.env.BENCH_CALLS ?? 1_000_000);
const PG_ADMIN = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function buildStream(): { stream: Buffer; events: number; calls: number } {
  const wanted = new Set(SUBSCRIBED_EVENTS);
  const scenarios = CALL_SCENARIOS.map((s) => loadFixtureEvents(s).filter((e) => wanted.has(e.event.name)));
  let seq = 1;
  const core = { coreUuid: randomUUID(), nextSeq: () => seq++ };
  const chunks: Buffer[] = [];
  let events = 0;
  const start = Date.now() - ROUNDS * 60_000;
  for (let r = 0; r < ROUNDS; r++) {
    scenarios.forEach((evs, i) => {
      const rw = captureRewriter(evs, core, start + r * 60_000 + i * 5_000);
      for (const e of evs) {
        chunks.push(encodeFrame([['Content-Length', ''], ['Content-Type', 'text/event-json']], encodeJsonEventBody(rw(e.event))));
        events++;
      }
    });
  }
  return { stream: Buffer.concat(chunks), events, calls: ROUNDS * 10 };
}

function chunked(stream: Buffer, size = 65_536): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i += size) out.push(stream.subarray(i, i + size));
  return out;
}

async function ingestBench(): Promise<void> {
  console.log(`\n== ESL ingest (${ROUNDS} rounds of the ${CALL_SCENARIOS.length} captured scenarios, subscribed events only)`);
  const { stream, events, calls } = buildStream();
  console.log(`stream: ${fmt(events)} events, ${fmt(calls)} calls, ${(stream.length / 1e6).toFixed(1)} MB of JSON events`);
  const chunks = chunked(stream);

  // Parse + decode only: ours.
  let t0 = performance.now();
  let n = 0;
  const p = new FrameParser();
  for (const c of chunks) for (const f of p.push(c)) if (isEventFrame(f)) { decodeEvent(f); n++; }
  let dt = (performance.now() - t0) / 1000;
  console.log(`parse+decode (ours):          ${fmt(n / dt)} events/s`);

  // modesl's parser on the same chunks.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ModeslParser = require('modesl/lib/esl/Parser.js');
  const sock = new EventEmitter();
  const mp = new ModeslParser(sock);
  let m = 0;
  mp.on('esl::event::**', () => m++);
  t0 = performance.now();
  for (const c of chunks) sock.emit('data', c);
  dt = (performance.now() - t0) / 1000;
  console.log(`parse+decode (modesl 1.2.1):  ${fmt(m / dt)} events/s`);

  // Parse + call model.
  const tracker = new CallTracker();
  t0 = performance.now();
  const p2 = new FrameParser();
  for (const c of chunks) for (const f of p2.push(c)) if (isEventFrame(f) && !skipUninterestingEvent(f.body ?? '')) tracker.apply(decodeEvent(f));
  dt = (performance.now() - t0) / 1000;
  console.log(`parse+skip+decode+call model: ${fmt(events / dt)} events/s`);

  // The whole path: socket → connection → tracker → journal (SQLite, committed).
  const dir = mkdtempSync(join(tmpdir(), 'telefonist-bench-'));
  const url = `file:${join(dir, 'ingest.db')}`;
  const { db } = await Db.open(url);
  const sim = new FreeSwitchSimulator();
  await sim.listen(0);
  const esl = new EslConnection({ host: '127.0.0.1', port: sim.port, password: 'ClueCon', events: SUBSCRIBED_EVENTS, skipEvent: skipUninterestingEvent });
  const writer = new JournalWriter(db);
  const service = new CallService(esl, new CallTracker(), writer, new JournalReader(db));
  await service.start();
  await new Promise((r) => service.once('resynced', r));
  const before = esl.stats.events;
  t0 = performance.now();
  for (const c of chunks) sim.sendRaw(c);
  while (esl.stats.events - before < events) await new Promise((r) => setTimeout(r, 2));
  await writer.idle();
  dt = (performance.now() - t0) / 1000;
  const stored = await db.query<{ n: bigint }>('SELECT COUNT(*) AS n FROM calls');
  const timeline = await db.query<{ n: bigint }>('SELECT COUNT(*) AS n FROM call_events');
  console.log(
    `socket → call model → journal: ${fmt(events / dt)} events/s, ${fmt(calls / dt)} calls/s ` +
      `(${fmt(events)} events in ${dt.toFixed(2)} s; journal: ${Number(stored[0].n)} calls, ${Number(timeline[0].n)} timeline entries)`,
  );
  console.log(`  journal writer: ${writer.stats.flushes} transactions, ${writer.stats.commitMs.toFixed(0)} ms committing, ${fmt(writer.stats.batches)} tracker batches`);
  if (Number(stored[0].n) !== calls) console.log(`!! expected ${calls} calls in the journal`);
  await service.stop();
  await sim.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}

// ---- journal queries -------------------------------------------------------------------------------

const EXTENSIONS = Array.from({ length: 200 }, (_, i) => String(1000 + i));
const STATUSES = ['answered', 'answered', 'answered', 'answered', 'missed', 'abandoned', 'busy', 'no_answer', 'failed'];
const DIRECTIONS = ['inbound', 'inbound', 'outbound', 'internal'];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function* generatedCalls(count: number) {
  const r = rng(42);
  const end = Date.now();
  const span = 365 * 86_400_000;
  for (let i = 0; i < count; i++) {
    const started = Math.floor(end - span + (span * i) / count + r() * 1000);
    const direction = DIRECTIONS[Math.floor(r() * DIRECTIONS.length)];
    const status = STATUSES[Math.floor(r() * STATUSES.length)];
    const answered = status === 'answered';
    const ring = Math.floor(r() * 20_000);
    const talk = answered ? Math.floor(r() * 600_000) : 0;
    const ext = '7' + String(9000000000 + Math.floor(r() * 999999999)).slice(0, 10);
    const emps = [EXTENSIONS[Math.floor(r() * 200)]];
    if (r() < 0.3) emps.push(EXTENSIONS[Math.floor(r() * 200)]);
    const unique = [...new Set(emps)].sort();
    yield {
      id: `bench-${String(i).padStart(8, '0')}`,
      direction,
      status,
      started,
      answered: answered ? started + ring : null,
      ended: started + ring + talk,
      ring,
      talk: answered ? talk : null,
      external: direction === 'internal' ? null : ext,
      caller: direction === 'inbound' ? ext : unique[0],
      name: r() < 0.5 ? `Клиент ${i % 5000}` : null,
      dest: direction === 'inbound' ? unique[0] : ext,
      cause: answered ? 'NORMAL_CLEARING' : status === 'busy' ? 'USER_BUSY' : 'NO_ANSWER',
      employees: unique,
      rec: answered && r() < 0.6,
    };
  }
}

/** The number and search columns exactly as the journal writer stores them (phone forms included). */
function stored(c: GeneratedCall) {
  const n = callNumbers({ direction: c.direction, externalNumber: c.external, callerNumber: c.caller, destinationNumber: c.dest }, 'RU');
  const search = searchText({ id: c.id, callerName: c.name ?? undefined, hangupCause: c.cause, status: c.status, direction: c.direction }, c.employees, n);
  return { ...n, search, externalE164: n.externalE164 ?? null, callerE164: n.callerE164 ?? null, destinationE164: n.destinationE164 ?? null };
}
type GeneratedCall = ReturnType<typeof generatedCalls> extends Generator<infer T> ? T : never;

async function fillSqlite(url: string): Promise<void> {
  await migrate(url);
  const db = new Database(url.replace(/^file:/, ''));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const ins = db.prepare(`INSERT INTO calls (id, direction, status, started_at, answered_at, ended_at, ring_ms, talk_ms, duration_ms,
    external_number, caller_number, caller_name, destination_number, hangup_cause, employee_list, has_recording, final, numbers, search, updated_at,
    external_e164, caller_e164, destination_e164, numbers_norm)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)`);
  const emp = db.prepare('INSERT INTO call_employees (call_id, extension, role, answered, started_at) VALUES (?, ?, ?, ?, ?)');
  let batch: ReturnType<typeof generatedCalls> extends Generator<infer T> ? T[] : never = [];
  const flush = db.transaction((rows: typeof batch) => {
    for (const c of rows) {
      const n = stored(c);
      ins.run(c.id, c.direction, c.status, c.started, c.answered, c.ended, c.ring, c.talk, c.ended - c.started, c.external, c.caller, c.name, c.dest,
        c.cause, ` ${c.employees.join(' ')} `, c.rec ? 1 : 0, n.numbers, n.search, Date.now(), n.externalE164, n.callerE164, n.destinationE164, n.norm);
      for (const e of c.employees) emp.run(c.id, e, 'callee', c.status === 'answered' ? 1 : 0, c.started);
    }
  });
  for (const c of generatedCalls(CALLS)) {
    batch.push(c);
    if (batch.length === 20_000) {
      flush(batch);
      batch = [];
    }
  }
  flush(batch);
  db.exec('ANALYZE');
  db.close();
}

async function fillPostgres(url: string): Promise<void> {
  await migrate(url);
  const c = new Client({ connectionString: url });
  await c.connect();
  let rows: string[] = [];
  let emps: string[] = [];
  const q = (v: unknown) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`);
  const flush = async () => {
    if (!rows.length) return;
    await c.query(`INSERT INTO calls (id, direction, status, started_at, answered_at, ended_at, ring_ms, talk_ms, duration_ms, external_number,
      caller_number, caller_name, destination_number, hangup_cause, employee_list, has_recording, final, numbers, search, updated_at,
      external_e164, caller_e164, destination_e164, numbers_norm) VALUES ${rows.join(',')}`);
    await c.query(`INSERT INTO call_employees (call_id, extension, role, answered, started_at) VALUES ${emps.join(',')}`);
    rows = [];
    emps = [];
  };
  for (const x of generatedCalls(CALLS)) {
    const n = stored(x);
    rows.push(`(${[x.id, x.direction, x.status, x.started, x.answered, x.ended, x.ring, x.talk, x.ended - x.started, x.external, x.caller, x.name, x.dest, x.cause, ` ${x.employees.join(' ')} `].map(q).join(',')},${x.rec},true,${q(n.numbers)},${q(n.search)},${Date.now()},${[n.externalE164, n.callerE164, n.destinationE164, n.norm].map(q).join(',')})`);
    for (const e of x.employees) emps.push(`(${q(x.id)},${q(e)},'callee',${x.status === 'answered'},${x.started})`);
    if (rows.length === 5000) await flush();
  }
  await flush();
  // VACUUM as well: it merges the GIN pending lists of the trigram indexes, as autovacuum does on a live
  // database; left unmerged, their length at the moment the fill stops decides the number-filter figures.
  await c.query('VACUUM ANALYZE');
  await c.end();
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function queryBench(): Promise<void> {
  const kind = process.env.BENCH_DB === 'postgres' ? 'postgres' : 'sqlite';
  console.log(`\n== Journal queries over ${fmt(CALLS)} generated calls (${kind})`);
  let url: string;
  let cleanup: () => Promise<void>;
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'telefonist-bench-'));
    url = `file:${join(dir, 'journal.db')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const name = `tf_bench_${Date.now()}`;
    const admin = new Client({ connectionString: PG_ADMIN });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    url = PG_ADMIN.replace(/\/[^/]*$/, `/${name}`);
    cleanup = async () => {
      const a = new Client({ connectionString: PG_ADMIN });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    };
  }
  let t0 = performance.now();
  if (kind === 'sqlite') await fillSqlite(url);
  else await fillPostgres(url);
  console.log(`generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const { db } = await Db.open(url);
  const reader = new JournalReader(db);
  const r = rng(7);
  const now = Date.now();
  const day = 86_400_000;
  const page = (filter: CallPageRequest['filter'], extra: Partial<CallPageRequest> = {}): CallPageRequest => ({ filter, sort: '-startedAt', limit: 50, ...extra });
  const kinds: Record<string, () => CallPageRequest> = {
    'latest page': () => page({}),
    'last 7 days, inbound, missed': () => page({ from: new Date(now - 7 * day), direction: ['inbound'], status: ['missed'] }),
    'employee, this month': () => page({ employee: EXTENSIONS[Math.floor(r() * 200)], from: new Date(now - 30 * day) }),
    'employee, any time': () => page({ employee: EXTENSIONS[Math.floor(r() * 200)] }),
    'number, 4 digits': () => page({ number: String(1000 + Math.floor(r() * 9000)) }),
    'number, full 11 digits (rare)': () => page({ number: '7' + String(9000000000 + Math.floor(r() * 999999999)).slice(0, 10) }),
    'one day, with recording': () => {
      const from = now - Math.floor(r() * 300) * day;
      return page({ from: new Date(from), to: new Date(from + day), hasRecording: true });
    },
    'free text q (name)': () => page({ q: `клиент ${Math.floor(r() * 5000)}` }),
    'sorted by talk time': () => page({ status: ['answered'] }, { sort: '-talk' }),
  };
  const all: number[] = [];
  console.log('query (limit 50)                    p50 ms   p95 ms   p99 ms');
  for (const [name, make] of Object.entries(kinds)) {
    const times: number[] = [];
    for (let i = 0; i < 40; i++) {
      const req = make();
      t0 = performance.now();
      const res = await reader.listCalls(req);
      if (res.nextCursor && i % 4 === 0) await reader.listCalls({ ...req, cursor: res.nextCursor });
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    all.push(...times);
    console.log(`${name.padEnd(34)} ${pct(times, 50).toFixed(1).padStart(7)} ${pct(times, 95).toFixed(1).padStart(8)} ${pct(times, 99).toFixed(1).padStart(8)}`);
  }
  all.sort((a, b) => a - b);
  console.log(`ALL (${all.length} queries)${' '.repeat(17)} ${pct(all, 50).toFixed(1).padStart(7)} ${pct(all, 95).toFixed(1).padStart(8)} ${pct(all, 99).toFixed(1).padStart(8)}`);
  await db.close();
  await cleanup();
}

async function main(): Promise<void> {
  console.log(`Telefonist bench — node ${process.version}, ${require('node:os').cpus().length} cores`);
  const only = process.argv[2];
  if (!only || only === 'ingest') await ingestBench();
  if (!only || only === 'query') await queryBench();
  if (!only || only === 'directory') await directoryBench();
  if (!only || only === 'screenpop') await screenPopBench();
  if (!only || only === 'transcription') await transcriptionBench();
  if (!only || only === 'presence') await (await import('./presence')).presenceBench(); // issue 11: registration storms
  if (!only || only === 'actions') await (await import('./actions')).actionsBench(); // issue 11: HTTP request → ESL command
  if (!only || only === 'banner') await (await import('./banner')).bannerBench(); // issue 12: socket event → banner on screen in Chromium
  if (!only || only === 'panel') await (await import('./panel')).panelBench(fillSqlite, CALLS); // issue 12: the journal's first paint in Chromium
  if (!only || only === 'chats') await (await import('./chats')).chatsBench(); // issue 13: webhook → engine → event log; outbound queue → fake Bot API
  if (!only || only === 'invoices') await (await import('./invoices')).invoicesBench(); // issue 14: PDF renders/s of a 50-line invoice
  if (!only || only === 'whatsapp') await (await import('./whatsapp')).whatsappBench(); // issue 14: WhatsApp webhook ingest/s (cloud signed, gateway)
  if (only === 'chaos') await (await import('./chaos')).chaosBench(process.argv.slice(3)); // issue 9; only when asked (~90 s)
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
