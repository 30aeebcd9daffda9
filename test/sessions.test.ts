/**
 * Panel sign-ins (issue 12): employee credentials, the session cookie, CSRF, the one scope rule for
 * cookie principals, sessions ending with their credentials, restarts, and the served panel. Real HTTP,
 * SQLite and PostgreSQL.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN, api, DB_KINDS, playAndSettle, Stack, startStack, waitFor } from './helpers';

const send = (method: string, body: unknown) => ({ method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const CSRF = { 'X-Telefonist-CSRF': '1' };

interface Login { status: number; body: any; cookie: string; setCookie: string }

async function login(stack: Stack, loginName: string, password: string, headers: Record<string, string> = CSRF): Promise<Login> {
  const res = await fetch(`${stack.base}/session`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ login: loginName, password }) });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, cookie: setCookie.split(';')[0], setCookie };
}

/** A request signed in by cookie (no bearer token). */
async function asCookie(stack: Stack, path: string, cookie: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const headers = new Headers(init.headers);
  headers.set('Cookie', cookie);
  const res = await fetch(`${stack.base}${path}`, { ...init, headers });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, body, headers: res.headers };
}

/** An event stream opened with the cookie, as EventSource does; `ended()` once the server closed it. */
async function openStream(stack: Stack, cookie: string) {
  const ac = new AbortController();
  const res = await fetch(`${stack.base}/events/stream`, { headers: { Cookie: cookie, Accept: 'text/event-stream' }, signal: ac.signal });
  let ended = false;
  void (async () => {
    try {
      for await (const _ of res.body as any as AsyncIterable<Uint8Array>) {
        // drain
      }
    } catch {
      // aborted
    }
    ended = true;
  })();
  return { status: res.status, type: res.headers.get('content-type') ?? '', ended: () => ended, close: () => ac.abort() };
}

describe.each(DB_KINDS)('panel sessions (%s)', (kind) => {
  let stack: Stack;
  let panelDir: string;
  let op1001: string;
  const origin = () => stack.base.replace(/\/api\/v1$/, '');

  beforeAll(async () => {
    panelDir = mkdtempSync(join(tmpdir(), 'telefonist-panel-'));
    mkdirSync(join(panelDir, 'assets'));
    writeFileSync(join(panelDir, 'index.html'), '<!doctype html><html><head><script type="module" src="/assets/index-Ab12Cd34.js"></script></head><body><div id="root"></div></body></html>');
    writeFileSync(join(panelDir, 'assets', 'index-Ab12Cd34.js'), 'console.log("panel")');
    writeFileSync(join(panelDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    stack = await startStack(kind, { start: { panelDir, authThrottle: { burst: 30, windowSeconds: 120 } } });
    expect((await api(stack, '/employees/1001', send('PUT', { name: 'Иван Петров', login: 'Ivanov', password: 'секрет-пароль-1' }))).status).toBe(201);
    expect((await api(stack, '/employees/1003', send('PUT', { name: 'Анна Смирнова', login: 'smirnova', password: 'another-pass-3' }))).status).toBe(201);
    expect((await api(stack, '/employees/1005', send('PUT', { name: 'Ольга Старшая', rights: ['supervisor'], login: 'olga', password: 'supervisor-pass-5' }))).status).toBe(201);
    op1001 = (await api(stack, '/tokens', send('POST', { name: 'Оператор 1001', role: 'operator', employee: '1001' }))).body.token;
    await playAndSettle(stack, '02_inbound_call_bridge', { rewrite: true, outside: { extension: '1000', number: '84951234567' } }); // to 1001
    await playAndSettle(stack, '08_errors', { rewrite: true }); // other phones
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(panelDir, { recursive: true, force: true });
  });

  test('credentials: set by the API, stored as a salted scrypt hash, never returned; 400s name the field', async () => {
    const e = await api(stack, '/employees/1001');
    expect(e.body).toMatchObject({ login: 'ivanov', hasPassword: true });
    expect(JSON.stringify(e.body)).not.toMatch(/scrypt|секрет|password"/);
    const list = await api(stack, '/employees');
    expect(JSON.stringify(list.body)).not.toMatch(/scrypt|секрет/);
    const rows = await stack.app.db.query<{ login: string; password_hash: string }>('SELECT login, password_hash FROM employees WHERE extension = ?', ['1001']);
    expect(rows[0].login).toBe('ivanov');
    expect(rows[0].password_hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);

    const cases: Array<[string, unknown, string]> = [
      ['/employees/1007', { name: 'X', login: 'x7', password: 'short' }, 'password'],
      ['/employees/1007', { name: 'X', login: 'bad login!' }, 'login'],
      ['/employees/1007', { name: 'X', password: 'long-enough-pass' }, 'password'],
      ['/employees/1007', { name: 'X', login: 'IVANOV' }, 'login'], // 1001's login, any case
    ];
    for (const [path, body, field] of cases) {
      const r = await api(stack, path, send('PUT', body));
      expect({ body, status: r.status, field: r.body.error?.field }).toEqual({ body, status: 400, field });
    }
    const sync = await api(stack, '/employees/sync', send('POST', { employees: [{ extension: '1007', name: 'X', login: 'x7' }, { extension: '1008', name: 'Y', login: 'X7' }] }));
    expect([sync.status, sync.body.error.field]).toEqual([400, 'employees[1].login']);
    const sync2 = await api(stack, '/employees/sync', send('POST', { employees: [{ extension: '1007', name: 'X', password: 'long-enough-pass' }] }));
    expect([sync2.status, sync2.body.error.field]).toEqual([400, 'employees[0].password']);
    expect((await api(stack, '/employees/1007')).status).toBe(404); // nothing of a refused batch was written
  });

  test('sign-in: the cookie is HttpOnly, SameSite=Strict, Path=/, random, stored hashed; wrong credentials 401', async () => {
    const ok = await login(stack, ' IVANOV ', 'секрет-пароль-1');
    expect(ok.status).toBe(201);
    expect(ok.body).toEqual({ employee: '1001', extension: '1001', name: 'Иван Петров', login: 'ivanov', role: 'operator', expiresAt: expect.any(String) });
    expect(ok.setCookie).toMatch(/^telefonist_session=[A-Za-z0-9_-]{43}; /);
    expect(ok.setCookie).toMatch(/; HttpOnly/);
    expect(ok.setCookie).toMatch(/; SameSite=Strict/);
    expect(ok.setCookie).toMatch(/; Path=\//);
    expect(ok.setCookie).toMatch(/; Max-Age=43200/);
    expect(ok.setCookie).not.toMatch(/Secure/);
    const id = ok.cookie.split('=')[1];
    const stored = await stack.app.db.query<{ id_hash: string }>('SELECT id_hash FROM panel_sessions WHERE employee = ?', ['1001']);
    expect(stored.map((s) => s.id_hash)).toContain(createHash('sha256').update(id).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(id);
    const again = await login(stack, 'ivanov', 'секрет-пароль-1');
    expect(again.cookie).not.toBe(ok.cookie);

    const wrong = await login(stack, 'ivanov', 'not-the-password');
    const unknown = await login(stack, 'nobody', 'not-the-password');
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.body).toEqual(unknown.body); // the same answer: no login enumeration
    expect(wrong.body.error.code).toBe('invalid_credentials');
    expect(wrong.setCookie).toBe('');
    const missing = await login(stack, 'ivanov', '');
    expect([missing.status, missing.body.error.field]).toEqual([400, 'password']);

    stack.app.tokens.cookieSecure = true; // TELEFONIST_COOKIE_SECURE=true
    try {
      expect((await login(stack, 'ivanov', 'секрет-пароль-1')).setCookie).toMatch(/; Secure/);
    } finally {
      stack.app.tokens.cookieSecure = false;
    }
  });

  test('who am I; an operator session sees exactly what an operator token of its extension sees', async () => {
    const { cookie } = await login(stack, 'ivanov', 'секрет-пароль-1');
    const me = await asCookie(stack, '/session', cookie);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ employee: '1001', role: 'operator', name: 'Иван Петров' });
    expect((await asCookie(stack, '/session', 'telefonist_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status).toBe(401);
    expect((await api(stack, '/session', { token: null })).status).toBe(401);

    const byCookie = (await asCookie(stack, '/calls?limit=500', cookie)).body.items.map((c: any) => c.id);
    const byToken = (await api(stack, '/calls?limit=500', { token: op1001 })).body.items.map((c: any) => c.id);
    const all = (await api(stack, '/calls?limit=500')).body.items;
    expect(byCookie.length).toBeGreaterThan(0);
    expect(byCookie).toEqual(byToken);
    expect(byCookie.length).toBeLessThan(all.length);
    const other = all.find((c: any) => !c.employees.includes('1001'));
    expect((await asCookie(stack, `/calls/${other.id}`, cookie)).status).toBe(403);
    expect((await asCookie(stack, `/calls/${byCookie[0]}`, cookie)).status).toBe(200);
    // Recordings and transcripts go through the same rule (an <audio> element sends the cookie).
    expect((await asCookie(stack, `/calls/${other.id}/recordings/0`, cookie)).status).toBe(403);
    expect([200, 206, 404, 409, 503]).toContain((await asCookie(stack, `/calls/${byCookie[0]}/recordings/0`, cookie)).status);
    expect((await asCookie(stack, `/calls/${other.id}/transcript`, cookie)).status).toBe(403);
    const asked = await asCookie(stack, '/calls?employee=1002', cookie);
    expect([asked.status, asked.body.error.field]).toEqual([403, 'employee']);
    expect((await asCookie(stack, '/tokens', cookie)).status).toBe(403); // admin only
    // Click-to-call from another phone: refused by the same scope rule; from its own: accepted.
    const foreign = await asCookie(stack, '/calls', cookie, { ...send('POST', { employee: '1002', number: '84951234567' }), headers: { 'Content-Type': 'application/json', ...CSRF } });
    expect([foreign.status, foreign.body.error.field]).toEqual([403, 'employee']);
    const own = await asCookie(stack, '/calls', cookie, { ...send('POST', { employee: '1001', number: '84951234567' }), headers: { 'Content-Type': 'application/json', ...CSRF } });
    expect(own.status).toBe(202);
  });

  test('a supervisor session: role from the employee\'s supervisor right, sees every call', async () => {
    const s = await login(stack, 'olga', 'supervisor-pass-5');
    expect(s.body).toMatchObject({ employee: '1005', role: 'supervisor' });
    const all = (await api(stack, '/calls?limit=500')).body.items.length;
    expect((await asCookie(stack, '/calls?limit=500', s.cookie)).body.items.length).toBe(all);
    // The right is read on every request: without it the same session is an operator, and a stream opened
    // as a supervisor is ended (the browser reconnects under the new role); the session itself stays.
    const stream = await openStream(stack, s.cookie);
    expect(stream.status).toBe(200);
    await api(stack, '/employees/1005', send('PUT', { name: 'Ольга Старшая' }));
    await waitFor(() => stream.ended(), 'supervisor stream ended by the lost right', 5000);
    expect((await asCookie(stack, '/session', s.cookie)).body.role).toBe('operator');
    expect((await asCookie(stack, '/calls?employee=1001', s.cookie)).status).toBe(403);
    await api(stack, '/employees/1005', send('PUT', { name: 'Ольга Старшая', rights: ['supervisor'] }));
    expect((await asCookie(stack, '/session', s.cookie)).body.role).toBe('supervisor');
  });

  test('CSRF: a cookie-authenticated POST from another origin, or without the header, is refused', async () => {
    const { cookie } = await login(stack, 'ivanov', 'секрет-пароль-1');
    const body = JSON.stringify({ employee: '1001', number: '84951234567' });
    const before = stack.sim.commands.length;
    const crossSite = await asCookie(stack, '/calls', cookie, { method: 'POST', body, headers: { 'Content-Type': 'application/json', Origin: 'http://evil.example' } });
    expect([crossSite.status, crossSite.body.error.code]).toEqual([403, 'csrf']);
    const bare = await asCookie(stack, '/calls', cookie, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
    expect([bare.status, bare.body.error.code]).toEqual([403, 'csrf']);
    const badReferer = await asCookie(stack, '/calls', cookie, { method: 'POST', body, headers: { 'Content-Type': 'application/json', Referer: 'http://evil.example/page' } });
    expect(badReferer.status).toBe(403);
    expect(stack.sim.commands.length).toBe(before); // nothing reached FreeSWITCH
    const sameOrigin = await asCookie(stack, '/calls', cookie, { method: 'POST', body, headers: { 'Content-Type': 'application/json', Origin: origin() } });
    expect(sameOrigin.status).toBe(202);
    // A forged sign-in (login CSRF) is refused too; reading needs no header.
    const forged = await login(stack, 'ivanov', 'секрет-пароль-1', { Origin: 'http://evil.example' });
    expect(forged.status).toBe(403);
    // It says what a sign-in must send (the README's header), not what a signed-in request must.
    expect(forged.body.error).toMatchObject({ code: 'csrf', field: 'X-Telefonist-CSRF' });
    expect(forged.body.error.message).toContain('sign-in (POST /session) must send the header X-Telefonist-CSRF: 1');
    expect(forged.body.error.message).not.toMatch(/signed in by cookie/);
    const noHeader = await login(stack, 'ivanov', 'секрет-пароль-1', {});
    expect([noHeader.status, noHeader.body.error.field]).toEqual([403, 'X-Telefonist-CSRF']);
    expect(noHeader.body.error.message).toContain('X-Telefonist-CSRF: 1');
    expect((await asCookie(stack, '/calls?limit=1', cookie)).status).toBe(200);
    // A bearer token needs no CSRF header (it is not sent by browsers on their own).
    expect((await api(stack, '/calls', send('POST', { employee: '1001', number: '84951234567' }))).status).toBe(202);
  });

  test('logout ends the session and its open stream', async () => {
    const { cookie } = await login(stack, 'ivanov', 'секрет-пароль-1');
    const stream = await openStream(stack, cookie);
    expect(stream.status).toBe(200);
    expect(stream.type).toMatch(/^text\/event-stream/);
    const out = await asCookie(stack, '/session', cookie, { method: 'DELETE', headers: CSRF });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^telefonist_session=; .*Max-Age=0/);
    await waitFor(() => stream.ended(), 'stream ended by logout', 5000);
    expect((await asCookie(stack, '/session', cookie)).status).toBe(401);
    expect((await asCookie(stack, '/calls', cookie)).status).toBe(401);
  });

  test('a new password ends the employee\'s sessions and streams; the same password again does not', async () => {
    const a = await login(stack, 'smirnova', 'another-pass-3');
    const b = await login(stack, 'smirnova', 'another-pass-3');
    const other = await login(stack, 'ivanov', 'секрет-пароль-1');
    const stream = await openStream(stack, a.cookie);
    expect(stream.status).toBe(200);
    // 1C sends the same password on every sync: no change, nobody signed out.
    expect((await api(stack, '/employees/sync', send('POST', { employees: [{ extension: '1003', name: 'Анна Смирнова', login: 'smirnova', password: 'another-pass-3' }] }))).status).toBe(200);
    expect((await asCookie(stack, '/session', a.cookie)).status).toBe(200);
    expect(stream.ended()).toBe(false);
    expect((await api(stack, '/employees/1003', send('PUT', { name: 'Анна Смирнова', password: 'brand-new-pass-3' }))).status).toBe(200);
    await waitFor(() => stream.ended(), 'stream ended by the password change', 5000);
    expect((await asCookie(stack, '/session', a.cookie)).status).toBe(401);
    expect((await asCookie(stack, '/session', b.cookie)).status).toBe(401);
    expect((await asCookie(stack, '/session', other.cookie)).status).toBe(200); // someone else's session stays
    expect((await login(stack, 'smirnova', 'another-pass-3')).status).toBe(401);
    const fresh = await login(stack, 'smirnova', 'brand-new-pass-3');
    expect(fresh.status).toBe(201);
    // Removing the login, or the employee, ends them as well.
    await api(stack, '/employees/1003', send('PUT', { name: 'Анна Смирнова', login: null }));
    expect((await asCookie(stack, '/session', fresh.cookie)).status).toBe(401);
    expect((await api(stack, '/employees/1003')).body).toMatchObject({ login: null, hasPassword: false });
    await api(stack, '/employees/1003', send('PUT', { name: 'Анна Смирнова', login: 'smirnova', password: 'another-pass-3' }));
    const last = await login(stack, 'smirnova', 'another-pass-3');
    expect((await api(stack, '/employees/1003', { method: 'DELETE' })).status).toBe(204);
    expect((await asCookie(stack, '/session', last.cookie)).status).toBe(401);
  });

  test('a restart keeps the session', async () => {
    const { cookie } = await login(stack, 'ivanov', 'секрет-пароль-1');
    await stack.restart();
    const me = await asCookie(stack, '/session', cookie);
    expect(me.status).toBe(200);
    expect(me.body.employee).toBe('1001');
  });

  test('the panel is served at / with its CSP; unknown pages fall back to index.html; /api keeps its strict headers', async () => {
    const root = await fetch(`${origin()}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await root.text()).toContain('<div id="root">');
    const csp = root.headers.get('content-security-policy') ?? '';
    for (const d of ["script-src 'self'", "style-src 'self' 'unsafe-inline'", "connect-src 'self'", "media-src 'self'", "frame-ancestors 'none'"]) expect(csp).toContain(d);
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(root.headers.get('cache-control')).toBe('no-store');
    expect(root.headers.get('x-content-type-options')).toBe('nosniff');

    const deep = await fetch(`${origin()}/journal/calls/abc?from=2026-01-01`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('<div id="root">');
    expect(deep.headers.get('cache-control')).toBe('no-store');

    const asset = await fetch(`${origin()}/assets/index-Ab12Cd34.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${origin()}/favicon.svg`)).headers.get('cache-control')).toBe('no-cache');
    expect((await fetch(`${origin()}/assets/missing-Zz99.js`)).status).toBe(404);

    const apiMissing = await fetch(`${origin()}/api/v1/no-such-thing`);
    expect(apiMissing.status).toBe(404);
    expect(((await apiMissing.json()) as any).error.code).toBe('not_found');
    expect(apiMissing.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    const apiOk = await fetch(`${stack.base}/health`);
    expect(apiOk.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    expect(apiOk.headers.get('cache-control')).toBe('no-store');

    // Not built: a short Russian page.
    renameSync(join(panelDir, 'index.html'), join(panelDir, 'index.away'));
    try {
      const none = await fetch(`${origin()}/`);
      expect(none.status).toBe(503);
      expect(await none.text()).toMatch(/Панель не собрана[\s\S]*npm install/);
    } finally {
      renameSync(join(panelDir, 'index.away'), join(panelDir, 'index.html'));
    }
  });

  test('failed sign-ins are throttled per client like bad tokens; signed-in sessions keep working', async () => {
    const { cookie } = await login(stack, 'ivanov', 'секрет-пароль-1');
    expect((await asCookie(stack, '/session', cookie)).status).toBe(200);
    expect((await api(stack, '/calls?limit=1')).status).toBe(200);
    let last: Login | undefined;
    for (let i = 0; i < 40; i++) {
      last = await login(stack, 'ivanov', `wrong-${i}`);
      if (last.status === 429) break;
    }
    expect(last!.status).toBe(429);
    const blocked = await fetch(`${stack.base}/session`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...CSRF }, body: JSON.stringify({ login: 'ivanov', password: 'секрет-пароль-1' }) });
    expect(blocked.status).toBe(429); // even the right password: no guessing while throttled
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await asCookie(stack, '/session', cookie)).status).toBe(200); // known-good session
    expect((await api(stack, '/calls?limit=1', { token: ADMIN_TOKEN })).status).toBe(200); // known-good token
  });
});
