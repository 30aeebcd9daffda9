/* Prints the calls a capture produces, without a database: `npx tsx scripts/esl-calls.ts <file.esl>`. */
import { readFileSync } from 'node:fs';
import { FrameParser } from '../src/esl/frame';
import { decodeEvent, isEventFrame } from '../src/esl/event';
import { CallTracker } from '../src/calls/tracker';
import { CallState, TimelineEntry } from '../src/calls/types';

const tracker = new CallTracker();
const calls = new Map<string, CallState>();
const timeline = new Map<string, TimelineEntry>();
for (const file of process.argv.slice(2)) {
  for (const f of new FrameParser().push(readFileSync(file))) {
    if (!isEventFrame(f)) continue;
    const b = tracker.apply(decodeEvent(f));
    for (const m of b.merges) {
      calls.delete(m.from);
      for (const t of timeline.values()) if (t.callId === m.from) t.callId = m.into;
    }
    for (const c of b.calls) calls.set(c.id, c);
    for (const t of b.timeline) if (!timeline.has(t.key)) timeline.set(t.key, t);
  }
}
for (const c of calls.values()) {
  const { legs, employees, ...rest } = c;
  console.log(JSON.stringify({ ...rest, legs: legs.length, employees }));
  const t0 = c.startedAt;
  for (const t of [...timeline.values()].filter((x) => x.callId === c.id).sort((a, b) => a.at - b.at)) {
    console.log(`   +${((t.at - t0) / 1000).toFixed(3)}s ${t.kind} ${JSON.stringify(t.data)}`);
  }
}
