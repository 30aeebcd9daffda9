/**
 * Access and input, attacked over real HTTP (issue 9): every view of calls goes through the one scope
 * rule; revoking a token ends what it holds open; failed authentication is throttled per client; every
 * response carries the security headers; bad input, from any layer, is a JSON error naming the problem.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '../src/log';
import { api, ADMIN_TOKEN, DB_KINDS, playAndSettle, SseClient, Stack, startStack, waitFor } from './helpers';

const json = (body: unknown) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const OUTSIDE = { extension: '1000', number: '84951234567' };

/** One raw HTTP/1.1 exchange on a fresh socket: what Node's own HTTP layer answers, before express. */
function rawHttp(port: number, request: string | Buffer): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', (e) => (chunks.length ? undefined : reject(e)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    socket.end(request);
  });
}

function expectSecurityHeaders(h: { get(name: string): string | null } | Record<string, string>) {
  const get = (n: string) => (typeof (h as any).get === 'function' ? (h as any).get(n) : (h as Record<string, string>)[n]);
  expect(get('x-content-type-options')).toBe('nosniff');
  expect(get('x-frame-options')).toBe('DENY');
  expect(get('content-security-policy')).toMatch(/default-src 'none'/);
  expect(get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
  expect(get('cache-control')).toBe('no-store');
}

describe.each(DB_KINDS)('14. every view of calls goes through the one scope rule (%s)', (kind) => {
  let stack: Stack;
  let op1002: string;
  let supervisor: string;
  let onlyOp1001: any; // a call from the customer's number that 1002 took no part in
  let transferred: any; // a call from the same number that 1002 took part in (transferred to it)
  let other: any; // a call from another number, 1001's only
  beforeAll(async () => {
    stack = await startStack(kind);
    op1002 = (await api(stack, '/tokens', json({ name: 'Оператор 1002', role: 'operator', employee: '1002' }))).body.token;
    supervisor = (await api(stack, '/tokens', json({ name: 'Старший смены', role: 'supervisor' }))).body.token;
    await playAndSettle(stack, '02_inbound_call_bridge', { rewrite: true, outside: OUTSIDE }); // 1001 only
    await playAndSettle(stack, '04_blind_transfer', { rewrite: true, outside: OUTSIDE }); // 1001 → 1002
    await playAndSettle(stack, '09_did_inbound_answered', { rewrite: true }); // another number, 1001 only
    const all = (await api(stack, '/calls?limit=500', { token: supervisor })).body.items;
    const fromOutside = all.filter((c: any) => c.externalNumber && c.externalNumber.replace(/\D/g, '').endsWith('4951234567'));
    onlyOp1001 = fromOutside.find((c: any) => !c.employees.includes('1002'));
    transferred = fromOutside.find((c: any) => c.employees.includes('1002'));
    other = all.find((c: any) => c.externalNumber && !fromOutside.includes(c) && !c.employees.includes('1002'));
    expect([onlyOp1001, transferred, other].every(Boolean)).toBe(true);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('a customer\'s history, POST /customers with callId, linked-call counts: an operator sees only their calls', async () => {
    // The single call view is the reference: 403 for the call 1002 took no part in.
    expect((await api(stack, `/calls/${onlyOp1001.id}`, { token: op1002 })).status).toBe(403);

    // Creating a customer from someone else's call would hand the operator its number: 403 naming callId.
    const denied = await api(stack, '/customers', { token: op1002, ...json({ name: 'ООО Чужой', callId: onlyOp1001.id }) });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'forbidden', field: 'callId' });
    expect((await api(stack, '/directory/lookup?number=84951234567', { token: supervisor })).body.kind).toBe('unknown');

    // From their own call: created; both earlier calls from the number are linked, but the operator is
    // told only about their own.
    const created = await api(stack, '/customers', { token: op1002, ...json({ name: 'ООО Ромашка', callId: transferred.id }) });
    expect(created.status).toBe(201);
    expect(created.body.linkedCalls).toBe(1);
    const id = created.body.customer.id;

    const everything = await api(stack, `/customers/${id}/history`, { token: supervisor });
    expect(everything.status).toBe(200);
    expect(everything.body.items.map((c: any) => c.id).sort()).toEqual([onlyOp1001.id, transferred.id].sort());

    const mine = await api(stack, `/customers/${id}/history`, { token: op1002 });
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((c: any) => c.id)).toEqual([transferred.id]);
    expect(JSON.stringify(mine.body)).not.toContain(onlyOp1001.id);
    // The journal filtered by customer says the same.
    expect((await api(stack, `/calls?customer=${id}`, { token: op1002 })).body.items.map((c: any) => c.id)).toEqual([transferred.id]);

    // Binding another number links 1001's call from it: counted for the supervisor's view, not the operator's.
    const bound = await api(stack, `/customers/${id}/phones`, { token: op1002, ...json({ number: other.externalNumber }) });
    expect(bound.status).toBe(201);
    expect(bound.body.linkedCalls).toBe(0);
    expect((await api(stack, `/customers/${id}/history`, { token: supervisor })).body.items).toHaveLength(3);
    expect((await api(stack, `/customers/${id}/history`, { token: op1002 })).body.items).toHaveLength(1);

  });
});

describe('15. revoking a token ends its streams, long-polls and downloads at once (sqlite)', () => {
  let stack: Stack;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'telefonist-sec-'));
    // A recording large enough that its download is still running when the token is revoked.
    writeFileSync(join(dir, '07_stereo.wav'), Buffer.alloc(64 * 1024 * 1024, 1));
    stack = await startStack('sqlite', { env: { TELEFONIST_RECORDINGS_DIR: dir, TELEFONIST_RECORDINGS_FS_DIR: '/var/lib/freeswitch/recordings' } });
    await playAndSettle(stack, '07_stereo_recording', { rewrite: true });
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens an SSE stream and reports when the server ends it. */
  async function openStream(url: string, headers: Record<string, string> = {}) {
    const res = await fetch(url, { headers });
    expect(res.status).toBe(200);
    const state = { text: '', ended: false };
    void (async () => {
      try {
        for await (const chunk of res.body as any as AsyncIterable<Uint8Array>) state.text += Buffer.from(chunk).toString('utf8');
      } catch {
        // cut
      }
      state.ended = true;
    })();
    return state;
  }

  test('SSE (header and ?access_token), a pending long-poll and a recording download end on DELETE /tokens/{id}', async () => {
    const created = (await api(stack, '/tokens', json({ name: 'панель', role: 'supervisor' }))).body;
    const token = created.token as string;
    const byHeader = await openStream(`${stack.base}/events/stream`, { Authorization: `Bearer ${token}` });
    const byQuery = await openStream(`${stack.base}/events/stream?access_token=${token}`);
    const cursor = (await api(stack, '/events?wait=0', { token })).body.cursor;
    const poll = api(stack, `/events?after=${cursor}&wait=30`, { token });

    // Events flow while the token is valid.
    await playAndSettle(stack, '02_inbound_call_bridge', { rewrite: true, outside: OUTSIDE });
    await waitFor(() => byHeader.text.includes('event: call.ended') && byQuery.text.includes('event: call.ended'), 'events on both streams');
    expect((await poll).status).toBe(200);

    const pending = api(stack, '/events?wait=30', { token });
    const call = (await api(stack, '/calls?hasRecording=true')).body.items[0];
    const download = await fetch(`${stack.base}/calls/${call.id}/recordings/0`, { headers: { Authorization: `Bearer ${token}` } });
    expect(download.status).toBe(200);
    const reader = download.body!.getReader();
    let received = (await reader.read()).value!.length;
    await new Promise((r) => setTimeout(r, 100));

    const t0 = Date.now();
    expect((await api(stack, `/tokens/${created.id}`, { method: 'DELETE' })).status).toBe(204);
    // The long-poll answers at once with 401, not after its 30 s.
    const revoked = await pending;
    expect(Date.now() - t0).toBeLessThan(10_000); // at once, not after the 30 s wait (generous for a loaded machine)
    expect(revoked.status).toBe(401);
    expect(revoked.body.error).toMatchObject({ code: 'unauthorized', field: 'Authorization' });
    // Both streams are ended by the server.
    await waitFor(() => byHeader.ended && byQuery.ended, 'streams ended', 2000);
    // The download is cut: the client never gets the whole file.
    let cut = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.length;
      }
    } catch {
      cut = true;
    }
    expect(cut || received < 64 * 1024 * 1024).toBe(true);
    expect(received).toBeLessThan(64 * 1024 * 1024);

    // Nothing more reaches the old streams, and the token opens nothing new.
    const before = byHeader.text.length + byQuery.text.length;
    await playAndSettle(stack, '02_inbound_call_bridge', { rewrite: true, outside: OUTSIDE });
    expect(byHeader.text.length + byQuery.text.length).toBe(before);
    const again = await SseClient.open(`${stack.base}/events/stream?access_token=${token}`);
    expect(again.status).toBe(401);
    again.close();
    expect((await api(stack, '/calls', { token })).status).toBe(401);
  });
});

describe('16. failed authentication is throttled per client; security headers on every response (sqlite)', () => {
  let stack: Stack;
  const warnings: Array<{ msg: string; details: any }> = [];
  class CapturingLogger extends Logger {
    override log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, details?: unknown): void {
      if (level === 'warn') warnings.push({ msg, details });
    }
  }
  beforeAll(async () => {
    stack = await startStack('sqlite', { start: { authThrottle: { burst: 20, windowSeconds: 3 } }, log: new CapturingLogger('warn') });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('a burst of 20 wrong tokens → 401; then 429 with Retry-After and the JSON error, logged once; tokens this client used keep working', async () => {
    const used = (await api(stack, '/tokens', json({ name: '1С', role: 'integration' }))).body.token;
    const unused = (await api(stack, '/tokens', json({ name: 'ещё не входил', role: 'integration' }))).body.token;
    expect((await api(stack, '/calls', { token: used })).status).toBe(200);

    const answers = [];
    for (let i = 0; i < 60; i++) answers.push(await api(stack, '/calls', { token: `wrong-${i}` }));
    expect(answers.slice(0, 20).every((a) => a.status === 401)).toBe(true);
    const throttled = answers.slice(20);
    expect(throttled.every((a) => a.status === 429)).toBe(true);
    expect(throttled[0].body.error).toMatchObject({ code: 'too_many_requests', field: 'Authorization' });
    const res = await fetch(`${stack.base}/calls`, { headers: { Authorization: 'Bearer wrong-again' } });
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expectSecurityHeaders(res.headers);
    // No token at all is a failure too; a token with the right secret but never used from here waits too.
    expect((await api(stack, '/calls', { token: null })).status).toBe(429);
    expect((await api(stack, '/calls', { token: unused })).status).toBe(429);
    // The token this client already used keeps working, and so does the admin's (used by this test client first).
    expect((await api(stack, '/calls', { token: used })).status).toBe(200);
    expect((await api(stack, '/calls')).status).toBe(200);
    // Public endpoints are not behind authentication.
    expect((await api(stack, '/health', { token: null })).status).toBe(200);

    const logged = warnings.filter((w) => /throttled/.test(w.msg));
    expect(logged).toHaveLength(1);
    expect(logged[0].details).toMatchObject({ client: '127.0.0.1', failures: 20 });

    // After Retry-After the window is over: failures get 401 again, the new token works.
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 200));
    expect((await api(stack, '/calls', { token: 'wrong-later' })).status).toBe(401);
    expect((await api(stack, '/calls', { token: unused })).status).toBe(200);
  });

  test('security headers on every kind of answer: data, errors, 404, SSE, public, and the HTTP server\'s own', async () => {
    const base = stack.base;
    const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    for (const [path, headers, status] of [
      ['/calls', auth, 200],
      ['/tokens', auth, 200],
      ['/calls', {}, 401],
      ['/nothing', auth, 404],
      ['/calls/x%20y', auth, 400],
      ['/health', {}, 200],
      ['/openapi.json', {}, 200],
    ] as Array<[string, Record<string, string>, number]>) {
      const res = await fetch(`${base}${path}`, { headers });
      expect([path, res.status]).toEqual([path, status]);
      expectSecurityHeaders(res.headers);
      await res.arrayBuffer();
    }
    const ac = new AbortController();
    const sse = await fetch(`${base}/events/stream`, { headers: auth, signal: ac.signal });
    expect(sse.status).toBe(200);
    expectSecurityHeaders(sse.headers);
    ac.abort();
    const raw = await rawHttp(stack.app.port, `GET /api/v1/calls?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(raw.status).toBe(431);
    expectSecurityHeaders(raw.headers);
  });
});

describe.each(DB_KINDS)('17. bad input is refused with the JSON error shape, from every layer (%s)', (kind) => {
  let stack: Stack;
  const post = (path: string, body: string | Buffer, type = 'application/json') =>
    api(stack, path, { method: 'POST', headers: { 'Content-Type': type }, body });
  beforeAll(async () => {
    stack = await startStack(kind);
    await playAndSettle(stack, '02_inbound_call_bridge', { rewrite: true, outside: OUTSIDE });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('invalid UTF-8, NUL and lone surrogates in a JSON body → 400 naming the problem; nothing stored', async () => {
    const bytes = Buffer.concat([Buffer.from('{"name":"ООО '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('","number":"+74957770011"}')]);
    const bad = await post('/customers', bytes);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_utf8', field: 'body' });
    expect(bad.body.error.message).toContain(`UTF-8 (byte ${Buffer.byteLength('{"name":"ООО ')})`); // where the bad bytes begin
    // The bulk sync parses its own body: the same rule.
    const bulk = await post('/directory/sync', Buffer.concat([Buffer.from('{"customers":[{"id":"c1","name":"'), Buffer.from([0xe0, 0x80]), Buffer.from('"}]}')]));
    expect(bulk.status).toBe(400);
    expect(bulk.body.error.code).toBe('invalid_utf8');
    const nul = await post('/customers', JSON.stringify({ name: 'ООО \u0000', number: '+74957770011' }));
    expect(nul.status).toBe(400);
    expect(nul.body.error).toMatchObject({ code: 'invalid_body', field: 'name' });
    const surrogate = await post('/customers', '{"name":"ООО \\ud800","number":"+74957770011"}');
    expect(surrogate.status).toBe(400);
    expect(surrogate.body.error.field).toBe('name');
    const nested = await post('/directory/sync', JSON.stringify({ customers: [{ id: 'c1', name: 'x', contacts: [{ id: 'k', name: 'a\u0000' }] }] }));
    expect(nested.status).toBe(400);
    expect(nested.body.error.field).toBe('customers[0].contacts[0].name');
    expect((await api(stack, '/directory/lookup?number=%2B74957770011')).body.kind).toBe('unknown');
    // Well-formed UTF-8 still goes in.
    const ok = await post('/customers', Buffer.from(JSON.stringify({ name: 'ООО «Ёлка» 🎄', number: '+74957770011' }), 'utf8'));
    expect(ok.status).toBe(201);
    expect(ok.body.customer.name).toBe('ООО «Ёлка» 🎄');
  });

  test('dates that do not exist → 400 naming the parameter; real ones still work', async () => {
    for (const [query, field] of [
      ['from=2024-02-30T00:00:00Z', 'from'],
      ['from=2023-02-29', 'from'],
      ['to=2024-04-31T10:00:00%2B03:00', 'to'],
      ['from=2024-01-01T24:00:00Z', 'from'],
      ['from=2024-01-01T10:60:00Z', 'from'],
      ['from=2024-01-01T10:00:00%2B25:00', 'from'],
      ['from=2024-13-01', 'from'],
    ]) {
      const r = await api(stack, `/calls?${query}`);
      expect([query, r.status, r.body.error?.field]).toEqual([query, 400, field]);
      expect(r.body.error.code).toBe('invalid_parameter');
    }
    expect((await api(stack, '/calls?from=2024-02-29T00:00:00Z&to=2100-01-01')).status).toBe(200);
    expect((await api(stack, '/calls?from=2024-02-29T10:00:00%2B0300')).status).toBe(200);
  });

  test('malformed URLs, methods, sizes and types: every layer answers the JSON error shape', async () => {
    const malformedPath = await api(stack, '/calls/%E0%A4%A');
    expect(malformedPath.status).toBe(400);
    expect(malformedPath.body.error).toMatchObject({ code: 'invalid_parameter', field: 'path' });
    expect((await api(stack, '/nothing/%E0%A4%A')).body.error.field).toBe('path');
    expect((await api(stack, '/customers/%FF/history')).body.error.field).toBe('path');
    const badQuery = await api(stack, '/calls?q=%E0%A4%A');
    expect([badQuery.status, badQuery.body.error.field]).toEqual([400, 'q']);
    const nulQuery = await api(stack, '/calls?q=a%00b');
    expect([nulQuery.status, nulQuery.body.error.field]).toEqual([400, 'q']);

    const wrongMethod = await fetch(`${stack.base}/calls`, { method: 'DELETE', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST, HEAD');
    expect(((await wrongMethod.json()) as any).error.code).toBe('method_not_allowed');
    expect((await api(stack, '/nothing')).body.error.code).toBe('not_found');

    const tooLarge = await post('/tokens', JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), role: 'admin' }));
    expect([tooLarge.status, tooLarge.body.error.code, tooLarge.body.error.field]).toEqual([413, 'body_too_large', 'body']);
    const notJson = await post('/tokens', 'name=x', 'text/plain');
    expect([notJson.status, notJson.body.error.code]).toEqual([415, 'unsupported_media_type']);
    const latin1 = await post('/tokens', '{"name":"x","role":"admin"}', 'application/json; charset=latin1');
    expect([latin1.status, latin1.body.error.code, latin1.body.error.field]).toEqual([415, 'unsupported_media_type', 'Content-Type']);
    const broken = await post('/tokens', '{"name":');
    expect([broken.status, broken.body.error.code, broken.body.error.field]).toEqual([400, 'invalid_json', 'body']);

    // Node's HTTP layer, before express: a 20 kB query string, garbage, an unknown Expect.
    const long = await rawHttp(stack.app.port, `GET /api/v1/calls?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n\r\n`);
    expect(long.status).toBe(431);
    expect(long.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(long.body).error).toMatchObject({ code: 'headers_too_large', field: 'url' });
    const headers = await rawHttp(stack.app.port, `GET /api/v1/calls HTTP/1.1\r\nHost: x\r\nX-Junk: ${'b'.repeat(20_000)}\r\n\r\n`);
    expect(headers.status).toBe(431);
    expect(JSON.parse(headers.body).error).toMatchObject({ code: 'headers_too_large', field: 'headers' });
    const garbage = await rawHttp(stack.app.port, 'HELLO THERE\r\n\r\n');
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.body).error.code).toBe('bad_request');
    const expectation = await rawHttp(stack.app.port, `POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    expect(expectation.status).toBe(417);
    expect(JSON.parse(expectation.body).error).toMatchObject({ code: 'expectation_failed', field: 'Expect' });
  });
});
