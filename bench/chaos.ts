/**
 * `npm run bench -- chaos`: the chaos run of issue 9.
 *
 * What it checks. The real server (src/app.ts startTelefonist, temp SQLite journal, in this process) is
 * connected to the chaos stand-in (src/esl/chaos-switch.ts): a FreeSWITCH that runs hundreds of concurrent
 * calls built from the real 1.10.12 captures (02, 09–16, 17 split in four), keeps its channel table while
 * the client is away and answers `show channels/calls as json` and `uuid_dump` from it, and cuts the
 * connection a few hundred times: mid-frame, in the middle of a resync reply (show channels, show calls or
 * uuid_dump), between the `show channels` and `show calls` replies, right after auth. It also answers a
 * `show` with -ERR now and then and holds some `show channels` replies back while events keep flowing (the
 * snapshot race). When every call has ended and the journal has settled, the bench reads the journal over
 * HTTP (GET /calls pages, GET /calls/{id}) and compares it with the stand-in's own truth per call: the id
 * (the first leg's UUID), the final status and the times from FreeSWITCH's CDR (each leg's
 * CHANNEL_HANGUP_COMPLETE start/answer/end epochs, mapped like the events).
 *
 * Calls fall in three groups: every subscribed event was handed to a connected client (the journal must be
 * exact); some were missed while the client was away (the journal must be exact or say `uncertain: true`
 * on the call; a missing field counts as false); nothing reached the client (no event, no resync snapshot
 * listing it, e.g. a busy call that began and ended during a cut: no ESL client can know it; reported, not
 * judged). Problems counted per call: lost (no journal entry), split (more than one entry for one
 * conversation, e.g. a B-leg as its own call), under another id, mixed with another call (its entry holds
 * another call's legs or click-to-call job), left live (ringing/active after everything ended), wrong
 * status, wrong times (endedAt before startedAt, answeredAt outside [start, end], start/answer/end or talk
 * off by more than 1 s of call time vs the CDR). Target: 0 in the first group, 0 "wrong and not uncertain"
 * in the second.
 *
 * Before the chaos a calibration plays every template once with no chaos and checks it the same way: that
 * cross-checks the CDR-derived truth against the server on a clean link.
 *
 * Options (argv `--name value` or env): --calls CHAOS_CALLS (1250), --cuts CHAOS_CUTS (250), --seed
 * CHAOS_SEED (1: templates, start times, UUIDs and chaos draws; the cut moments also depend on timing),
 * --speed CHAOS_SPEED (4: call time runs 4× faster, timestamps compressed alike), --window CHAOS_WINDOW_S
 * (55: calls start at random moments within it), --storm CHAOS_STORM (5: mean cuts per storm),
 * --reconnect-ms CHAOS_RECONNECT_MS (50: the ESL client's first reconnect backoff, so a few hundred cuts
 * fit in a minute; 0 keeps the client's default), --templates (comma list of template names or prefixes,
 * e.g. 09,12), --examples (8 per problem), --no-calibrate, --dump FILE (truth, journal and verdicts as
 * JSON). Exit code 0 always.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config';
import { StartOptions, startTelefonist, Telefonist } from '../src/app';
import { Logger } from '../src/log';
import { CallTruth, CHAOS_TEMPLATES, ChaosSwitch, CUT_KINDS, loadTemplates, prng } from '../src/esl/chaos-switch';
import { describeVerdict, JournalEntry, judge, PROBLEM_LABEL, PROBLEMS, Verdict } from '../src/esl/chaos/verdict';

const TOKEN = 'chaos-admin-token-0123456789abcdef';

export interface ChaosBenchOptions {
  calls: number;
  cuts: number;
  seed: number;
  speed: number;
  windowS: number;
  storm: number;
  reconnectMs: number;
  templates: string[];
  examples: number;
  calibrate: boolean;
  /** Write the truth, the journal and the verdicts as JSON here (for digging into one call). */
  dump?: string;
}

export function chaosOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ChaosBenchOptions {
  const arg = (name: string): string | undefined => {
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === `--${name}`) return argv[i + 1];
      if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
    }
    return undefined;
  };
  const num = (name: string, envName: string, def: number) => {
    const v = arg(name) ?? env[envName];
    const n = v === undefined ? def : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number >= 0 (got ${v})`);
    return n;
  };
  const templates = (arg('templates') ?? env.CHAOS_TEMPLATES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    calls: Math.round(num('calls', 'CHAOS_CALLS', 1250)),
    cuts: Math.round(num('cuts', 'CHAOS_CUTS', 250)),
    seed: Math.round(num('seed', 'CHAOS_SEED', 1)),
    speed: Math.max(0.1, num('speed', 'CHAOS_SPEED', 4)),
    windowS: num('window', 'CHAOS_WINDOW_S', 55),
    storm: Math.max(1, num('storm', 'CHAOS_STORM', 5)),
    reconnectMs: num('reconnect-ms', 'CHAOS_RECONNECT_MS', 50),
    templates,
    examples: Math.round(num('examples', 'CHAOS_EXAMPLES', 8)),
    calibrate: !argv.includes('--no-calibrate') && env.CHAOS_CALIBRATE !== '0',
    dump: arg('dump') ?? env.CHAOS_DUMP,
  };
}

// ---- journal over HTTP --------------------------------------------------------------------------------


async function getJson(base: string, path: string): Promise<any> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    if (res.ok) return res.json();
    if (attempt >= 3) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function readJournal(base: string): Promise<JournalEntry[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: Array<{ id: string }>; nextCursor: string | null } = await getJson(
      base,
      `/calls?limit=500&sort=startedAt${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    ids.push(...page.items.map((c) => c.id));
    cursor = page.nextCursor;
  } while (cursor);
  const out: JournalEntry[] = new Array(ids.length);
  let next = 0;
  const t = (v: unknown) => (typeof v === 'string' ? Date.parse(v) : null);
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < ids.length) {
        const i = next++;
        const d = await getJson(base, `/calls/${encodeURIComponent(ids[i])}`);
        out[i] = {
          id: d.id,
          status: d.status,
          startedAt: t(d.startedAt),
          answeredAt: t(d.answeredAt),
          endedAt: t(d.endedAt),
          talkSeconds: typeof d.talkSeconds === 'number' ? d.talkSeconds : null,
          uncertain: d.uncertain === true,
          legs: Array.isArray(d.legs) ? d.legs.map((l: { uuid: string }) => l.uuid) : [],
          originJob: d.originJob ?? undefined,
        };
      }
    }),
  );
  return out;
}

function table(title: string, verdicts: Verdict[], print: (line: string) => void): void {
  const groups = [
    { name: 'all events arrived', vs: verdicts.filter((v) => v.truth.allDelivered) },
    { name: 'some events missed', vs: verdicts.filter((v) => !v.truth.allDelivered && !v.truth.invisible) },
    { name: 'nothing arrived*', vs: verdicts.filter((v) => v.truth.invisible) },
  ];
  print(`\n${title}`);
  print(`${''.padEnd(34)}${groups.map((g) => g.name.padStart(22)).join('')}`);
  const row = (label: string, f: (vs: Verdict[]) => number) => print(`${label.padEnd(34)}${groups.map((g) => String(f(g.vs)).padStart(22)).join('')}`);
  row('calls', (vs) => vs.length);
  for (const p of PROBLEMS) row(`  ${PROBLEM_LABEL[p]}`, (vs) => vs.filter((v) => v.problems.has(p)).length);
  row('  marked uncertain', (vs) => vs.filter((v) => v.uncertain).length);
  row('  of the wrong ones, uncertain', (vs) => vs.filter((v) => v.problems.size && v.uncertain).length);
  row('FAILED (target 0)', (vs) => vs.filter((v) => v.failed).length);
  print('* no event and no resync snapshot (show channels + show calls) listing it reached the client: unknowable over ESL, not judged');
}

// ---- the run ------------------------------------------------------------------------------------------

async function settle(app: Telefonist): Promise<void> {
  let last = -1;
  while (last !== app.calls.esl.stats.events) {
    last = app.calls.esl.stats.events;
    await new Promise((r) => setTimeout(r, 150));
  }
  await app.calls.drained();
  await app.calls.writer.idle();
  await app.events.idle();
}

/** Waits until the client is connected and has resynced since it connected (false: it did not, in time). */
async function waitResynced(app: Telefonist, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const esl = app.calls.esl;
  const stats = app.calls.stats as unknown as Record<string, number>;
  while (Date.now() < deadline) {
    if (esl.state === 'ready' && (stats.lastResyncAt ?? 0) >= esl.stats.connectedAt) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** What a chaos run found: the verdict per call of the chaos part (and of the calibration), and the phantoms. */
export interface ChaosResult {
  verdicts: Verdict[];
  calibration: Verdict[];
  /** Journal entries that belong to no call the stand-in ran. */
  phantoms: JournalEntry[];
  /** Cuts the stand-in made. */
  cuts: number;
  /** The client had resynced on its last connection when the run ended. */
  resynced: boolean;
}

/** `npm run bench -- chaos`: options from argv/env, the run, its table on stdout. */
export async function chaosBench(argv: string[] = process.argv.slice(2)): Promise<void> {
  await runChaos(chaosOptions(argv));
}

/**
 * One chaos run against the real server (in this process, temp SQLite journal): calibration, chaos,
 * the journal read over HTTP, judged by src/esl/chaos/verdict.ts; the report goes to `print` line by line.
 */
export async function runChaos(o: ChaosBenchOptions, print: (line: string) => void = (l) => console.log(l)): Promise<ChaosResult> {
  const tolMs = 1000 / o.speed;
  const all = loadTemplates(CHAOS_TEMPLATES);
  const templates = o.templates.length ? all.filter((t) => o.templates.some((p) => t.name === p || t.name.startsWith(p))) : all;
  if (templates.length === 0) throw new Error(`no template matches ${o.templates.join(',')} (have ${all.map((t) => t.name).join(', ')})`);
  print(`\n== Chaos run (issue 9): ${o.calls} calls, up to ${o.cuts} cuts, seed ${o.seed}, speed ×${o.speed}, calls start within ${o.windowS} s`);
  print(`   templates: ${templates.map((t) => `${t.name}→${t.expected}`).join(', ')}`);
  print(`   times must match the CDR within ${tolMs.toFixed(0)} ms (1 s of call time); ESL client reconnect backoff ${o.reconnectMs ? `${o.reconnectMs} ms (bench setting)` : 'client default'}`);

  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'telefonist-chaos-'));
  const sw = new ChaosSwitch({ seed: o.seed, speed: o.speed });
  await sw.listen(0);
  const config = loadConfig(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: `file:${join(dir, 'journal.db')}`,
      FREESWITCH_ESL_HOST: '127.0.0.1',
      FREESWITCH_ESL_PORT: String(sw.port),
      FREESWITCH_ESL_PASSWORD: 'ClueCon',
      TELEFONIST_ADMIN_TOKEN: TOKEN,
      LOG_LEVEL: 'error',
    },
    { dotenv: false },
  );
  // `esl` timing is a StartOptions field of the ESL link work; cast so this bench does not depend on its shape.
  const start = (o.reconnectMs ? { esl: { initialBackoffMs: o.reconnectMs, maxBackoffMs: Math.max(1000, o.reconnectMs * 8) } } : {}) as unknown as StartOptions;
  const app = await startTelefonist(config, new Logger('error'), start);
  const base = `http://127.0.0.1:${app.port}/api/v1`;
  try {
    if (!(await waitResynced(app, 15_000))) throw new Error('the server did not connect to the stand-in');

    // 1. Calibration: every template once, no chaos.
    const calibration: CallTruth[] = [];
    if (o.calibrate) {
      const now = Date.now();
      const insts = templates.map((t, i) => sw.addCall(t, now + 200 + i * 37));
      await sw.idle();
      await settle(app);
      calibration.push(...insts.map((i) => i.truth()));
    }

    // 2. The chaos run.
    const rand = prng(o.seed * 7919 + 1);
    const startAt = Date.now() + 500;
    let lastEnd = startAt;
    const insts = Array.from({ length: o.calls }, () => {
      const tpl = templates[Math.floor(rand() * templates.length)];
      const at = startAt + rand() * o.windowS * 1000;
      lastEnd = Math.max(lastEnd, at + tpl.durationUs / 1000 / o.speed);
      return { tpl, at };
    })
      .sort((a, b) => a.at - b.at)
      .map(({ tpl, at }) => sw.addCall(tpl, at));
    const eslBefore = { ...app.calls.esl.stats };
    const resyncsBefore = app.calls.stats.resyncs;
    const tChaos = performance.now();
    sw.startChaos({ cuts: o.cuts, untilMs: lastEnd, storm: o.storm });
    await sw.idle();
    sw.stopChaos();
    const chaosS = (performance.now() - tChaos) / 1000;
    const resynced = await waitResynced(app, 15_000);
    await settle(app);
    const tRead = performance.now();
    const journal = await readJournal(base);
    const readS = (performance.now() - tRead) / 1000;
    const truths = insts.map((i) => i.truth());
    const everyone = [...calibration, ...truths];

    // 3. Report.
    const st = sw.stats;
    const cuts = sw.cutsMade;
    print(`\nran ${truths.length} calls in ${chaosS.toFixed(1)} s (${st.events.toLocaleString('en-US')} events by the stand-in, ${st.framesWritten.toLocaleString('en-US')} frames written to the client); journal read over HTTP in ${readS.toFixed(1)} s: ${journal.length} entries`);
    print(`cuts: ${cuts} (${CUT_KINDS.map((k) => `${k} ${st.cuts[k]}`).join(', ')}); glitches: show -ERR ${st.glitches['show-err']}, show channels held back ${st.glitches['show-delayed']}`);
    const stats = app.calls.stats as unknown as Record<string, unknown>;
    print(`client: ${app.calls.esl.stats.connects - eslBefore.connects} reconnects, ${app.calls.stats.resyncs - resyncsBefore} resyncs, ` +
      `${app.calls.esl.stats.malformed - eslBefore.malformed} malformed frames; last resync error: ${stats.lastResyncError ? JSON.stringify(stats.lastResyncError) : 'none'}`);
    if (!resynced) print('!! after the run the client had not completed a resync on its current connection within 15 s (a failed resync is not retried?)');
    const allArrived = truths.filter((t) => t.allDelivered).length;
    const invisible = truths.filter((t) => t.invisible).length;
    print(`calls whose events all arrived: ${allArrived}; with missed events: ${truths.length - allArrived - invisible}; of which nothing reached the client: ${invisible}`);

    let calibrationVerdicts: Verdict[] = [];
    if (o.calibrate) {
      const { verdicts } = judge(calibration, journal, everyone, tolMs);
      calibrationVerdicts = verdicts;
      const bad = verdicts.filter((v) => v.problems.size);
      print(`\ncalibration (each template once, no chaos; CDR truth vs the journal): ${bad.length ? `${bad.length} of ${verdicts.length} differ` : `all ${verdicts.length} agree`}`);
      for (const v of bad) print(`  ${describeVerdict(v)}`);
    }

    const { verdicts, phantoms } = judge(truths, journal, everyone, tolMs);
    table('chaos run: problems per call', verdicts, print);
    print(`journal entries that match no call the stand-in ran: ${phantoms.length}${phantoms.length ? ` (e.g. ${phantoms.slice(0, 3).map((e) => `${e.id} ${e.status}`).join(', ')})` : ''}`);

    const failed = verdicts.filter((v) => v.failed);
    if (failed.length) {
      print('\nfailed calls by template (all arrived / missed):');
      for (const t of templates) {
        const vs = verdicts.filter((v) => v.truth.template === t.name);
        const a = vs.filter((v) => v.failed && v.truth.allDelivered).length;
        const b = vs.filter((v) => v.failed && !v.truth.allDelivered).length;
        if (a || b) print(`  ${t.name.padEnd(24)} ${String(vs.length).padStart(5)} calls: ${a} / ${b}`);
      }
      print('failed calls with missed events, by what happened while they ran (a call can have several):');
      const byKind = new Map<string, number>();
      for (const v of failed) {
        if (v.truth.allDelivered) continue;
        for (const k of [...v.truth.cuts, ...v.truth.glitches]) byKind.set(k, (byKind.get(k) ?? 0) + 1);
      }
      print(`  ${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ') || '—'}`);
      const aFailed = failed.filter((v) => v.truth.allDelivered);
      if (aFailed.length) {
        const g = new Map<string, number>();
        for (const v of aFailed) for (const k of v.truth.glitches.length ? v.truth.glitches : ['no glitch']) g.set(k, (g.get(k) ?? 0) + 1);
        print(`failed calls whose events all arrived, by glitch while they ran: ${[...g].map(([k, n]) => `${k} ${n}`).join(', ')}`);
      }
      print(`\nexamples (up to ${o.examples} per problem and group):`);
      for (const group of [true, false]) {
        for (const p of PROBLEMS) {
          const ex = failed.filter((v) => v.truth.allDelivered === group && v.problems.has(p)).slice(0, o.examples);
          if (!ex.length) continue;
          print(`- ${PROBLEM_LABEL[p]}, ${group ? 'all events arrived' : 'events missed, not marked uncertain'}:`);
          for (const v of ex) print(`    ${describeVerdict(v)}`);
        }
      }
    }
    if (o.dump) {
      writeFileSync(o.dump, JSON.stringify({
        options: o,
        stats: st,
        verdicts: verdicts.map((v) => ({ ...v.truth, uncertainInJournal: v.uncertain, failed: v.failed, problems: Object.fromEntries(v.problems) })),
        journal,
      }, null, 1));
      print(`\ntruth, journal and verdicts written to ${o.dump}`);
    }
    print(`\nchaos bench total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return { verdicts, calibration: calibrationVerdicts, phantoms, cuts, resynced };
  } finally {
    await app.close();
    await sw.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  chaosBench().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
