/**
 * Capture rewriting for replays: a capture mapped onto a new moment (fresh channel UUIDs, this simulator's
 * Core-UUID and event sequence, times shifted and optionally compressed), and a desk-phone party turned into
 * an outside caller on the external profile.
 */
import { randomUUID } from 'node:crypto';
import { EslEvent, EslHeaders, header } from './event';
import type { FixtureEvent } from './fixtures';

const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/**
 * Maps a capture onto a new moment: each channel UUID gets a fresh one (consistently within one call of
 * the returned function's lifetime), Core-UUID and Event-Sequence become the given core's, and every epoch
 * value (s, ms, µs) near the capture's start is shifted by the same offset to `now`.
 */
export function captureRewriter(
  events: FixtureEvent[],
  core: { coreUuid: string; nextSeq: () => number },
  now: number = Date.now(),
  /** Played at this multiple of real time: the times inside the events are compressed the same way. */
  timeScale = 1,
): (ev: EslEvent) => EslEvent {
  const uuidMap = new Map<string, string>();
  const first = events.find((e) => header(e.event, 'Event-Date-Timestamp'));
  const baseUs = first ? Number(header(first.event, 'Event-Date-Timestamp')) : now * 1000;
  const offsetUs = now * 1000 - baseUs;
  const windowS = 86_400;
  const mapUuid = (u: string) => {
    let m = uuidMap.get(u);
    if (!m) {
      m = randomUUID();
      uuidMap.set(u, m);
    }
    return m;
  };
  const shift = (s: string) =>
    s.replace(/\b(\d{16}|\d{13}|\d{10})\b/g, (d) => {
      const n = Number(d);
      // now + (t − first event) / timeScale, in the unit of the value (µs, ms or s).
      if (d.length === 16 && Math.abs(n - baseUs) < windowS * 1e6) return String(Math.round(baseUs + offsetUs + (n - baseUs) / timeScale));
      if (d.length === 13 && Math.abs(n - baseUs / 1000) < windowS * 1e3) return String(Math.round((baseUs + offsetUs) / 1000 + (n - baseUs / 1000) / timeScale));
      if (d.length === 10 && Math.abs(n - baseUs / 1e6) < windowS) return String(Math.round((baseUs + offsetUs) / 1e6 + (n - baseUs / 1e6) / timeScale));
      return d;
    });
  const map = (s: string) => shift(s.replace(UUID_RE, mapUuid));
  return (ev) => {
    const headers: EslHeaders = {};
    for (const [k, v] of Object.entries(ev.headers)) {
      if (k === 'Core-UUID' || k === 'variable_Core-UUID') headers[k] = core.coreUuid;
      else if (k === 'Event-Sequence') headers[k] = String(core.nextSeq());
      else headers[k] = Array.isArray(v) ? v.map(map) : map(v);
    }
    return { name: ev.name, headers, body: ev.body !== undefined ? map(ev.body) : undefined };
  };
}

/** Rewrites a capture so that the party on `extension` is an outside number on the external profile. */
export function asOutsideParty(events: FixtureEvent[], extension: string, number: string): FixtureEvent[] {
  if (!/^[0-9A-Za-z_.+-]+$/.test(extension) || !/^\+?[0-9]+$/.test(number)) throw new Error('bad extension or number');
  const token = new RegExp(`(?<![0-9A-Za-z])${extension.replace(/[.+]/g, '\\$&')}(?![0-9A-Za-z])`, 'g');
  const map = (v: string) => v.replace(token, number).split(`sofia/internal/${number}`).join(`sofia/external/${number}`);
  // The name the desk phone sent ("Alice") is not the customer's: a carrier sends the number as the name.
  const names = new Set(events.filter((fe) => header(fe.event, 'Caller-Caller-ID-Number') === extension).map((fe) => header(fe.event, 'Caller-Caller-ID-Name')));
  return events.map((fe) => {
    const headers: EslHeaders = {};
    for (const [k, v] of Object.entries(fe.event.headers)) {
      headers[k] = Array.isArray(v) ? v.map(map) : /Caller-ID-Name$|caller_id_name$/.test(k) && names.has(v) ? number : map(v);
    }
    return { ...fe, event: { name: fe.event.name, headers, body: fe.event.body !== undefined ? map(fe.event.body) : undefined } };
  });
}
