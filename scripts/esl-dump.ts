/* Prints the event sequence of an ESL capture: `npx tsx scripts/esl-dump.ts <file.esl> [Header ...]`. */
import { readFileSync } from 'node:fs';
import { FrameParser } from '../src/esl/frame';
import { decodeEvent, header, isEventFrame } from '../src/esl/event';

const [file, ...extra] = process.argv.slice(2);
if (!file) {
  console.error('usage: esl-dump <file.esl> [Header ...]');
  process.exit(2);
}
const frames = new FrameParser().push(readFileSync(file));
for (const f of frames) {
  if (!isEventFrame(f)) {
    console.log(`[${f.headers['Content-Type']}] ${f.headers['Reply-Text'] ?? ''} ${(f.body ?? '').slice(0, 60).replace(/\n/g, '\\n')}`);
    continue;
  }
  const ev = decodeEvent(f);
  const u = (k: string) => (header(ev, k) ?? '').slice(0, 8);
  const cols = [
    ev.headers['Event-Sequence'],
    ev.name + (ev.headers['Event-Subclass'] ? ':' + ev.headers['Event-Subclass'] : ''),
    u('Unique-ID'),
    header(ev, 'Channel-State') ?? '',
    header(ev, 'Channel-Call-State') ?? '',
    'other=' + u('Other-Leg-Unique-ID'),
    header(ev, 'Channel-Name') ?? '',
    'cid=' + (header(ev, 'Caller-Caller-ID-Number') ?? ''),
    'dst=' + (header(ev, 'Caller-Destination-Number') ?? ''),
    ...extra.map((k) => `${k}=${JSON.stringify(ev.headers[k] ?? '')}`),
  ];
  console.log(cols.join(' '));
}
