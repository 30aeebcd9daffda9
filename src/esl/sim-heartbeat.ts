import { EslEvent, EslHeaders } from './event';
import { loadFixtureEvents } from './fixtures';

/** The capture whose HEARTBEAT is the template (09: seq 877, after the call, `Event-Info: System Ready`). */
const TEMPLATE_CAPTURE = '09_did_inbound_answered';
let template: EslEvent | undefined;
let nextSeq = 5_000_000;

/**
 * A HEARTBEAT as FreeSWITCH 1.10.12 sends it (the bytes of capture 09's, `send_heartbeat` in
 * switch_core.c, every 20 s by default), fired at `fsMs` (ms, FreeSWITCH clock): Event-Date-Timestamp (µs),
 * Event-Date-Local / -GMT follow; Event-Sequence from a counter of its own unless given; Core-UUID the
 * capture's unless given (the simulator's own for rewritten replays). For tests that keep a call quiet
 * while the link stays alive (FreeSwitchSimulator.emitEvent sends it to the subscribers of HEARTBEAT).
 */
export function heartbeatEvent(fsMs: number, opts: { coreUuid?: string; seq?: number } = {}): EslEvent {
  template ??= loadFixtureEvents(TEMPLATE_CAPTURE).find((e) => e.event.name === 'HEARTBEAT')?.event;
  if (!template) throw new Error(`no HEARTBEAT in capture ${TEMPLATE_CAPTURE}`);
  const at = new Date(fsMs);
  const headers: EslHeaders = {
    ...template.headers,
    'Event-Date-Timestamp': String(Math.floor(fsMs) * 1000),
    'Event-Date-GMT': at.toUTCString(),
    'Event-Date-Local': at.toISOString().slice(0, 19).replace('T', ' '),
    'Event-Sequence': String(opts.seq ?? ++nextSeq),
  };
  if (opts.coreUuid) headers['Core-UUID'] = opts.coreUuid;
  return { name: 'HEARTBEAT', headers, body: template.body };
}
