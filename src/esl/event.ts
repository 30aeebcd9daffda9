import { EslFrame, parseContentLength, parseHeaderBlock, safeDecode } from './frame';

/** Header values are strings; a few multi-value channel variables are arrays (JSON) or `ARRAY::a|:b` (plain). */
export type EslHeaderValue = string | string[];
export type EslHeaders = Record<string, EslHeaderValue>;

export interface EslEvent {
  name: string;
  headers: EslHeaders;
  /** The event's own body (`_body` in JSON, inner Content-Length block in plain), e.g. a BACKGROUND_JOB result. */
  body?: string;
}

export class EslEventDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EslEventDecodeError';
  }
}

export function isEventFrame(frame: EslFrame): boolean {
  const ct = frame.headers['Content-Type'];
  return ct === 'text/event-json' || ct === 'text/event-plain';
}

/** Decodes an event frame (json or plain). Throws EslEventDecodeError on a body it cannot read. */
export function decodeEvent(frame: EslFrame): EslEvent {
  const ct = frame.headers['Content-Type'];
  const text = frame.body ?? '';
  if (ct === 'text/event-json') return decodeJsonEvent(text);
  if (ct === 'text/event-plain') return decodePlainEvent(text);
  throw new EslEventDecodeError(`not an event frame: ${ct ?? '(no Content-Type)'}`);
}

export function decodeJsonEvent(text: string): EslEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new EslEventDecodeError(`invalid JSON event body: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new EslEventDecodeError('JSON event body is not an object');
  }
  // The parsed object is used as the header map as it is (no copy: events are large and many);
  // `header()` reads values defensively, so a stray non-string value cannot break a consumer.
  const obj = parsed as Record<string, unknown>;
  const name = obj['Event-Name'];
  if (typeof name !== 'string' || name === '') throw new EslEventDecodeError('event without Event-Name');
  let body: string | undefined;
  if ('_body' in obj) {
    if (typeof obj._body === 'string') body = obj._body;
    delete obj._body;
  }
  return { name, headers: obj as EslHeaders, body };
}

/**
 * Reads one top-level string value of a FreeSWITCH JSON event without parsing it: inside JSON strings
 * quotes are escaped, so the first `"Key":"` is the key itself. Used to skip events nobody needs
 * (most CHANNEL_EXECUTEs) before paying for JSON.parse.
 */
export function peekJsonString(text: string, key: string): string | undefined {
  const needle = `"${key}":"`;
  const i = text.indexOf(needle);
  if (i < 0) return undefined;
  const start = i + needle.length;
  const end = text.indexOf('"', start);
  return end < 0 ? undefined : text.slice(start, end);
}

export function decodePlainEvent(text: string): EslEvent {
  const sep = text.indexOf('\n\n');
  const headText = sep >= 0 ? text.slice(0, sep) : text.replace(/\n+$/, '');
  const raw = parseHeaderBlock(headText, true);
  const headers: EslHeaders = {};
  for (const key in raw) {
    const v = raw[key];
    headers[key] = v.startsWith('ARRAY::') ? v.slice(7).split('|:') : v;
  }
  const name = raw['Event-Name'];
  if (!name) throw new EslEventDecodeError('event without Event-Name');
  let body: string | undefined;
  const cl = raw['Content-Length'];
  if (cl !== undefined && sep >= 0) {
    let len: number;
    try {
      len = parseContentLength(cl);
    } catch (e) {
      throw new EslEventDecodeError((e as Error).message);
    }
    const rest = Buffer.from(text.slice(sep + 2), 'utf8');
    body = rest.subarray(0, len).toString('utf8');
    delete headers['Content-Length'];
  }
  return { name, headers, body };
}

/** A header as one string (first element of an array value). */
export function header(ev: EslEvent, key: string): string | undefined {
  const v = ev.headers[key] as unknown;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.length ? String(v[0]) : undefined;
  return String(v);
}

/** Encodes an event as a JSON body the way FreeSWITCH does (body in `_body`, no trailing newline). */
export function encodeJsonEventBody(ev: EslEvent): string {
  const obj: Record<string, unknown> = { ...ev.headers };
  if (ev.body !== undefined) {
    obj['Content-Length'] = String(Buffer.byteLength(ev.body));
    obj['_body'] = ev.body;
  }
  return JSON.stringify(obj);
}

/** Encodes an event as a plain body: URL-encoded headers, then the inner body with its own length. */
export function encodePlainEventBody(ev: EslEvent): string {
  let out = '';
  for (const key in ev.headers) {
    if (key === 'Content-Length') continue;
    const v = ev.headers[key];
    const s = Array.isArray(v) ? 'ARRAY::' + v.join('|:') : v;
    out += `${key}: ${encodeURIComponent(s)}\n`;
  }
  if (ev.body !== undefined) {
    out += `Content-Length: ${Buffer.byteLength(ev.body)}\n\n${ev.body}`;
  } else {
    out += '\n';
  }
  return out;
}

export { safeDecode };

/** An event's time in ms on FreeSWITCH's clock (`Event-Date-Timestamp` is µs); undefined when absent. */
export function eventTimestamp(ev: EslEvent): number | undefined {
  const ts = header(ev, 'Event-Date-Timestamp');
  return ts && /^\d+$/.test(ts) ? Math.floor(Number(ts) / 1000) : undefined;
}
