/**
 * ESL wire framing, built on the FreeSWITCH 1.10.12 captures in shared/fixtures/freeswitch.
 *
 * A frame is a block of `Name: value` header lines ended by an empty line, optionally followed by a body
 * of exactly `Content-Length` bytes. Observed quirks the parser must survive:
 *  - api/response and command/reply put Content-Type first; event frames put Content-Length first;
 *  - JSON event bodies have no trailing newline: the next frame starts right after `}`;
 *  - data arrives split anywhere (inside a header line, inside a multi-byte UTF-8 character of a body).
 */

export interface EslFrame {
  /** Outer headers, not URL-decoded (FreeSWITCH does not encode them). */
  headers: Record<string, string>;
  /** Body bytes as UTF-8 text, when Content-Length was present. */
  body?: string;
}

export class EslProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EslProtocolError';
  }
}

/** Largest body we accept; a bigger Content-Length means the stream is corrupt. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;
const NL = 0x0a;

/**
 * Incremental frame parser. Feed it socket chunks; it returns the complete frames found so far.
 * Throws EslProtocolError when the stream cannot be framed any more (the connection must then be dropped).
 */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private pendingHeaders: Record<string, string> | null = null;
  private pendingLength = 0;

  push(chunk: Buffer): EslFrame[] {
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    }
    this.pos = 0;
    const frames: EslFrame[] = [];
    for (;;) {
      if (this.pendingHeaders) {
        if (this.buf.length - this.pos < this.pendingLength) break;
        const body = this.buf.toString('utf8', this.pos, this.pos + this.pendingLength);
        this.pos += this.pendingLength;
        frames.push({ headers: this.pendingHeaders, body });
        this.pendingHeaders = null;
        continue;
      }
      // FreeSWITCH never sends blank lines between frames, but tolerate stray newlines.
      while (this.pos < this.buf.length && this.buf[this.pos] === NL) this.pos++;
      if (this.pos >= this.buf.length) break;
      const end = this.buf.indexOf('\n\n', this.pos);
      if (end < 0) {
        if (this.buf.length - this.pos > MAX_HEADER_BYTES) {
          throw new EslProtocolError(`header block longer than ${MAX_HEADER_BYTES} bytes`);
        }
        break;
      }
      const headers = parseHeaderBlock(this.buf.toString('utf8', this.pos, end), false);
      this.pos = end + 2;
      const cl = headers['Content-Length'];
      if (cl !== undefined) {
        const len = parseContentLength(cl);
        if (len > 0) {
          this.pendingHeaders = headers;
          this.pendingLength = len;
          continue;
        }
      }
      frames.push({ headers });
    }
    if (this.pos >= this.buf.length) {
      this.buf = Buffer.alloc(0);
      this.pos = 0;
    }
    return frames;
  }

  /** Bytes received but not yet framed (for diagnostics). */
  get buffered(): number {
    return this.buf.length - this.pos;
  }
}

export function parseContentLength(value: string): number {
  if (!/^\d{1,10}$/.test(value.trim())) throw new EslProtocolError(`bad Content-Length: ${JSON.stringify(value)}`);
  const len = Number(value.trim());
  if (len > MAX_BODY_BYTES) throw new EslProtocolError(`Content-Length ${len} exceeds ${MAX_BODY_BYTES}`);
  return len;
}

/** Parses `Name: value` lines. With decode=true values are URL-decoded (plain event bodies). */
export function parseHeaderBlock(text: string, decode: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  let start = 0;
  while (start <= text.length) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    const colon = text.indexOf(': ', start);
    if (colon > start && colon < nl) {
      const name = text.slice(start, colon);
      const raw = text.slice(colon + 2, nl);
      headers[name] = decode ? safeDecode(raw) : raw;
    } else if (nl > start) {
      const line = text.slice(start, nl);
      // `Name:` with an empty value is legal; anything else without a colon is ignored.
      if (line.endsWith(':')) headers[line.slice(0, -1)] = '';
    }
    start = nl + 1;
  }
  return headers;
}

export function safeDecode(value: string): string {
  if (value.indexOf('%') < 0) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Serialises one frame with headers in the given order. A `Content-Length` entry is rewritten to the
 * body's byte length in place (events put it first, replies after Content-Type); if the body is present
 * and no such entry was given it is appended. No newline is added after the body, as FreeSWITCH does.
 */
export function encodeFrame(headers: Array<[string, string]>, body?: string): Buffer {
  const bodyBuf = body !== undefined && body.length > 0 ? Buffer.from(body, 'utf8') : undefined;
  let head = '';
  let wroteLength = false;
  for (const [k, v] of headers) {
    if (k === 'Content-Length') {
      if (!bodyBuf) continue;
      head += `Content-Length: ${bodyBuf.length}\n`;
      wroteLength = true;
    } else {
      head += `${k}: ${v}\n`;
    }
  }
  if (bodyBuf && !wroteLength) head += `Content-Length: ${bodyBuf.length}\n`;
  head += '\n';
  return bodyBuf ? Buffer.concat([Buffer.from(head, 'utf8'), bodyBuf]) : Buffer.from(head, 'utf8');
}
