import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { FrameParser } from './frame';
import { decodeEvent, EslEvent, isEventFrame } from './event';

/** Real FreeSWITCH 1.10.12 captures (copied from shared/fixtures/freeswitch). */
export const FIXTURES_DIR = process.env.TELEFONIST_FIXTURES ?? join(__dirname, '..', '..', 'fixtures', 'freeswitch');

export const CALL_SCENARIOS = [
  '02_inbound_call_bridge',
  '03_click_to_call',
  '04_blind_transfer',
  '05_attended_transfer',
  '05b_att_xfer_app',
  '06_eavesdrop',
  '07_stereo_recording',
  '08_errors',
] as const;

export interface FixtureEvent {
  /** The event frame exactly as FreeSWITCH sent it (outer headers + body). */
  raw: Buffer;
  format: 'json' | 'plain';
  event: EslEvent;
}

export function fixturePath(name: string): string {
  const p = join(FIXTURES_DIR, name.endsWith('.esl') ? name : `${name}.esl`);
  if (!existsSync(p)) throw new Error(`fixture not found: ${p}`);
  return p;
}

/** The event frames of a capture, in wire order, each with its original bytes. */
export function loadFixtureEvents(name: string): FixtureEvent[] {
  const bytes = readFileSync(fixturePath(name));
  const out: FixtureEvent[] = [];
  // Re-walk the bytes to keep each frame's exact slice.
  let pos = 0;
  const parser = new FrameParser();
  while (pos < bytes.length) {
    const headEnd = bytes.indexOf('\n\n', pos);
    if (headEnd < 0) break;
    const head = bytes.toString('utf8', pos, headEnd);
    const m = /(?:^|\n)Content-Length: (\d+)/.exec(head);
    const end = headEnd + 2 + (m ? Number(m[1]) : 0);
    const raw = bytes.subarray(pos, end);
    pos = end;
    const [frame] = parser.push(Buffer.from(raw));
    if (!frame || !isEventFrame(frame)) continue;
    out.push({
      raw: Buffer.from(raw),
      format: frame.headers['Content-Type'] === 'text/event-plain' ? 'plain' : 'json',
      event: decodeEvent(frame),
    });
  }
  return out;
}

/** The api/response bodies of a capture (for `show channels as json` and friends). */
export function loadFixtureReplies(name: string): string[] {
  const frames = new FrameParser().push(readFileSync(fixturePath(name)));
  return frames.filter((f) => f.headers['Content-Type'] === 'api/response').map((f) => f.body ?? '');
}
