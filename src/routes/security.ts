import type { RequestHandler } from 'express';
import { IncomingMessage, maxHeaderSize, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Logger } from '../log';

/**
 * Headers on every response, errors and the HTTP server's own answers included. The API serves JSON,
 * audio and an event stream, never a page: nothing may be sniffed into HTML, framed, or run as a
 * document (CSP `default-src 'none'`), and nothing it says about calls, customers or tokens may be kept
 * by a browser or proxy cache (`no-store`; the public health and OpenAPI answers too, which is harmless).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** Sets SECURITY_HEADERS (first middleware: every later answer, errors too, carries them). */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set(SECURITY_HEADERS);
  next();
};

/** The error body every layer answers with: {"error": {"code", "message", "field"?}}. */
export function errorBody(code: string, message: string, field?: string): string {
  return JSON.stringify({ error: { code, message, ...(field ? { field } : {}) } });
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 417: 'Expectation Failed', 431: 'Request Header Fields Too Large' };

/** A whole HTTP/1.1 error response written straight to a socket the server could not parse a request from. */
function rawResponse(status: number, body: string): string {
  const headers = {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  };
  return `HTTP/1.1 ${status} ${REASONS[status] ?? 'Bad Request'}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
}

/** What Node's HTTP parser refused, as our status, code, message and field. */
function describe(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, maxHeaderSize: number): [number, string, string, string?] {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW': {
      // The request line (path and query) or the headers are too long; which one, from what arrived.
      const raw = err.rawPacket;
      const eol = raw ? raw.indexOf('\r\n') : -1;
      const url = !raw || eol < 0 || eol > maxHeaderSize / 2;
      return [431, 'headers_too_large', `the request line and headers are longer than ${maxHeaderSize} bytes${url ? ': send long filters in fewer, shorter parameters' : ''}`, url ? 'url' : 'headers'];
    }
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'body_too_large', 'chunk extensions are too large', 'body'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'request_timeout', 'the request did not arrive in time'];
    default:
      return [400, 'bad_request', `malformed HTTP request (${err.code ?? 'parse error'})`];
  }
}

/**
 * Makes the HTTP server's own answers, given before express sees a request, the JSON error shape: a
 * request it cannot parse (400), one whose request line and headers exceed `maxHeaderSize` (431, e.g. a
 * 20 kB query string), a timeout (408), an `Expect` it does not know (417).
 */
export function jsonClientErrors(server: Server, log?: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, code, message, field] = describe(err, maxHeaderSize);
    log?.debug('refused a malformed HTTP request', { status, code: err.code });
    socket.end(rawResponse(status, errorBody(code, message, field)));
    setTimeout(() => socket.destroy(), 1000).unref();
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = errorBody('expectation_failed', `Expect: ${String(req.headers.expect).slice(0, 100)} is not supported; only 100-continue is`, 'Expect');
    res.writeHead(417, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(body);
  });
}
