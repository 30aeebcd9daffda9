/**
 * The chaos run's verdict (issue 9): the journal, as read over HTTP, set against the chaos stand-in's own
 * truth per call (FreeSWITCH's CDR, and which events reached a connected client). Shared by the bench
 * (bench/chaos.ts, `npm run bench -- chaos`) and its test (test/chaos-run.test.ts).
 */
import { CallTruth } from './call';

/** One journal entry as the API gives it (GET /calls/{id}), times in epoch ms. */
export interface JournalEntry {
  id: string;
  status: string;
  startedAt: number | null;
  answeredAt: number | null;
  endedAt: number | null;
  talkSeconds: number | null;
  uncertain: boolean;
  legs: string[];
  originJob?: string;
}

/** What can be wrong with one call's journal entries. */
export type Problem = 'lost' | 'split' | 'other-id' | 'crossed' | 'live' | 'status' | 'times';
export const PROBLEMS: Problem[] = ['lost', 'split', 'other-id', 'crossed', 'live', 'status', 'times'];
export const PROBLEM_LABEL: Record<Problem, string> = {
  lost: 'lost (no journal entry)',
  split: 'split (>1 entry for one call)',
  'other-id': 'under another id',
  crossed: 'mixed with another call',
  live: 'left live (ringing/active)',
  status: 'wrong status',
  times: 'wrong times',
};

/** The judgement of one call: its truth, what is wrong with it and whether that counts as a failure. */
export interface Verdict {
  truth: CallTruth;
  problems: Map<Problem, string>;
  uncertain: boolean;
  /** A failure: any problem on a call whose events all arrived; a problem not marked uncertain otherwise. */
  failed: boolean;
}

/** Time of day with ms, for messages. */
export function iso(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '—' : new Date(ms).toISOString().slice(11, 23);
}

/**
 * Sets each call's truth (`truths`, a subset of `allTruths`, which owns every leg and job UUID the stand-in
 * used) against the journal. A call fails when anything is wrong with it and its events all arrived, or when
 * something is wrong and not every entry of it says `uncertain: true` (a lost call always fails); calls
 * nothing of which reached the client are not judged. `phantoms`: entries that belong to no call at all.
 * Times must agree within `tolMs`.
 */
export function judge(truths: CallTruth[], journal: JournalEntry[], allTruths: CallTruth[], tolMs: number): { verdicts: Verdict[]; phantoms: JournalEntry[] } {
  const owner = new Map<string, number>();
  allTruths.forEach((t, i) => t.uuids.concat(t.id).forEach((u) => owner.set(u, i)));
  const related = new Map<number, JournalEntry[]>();
  const phantoms: JournalEntry[] = [];
  for (const e of journal) {
    const set = new Set<number>();
    for (const u of [e.id, ...e.legs]) {
      const o = owner.get(u);
      if (o !== undefined) set.add(o);
    }
    if (set.size === 0 && !(e.originJob && owner.has(e.originJob))) phantoms.push(e);
    for (const o of set) {
      const list = related.get(o) ?? [];
      list.push(e);
      related.set(o, list);
    }
  }
  const verdicts = truths.map((t) => {
    const problems = new Map<Problem, string>();
    const me = allTruths.indexOf(t);
    const rel = related.get(me) ?? [];
    const main = rel.find((e) => e.id === t.id) ?? rel[0];
    if (!main) {
      problems.set('lost', 'no journal entry has its id or any of its legs');
    } else {
      if (rel.length > 1) problems.set('split', `${rel.length} entries: ${rel.map((e) => `${e.id.slice(0, 8)}(${e.status})`).join(', ')}`);
      if (!rel.some((e) => e.id === t.id)) problems.set('other-id', `journal id ${main.id.slice(0, 8)} instead of ${t.id.slice(0, 8)}`);
      const foreignLegs = main.legs.filter((u) => owner.has(u) && owner.get(u) !== me);
      const jobOwner = main.originJob ? owner.get(main.originJob) : undefined;
      const crossed: string[] = [];
      if (foreignLegs.length) crossed.push(`has leg(s) of ${[...new Set(foreignLegs.map((u) => allTruths[owner.get(u)!].id.slice(0, 8)))].join(', ')}`);
      if (jobOwner !== undefined && jobOwner !== me) crossed.push(`originJob ${main.originJob!.slice(0, 8)} is the click-to-call job of ${allTruths[jobOwner].id.slice(0, 8)}`);
      if (crossed.length) problems.set('crossed', crossed.join('; '));
      if (main.status === 'ringing' || main.status === 'active') {
        problems.set('live', `status ${main.status}, expected ${t.status}`);
      } else if (main.status !== t.status) {
        problems.set('status', `${main.status}, expected ${t.status}`);
      }
      const bad: string[] = [];
      const off = (a: number | null, b: number | undefined) => a !== null && b !== undefined && Math.abs(a - b) > tolMs;
      if (main.startedAt === null) bad.push('no startedAt');
      if (off(main.startedAt, t.startedAt)) bad.push(`startedAt ${iso(main.startedAt)} vs CDR ${iso(t.startedAt)}`);
      if (!problems.has('live')) {
        if (main.endedAt === null) bad.push('no endedAt');
        else {
          if (main.startedAt !== null && main.endedAt < main.startedAt) bad.push(`endedAt ${iso(main.endedAt)} < startedAt ${iso(main.startedAt)}`);
          if (off(main.endedAt, t.endedAt)) bad.push(`endedAt ${iso(main.endedAt)} vs CDR ${iso(t.endedAt)}`);
        }
        if (main.answeredAt !== null && ((main.startedAt !== null && main.answeredAt < main.startedAt) || (main.endedAt !== null && main.answeredAt > main.endedAt))) {
          bad.push(`answeredAt ${iso(main.answeredAt)} outside [${iso(main.startedAt)}, ${iso(main.endedAt)}]`);
        }
        if (t.answeredAt !== undefined && main.answeredAt === null) bad.push(`no answeredAt (CDR ${iso(t.answeredAt)})`);
        if (t.answeredAt === undefined && main.answeredAt !== null) bad.push(`answeredAt ${iso(main.answeredAt)} on a call nobody answered`);
        if (off(main.answeredAt, t.answeredAt)) bad.push(`answeredAt ${iso(main.answeredAt)} vs CDR ${iso(t.answeredAt)}`);
        if (t.answeredAt !== undefined) {
          const talk = main.talkSeconds !== null ? main.talkSeconds * 1000 : main.answeredAt !== null && main.endedAt !== null ? main.endedAt - main.answeredAt : null;
          if (talk === null) bad.push('no talk time');
          else if (Math.abs(talk - t.talkMs) > tolMs) bad.push(`talk ${(talk / 1000).toFixed(2)} s vs CDR billsec ${(t.talkMs / 1000).toFixed(2)} s`);
        }
      }
      if (bad.length) problems.set('times', bad.join('; '));
    }
    // Uncertain when every entry of the call says so (a split-off entry that does not is a guess).
    const uncertain = rel.length > 0 && rel.every((e) => e.uncertain);
    const failed = problems.size > 0 && !t.invisible && (t.allDelivered || !uncertain || problems.has('lost'));
    return { truth: t, problems, uncertain, failed };
  });
  return { verdicts, phantoms };
}

/** The stand-in's trace of a call, delivered events folded: `+7 -0.385 CHANNEL_ANSWER B (offline …) …`. */
export function shortTrace(trace: string[], max = 12): string {
  const out: string[] = [];
  let delivered = 0;
  let lastMiss = '';
  let repeats = 0;
  const flush = () => {
    if (delivered) out.push(`+${delivered}`);
    delivered = 0;
    if (repeats) out.push(`(…${repeats} more missed)`);
    repeats = 0;
  };
  for (const t of trace) {
    if (t.startsWith('+')) {
      if (repeats) flush();
      delivered++;
      continue;
    }
    const reason = t.startsWith('-') ? t.replace(/^-\S+ \S+ \S+ /, '') : '';
    if (reason && reason === lastMiss) {
      repeats++;
      continue;
    }
    flush();
    out.push(t);
    lastMiss = reason;
  }
  flush();
  return out.length > max ? `${out.slice(0, max).join(', ')}, … (${out.length - max} more)` : out.join(', ');
}

/** One failed call for a report: id, template, problems, what happened to its events, its trace. */
export function describeVerdict(v: Verdict): string {
  const t = v.truth;
  const why = Object.entries(t.missed).map(([k, n]) => `${k}×${n}`).join(', ');
  const ctx = [
    t.allDelivered ? 'all events arrived' : `missed ${t.wanted - t.delivered}/${t.wanted} events (${why})`,
    t.snapshots ? `listed in ${t.snapshots} resync snapshot(s)` : '',
    t.cuts.length ? `cuts during the call: ${t.cuts.join(', ')}` : 'no cut during the call',
    t.glitches.length ? `glitches: ${t.glitches.join(', ')}` : '',
    v.uncertain ? 'marked uncertain' : '',
  ].filter(Boolean).join('; ');
  const probs = [...v.problems].map(([p, d]) => `${p}: ${d}`).join(' | ');
  return `${t.id} [${t.template}] ${probs}\n      ${ctx}\n      trace: ${shortTrace(t.trace)}`;
}
