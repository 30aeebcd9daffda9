/**
 * Presence under registration storms (issue 11): a thousand phones registering, re-registering and leaving,
 * as `CUSTOM sofia::register / unregister` frames (built on capture 17's real sofia::register) on the ESL
 * socket of the real server (`src/main.ts` in its own process), read back as `employee.presence` events on
 * an SSE client. Figures:
 *  1. first registration of 1,000 phones: 1,000 presence updates (offline → online), socket → SSE, updates/s;
 *  2. the storm: every phone re-registers ROUNDS times and half of them come back under a new Call-ID (a
 *     reboot) — registration events/s through the server, and the presence updates it caused (must be 0);
 *  3. all 1,000 unregister: 1,000 updates to offline (each held 3 s first, so a phone registering again at
 *     once does not flip): updates/s from the first to the last.
 */
import { performance } from 'node:perf_hooks';
import { encodeFrame } from '../src/esl/frame';
import { encodeJsonEventBody } from '../src/esl/event';
import { FreeSwitchSimulator } from '../src/esl/simulator';
import { registrationEvent } from '../src/esl/sim-registrations';
import { SseClient } from '../test/helpers';
import { freshDb, spawnServer, TOKEN } from './directory';

const PHONES = Number(process.env.BENCH_PHONES ?? 1000);
const ROUNDS = Number(process.env.BENCH_STORM_ROUNDS ?? 5);

export async function presenceBench(): Promise<void> {
  const kind = process.env.BENCH_DB === 'postgres' ? 'postgres' : 'sqlite';
  console.log(`\n== Presence: ${PHONES} phones, registration storms on the socket → SSE employee.presence (server = src/main.ts on ${kind}, own process)`);
  const db = await freshDb(kind);
  const sim = new FreeSwitchSimulator();
  await sim.listen(0);
  const server = await spawnServer(db.url, sim.port);
  const base = server.base;
  const auth = { Authorization: `Bearer ${TOKEN}` };
  try {
    const exts = Array.from({ length: PHONES }, (_, i) => String(200000 + i));
    const sentinel = '299999';
    const employees = [...exts, sentinel].map((extension) => ({ extension, name: `Сотрудник ${extension}` }));
    const synced = await fetch(`${base}/employees/sync`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ employees }) });
    if (synced.status !== 200) throw new Error(`employee sync failed: ${synced.status} ${await synced.text()}`);

    const events: Array<{ at: number; ext: string; presence: string }> = [];
    const sse = await SseClient.open(`${base}/events/stream?types=employee.presence`, auth);
    sse.onEvent = (e) => events.push({ at: performance.now(), ext: e.data.data.extension, presence: e.data.data.presence });
    await new Promise((r) => setTimeout(r, 200));

    // FreeSWITCH's side prepared up front; the simulator's registrations table follows (for its snapshot).
    const frame = (kind: 'register' | 'unregister', ext: string, callId: string) => {
      const ev = registrationEvent(kind, { ext, callId, expires: 3600 });
      sim.registrations.track(ev);
      return encodeFrame([['Content-Length', ''], ['Content-Type', 'text/event-json']], encodeJsonEventBody(ev));
    };
    const waitFor = async (cond: () => boolean, what: string, ms = 60_000) => {
      const deadline = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };

    // 1. First registration: 1,000 presence updates.
    const first = exts.map((x) => frame('register', x, `boot-1@${x}`));
    let t0 = performance.now();
    for (const f of first) sim.sendRaw(f);
    await waitFor(() => events.filter((e) => e.presence === 'online').length >= PHONES, 'online updates');
    const t1 = events[events.length - 1].at;
    console.log(`first registration   ${PHONES} presence updates in ${(t1 - t0).toFixed(0)} ms: ${Math.round(PHONES / ((t1 - t0) / 1000))} updates/s (socket → SSE, each committed to the event log first)`);

    // 2. The storm: refreshes and reboots under a new Call-ID; then one sentinel phone registers (its update
    //    arrives after every storm event was processed: one socket, in order).
    const storm: Buffer[] = [];
    for (let r = 0; r < ROUNDS; r++) for (const x of exts) storm.push(frame('register', x, `boot-1@${x}`));
    for (const x of exts.slice(0, PHONES / 2)) storm.push(frame('unregister', x, `boot-1@${x}`), frame('register', x, `boot-2@${x}`));
    const before = events.length;
    t0 = performance.now();
    for (const f of storm) sim.sendRaw(f);
    sim.sendRaw(frame('register', sentinel, `boot-1@${sentinel}`));
    await waitFor(() => events.some((e) => e.ext === sentinel), 'sentinel');
    const t2 = events.find((e) => e.ext === sentinel)!.at;
    await new Promise((r) => setTimeout(r, 3500)); // past the offline hold: a reboot that flipped would show now
    const flips = events.slice(before).filter((e) => e.ext !== sentinel).length;
    console.log(`storm                ${storm.length} registration events (${ROUNDS} refreshes per phone, ${PHONES / 2} reboots under a new Call-ID) in ${(t2 - t0).toFixed(0)} ms: `
      + `${Math.round(storm.length / ((t2 - t0) / 1000))} events/s; presence updates caused: ${flips}`);

    // 3. Everyone leaves.
    const leave = exts.map((x) => frame('unregister', x, x <= exts[PHONES / 2 - 1] ? `boot-2@${x}` : `boot-1@${x}`));
    const beforeLeave = events.length;
    t0 = performance.now();
    for (const f of leave) sim.sendRaw(f);
    await waitFor(() => events.slice(beforeLeave).filter((e) => e.presence === 'offline').length >= PHONES, 'offline updates');
    const off = events.slice(beforeLeave);
    const span = off[off.length - 1].at - off[0].at;
    console.log(`all unregister       ${PHONES} updates to offline: first after ${(off[0].at - t0).toFixed(0)} ms (the 3 s offline hold), then all within ${span.toFixed(0)} ms: `
      + `${Math.round(PHONES / (Math.max(span, 1) / 1000))} updates/s`);
    sse.close();
  } finally {
    await server.stop();
    await sim.close();
    await db.drop();
  }
}
