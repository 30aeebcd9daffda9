/**
 * The 1C side of webhooks (issue 10):
 * - the HMAC of integrations/1c/ТелефонистПодпись.bsl, re-implemented here step by step as the BSL does it
 *   (key bytes, hashed first when longer than the 64-byte block, XOR with 0x36 / 0x5c, two SHA-256 passes,
 *   lower-case hex; signature compared in constant time), checked on RFC 4231 and against Node's HMAC;
 * - Basic credentials and extra headers end to end against a real receiver that demands both (401
 *   without), on SQLite and PostgreSQL: events arrive once each, signed; the password is stored sealed and
 *   appears in no API answer and no log line.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { signWebhook } from '../src/events/webhooks';
import { SecretBox, defaultKeyFile } from '../src/events/secret-box';
import { loadConfig } from '../src/config';
import { Level, Logger } from '../src/log';
import { api, DB_KINDS, playAndSettle, Stack, startStack, waitFor } from './helpers';

// ---- HMAC as the BSL computes it -------------------------------------------------------------------

/** ХешированиеДанных(ХешФункция.SHA256): Добавить(ДвоичныеДанные), ХешСумма. */
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

/**
 * Line for line the BSL function HMACSHA256(Ключ, Данные) of ТелефонистПодпись.bsl: both arguments are
 * ДвоичныеДанные; БуферДвоичныхДанных(64) is zero-filled, so key bytes past its length are 0.
 */
function bslHmacSha256(key: Buffer, data: Buffer): string {
  const blockSize = 64;
  let k = key;
  if (k.length > blockSize) k = sha256(k); // Ключ = ХешSHA256(Ключ)
  const keyBuffer = Buffer.alloc(blockSize); // Новый БуферДвоичныхДанных(64)
  k.copy(keyBuffer, 0); // БуферКлюча.Записать(0, ПолучитьБуферДвоичныхДанныхИзДвоичныхДанных(Ключ))
  const ipad = Buffer.alloc(blockSize);
  const opad = Buffer.alloc(blockSize);
  for (let pos = 0; pos < blockSize; pos++) {
    // Для Позиция = 0 По 63 Цикл … ПобитовоеИсключительноеИли(БуферКлюча[Позиция], 54 / 92)
    ipad[pos] = keyBuffer[pos] ^ 0x36;
    opad[pos] = keyBuffer[pos] ^ 0x5c;
  }
  // СоединитьДвоичныеДанные(Массив из ДвоичныеДанные)
  const inner = sha256(Buffer.concat([ipad, data]));
  const outer = sha256(Buffer.concat([opad, inner]));
  return outer.toString('hex').toLowerCase(); // НРег(ПолучитьHexСтрокуИзДвоичныхДанных(…))
}

/** ПодписьВерна: "sha256=" + hex over ts + "." + body bytes, compared without an early exit. */
function bslSignatureMatches(secret: string, ts: string, body: Buffer, header: string): boolean {
  const message = Buffer.concat([Buffer.from(`${ts}.`, 'utf8'), body]);
  const expected = `sha256=${bslHmacSha256(Buffer.from(secret, 'utf8'), message)}`;
  const got = header.trim().toLowerCase();
  if (got.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ got.charCodeAt(i); // КодСимвола, ПобитовоеИли
  return diff === 0;
}

describe('HMAC-SHA256 as ТелефонистПодпись.bsl computes it', () => {
  test('RFC 4231 test case 2 (short key "Jefe")', () => {
    expect(bslHmacSha256(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')))
      .toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  test('RFC 4231 test case 6 (131-byte key, hashed first) and case 7', () => {
    const key = Buffer.alloc(131, 0xaa);
    expect(bslHmacSha256(key, Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First')))
      .toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
    expect(bslHmacSha256(key, Buffer.from('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.')))
      .toBe('9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2');
  });

  test('equals Node\'s HMAC for keys of 0, 1, 63, 64, 65 and 200 bytes and any message', () => {
    for (const n of [0, 1, 16, 63, 64, 65, 200]) {
      const key = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff));
      for (const msg of ['', 'a', '1764500000.{"id":"1","data":{"customer":{"name":"ООО «Ромашка»"}}}', 'x'.repeat(1000)]) {
        const data = Buffer.from(msg, 'utf8');
        expect(bslHmacSha256(key, data)).toBe(createHmac('sha256', key).update(data).digest('hex'));
      }
    }
  });

  test('checks what Telefonist sends: the signature over timestamp + "." + the body bytes (Cyrillic, UTF-8)', () => {
    const secret = 'секрет-вебхука-1С-0001';
    const body = JSON.stringify({ id: '42', type: 'call.ringing', data: { customer: { name: 'ООО «Ромашка»' } } });
    const ts = '1764500000';
    const header = signWebhook(secret, ts, body);
    expect(bslSignatureMatches(secret, ts, Buffer.from(body, 'utf8'), header)).toBe(true);
    expect(bslSignatureMatches(secret, ts, Buffer.from(body, 'utf8'), header.toUpperCase().replace('SHA256=', 'sha256='))).toBe(true);
    expect(bslSignatureMatches(secret, '1764500001', Buffer.from(body, 'utf8'), header)).toBe(false);
    expect(bslSignatureMatches(`${secret}x`, ts, Buffer.from(body, 'utf8'), header)).toBe(false);
    expect(bslSignatureMatches(secret, ts, Buffer.from(body, 'utf8'), header.slice(0, -1))).toBe(false);
  });
});

// ---- secrets at rest --------------------------------------------------------------------------------

describe('SecretBox', () => {
  test('seals with AES-256-GCM bound to the owner; the key file is made once, mode 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'telefonist-key-'));
    try {
      const url = `file:${join(dir, 'telefonist.db')}`;
      expect(defaultKeyFile(url)).toBe(join(dir, 'secrets.key'));
      expect(defaultKeyFile('postgres://db/x')).toBe(join('data', 'secrets.key'));
      const box = SecretBox.open({ databaseUrl: url });
      const file = join(dir, 'secrets.key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const sealed = box.seal('пароль 1С', 'hook-1');
      expect(sealed).toMatch(/^v1:/);
      expect(sealed).not.toContain('пароль');
      expect(box.seal('пароль 1С', 'hook-1')).not.toBe(sealed); // a fresh IV each time
      const again = SecretBox.open({ databaseUrl: url }); // the same file, the same key
      expect(readFileSync(file, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
      expect(again.open(sealed, 'hook-1')).toBe('пароль 1С');
      expect(again.open(sealed, 'hook-2')).toBeNull(); // bound to its webhook
      expect(SecretBox.open({ key: 'ab'.repeat(32), databaseUrl: url }).open(sealed, 'hook-1')).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- configuration -----------------------------------------------------------------------------------

describe('configuration of the environment webhook', () => {
  const base = { TELEFONIST_WEBHOOK_URL: 'http://1c.local/ka/hs/telefonist/events', TELEFONIST_WEBHOOK_SECRET: 'env-secret-0123456789' };
  const problem = (env: Record<string, string>) => {
    try {
      loadConfig(env, { dotenv: false });
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };
  test('valid: user and password, headers as JSON, a hex key', () => {
    const c = loadConfig({
      ...base, TELEFONIST_WEBHOOK_BASIC_USER: 'Телефонист', TELEFONIST_WEBHOOK_BASIC_PASSWORD: 'p@ss word',
      TELEFONIST_WEBHOOK_HEADERS: '{"X-Infobase":"ka"}', TELEFONIST_SECRETS_KEY: 'ab'.repeat(32),
    }, { dotenv: false });
    expect(c.TELEFONIST_WEBHOOK_HEADERS).toEqual({ 'X-Infobase': 'ka' });
  });
  test.each([
    [{ ...base, TELEFONIST_WEBHOOK_BASIC_PASSWORD: 'x' }, 'TELEFONIST_WEBHOOK_BASIC_PASSWORD'],
    [{ ...base, TELEFONIST_WEBHOOK_BASIC_USER: 'a:b' }, 'TELEFONIST_WEBHOOK_BASIC_USER'],
    [{ ...base, TELEFONIST_WEBHOOK_BASIC_USER: 'u', TELEFONIST_WEBHOOK_BASIC_PASSWORD: 'a\r\nX-Evil: 1' }, 'TELEFONIST_WEBHOOK_BASIC_PASSWORD'],
    [{ ...base, TELEFONIST_WEBHOOK_HEADERS: 'X-Infobase: ka' }, 'TELEFONIST_WEBHOOK_HEADERS'],
    [{ ...base, TELEFONIST_WEBHOOK_HEADERS: '{"Authorization":"Basic eA=="}' }, 'TELEFONIST_WEBHOOK_HEADERS'],
    [{ ...base, TELEFONIST_WEBHOOK_URL: 'http://user:s3cr3tpw@1c.local/hs/x' }, 'TELEFONIST_WEBHOOK_URL'],
    [{ TELEFONIST_WEBHOOK_BASIC_USER: 'u' }, 'TELEFONIST_WEBHOOK_URL'],
    [{ TELEFONIST_SECRETS_KEY: 'short' }, 'TELEFONIST_SECRETS_KEY'],
  ])('refused: %j names %s', (env, name) => {
    const msg = problem(env as Record<string, string>);
    expect(msg).toContain(`${name}:`);
    expect(msg).not.toContain('s3cr3tpw');
  });
});

// ---- end to end --------------------------------------------------------------------------------------

/** A 1C publication stand-in: 401 unless Basic user:password and X-Infobase are right; 200 otherwise. */
async function basicReceiver(user: string, password: string, header: [string, string]) {
  const expected = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
  const received: Array<{ status: number; headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const ok = req.headers.authorization === expected && req.headers[header[0].toLowerCase()] === header[1];
      const status = ok ? 200 : 401;
      received.push({ status, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status, ok ? { 'Content-Type': 'text/plain' } : { 'WWW-Authenticate': 'Basic realm="1C"', 'Content-Type': 'text/plain' });
      res.end(ok ? 'ok' : 'unauthorized');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/ka/hs/telefonist/events`,
    received,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** Every line the server logs, at debug level. */
class CapturingLogger extends Logger {
  readonly lines: string[] = [];
  constructor() {
    super('debug');
  }
  override log(level: Level, msg: string, details?: unknown): void {
    const d = details instanceof Error ? { error: details.message, stack: details.stack } : details;
    this.lines.push(`${level} ${msg} ${d === undefined ? '' : JSON.stringify(d)}`);
  }
}

const fromOutside = (number: string) => ({ rewrite: true, outside: { extension: '1000', number } });
const post = (stack: Stack, path: string, body: unknown) =>
  api(stack, path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe.each(DB_KINDS)('webhook Basic credentials and headers, end to end (%s)', (kind) => {
  const USER = 'Телефонист-вебхук';
  const PASSWORD = 'Pa55:word-Секрет-31337';
  const SECRET = 'webhook-hmac-secret-0001';
  let keyDir: string;
  let stack: Stack;
  let logger: CapturingLogger;
  let receiver: Awaited<ReturnType<typeof basicReceiver>>;

  beforeAll(async () => {
    keyDir = mkdtempSync(join(tmpdir(), 'telefonist-keyfile-'));
    receiver = await basicReceiver(USER, PASSWORD, ['X-Infobase', 'ka-main']);
    logger = new CapturingLogger();
    stack = await startStack(kind, {
      log: logger,
      // SQLite: the default key file beside the database; PostgreSQL: a key file named by the variable.
      env: kind === 'postgres' ? { TELEFONIST_SECRETS_KEY_FILE: join(keyDir, 'secrets.key'), LOG_LEVEL: 'debug' } : { LOG_LEVEL: 'debug' },
      start: { webhooks: { baseDelayMs: 30, maxDelayMs: 150, timeoutMs: 2000 } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
    if (kind === 'sqlite' && stack) rmSync(dirname(stack.dbUrl.replace(/^file:/, '')), { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  test('events arrive once each, signed, with the credentials and the header; the password shows nowhere', async () => {
    const created = await post(stack, '/webhooks', {
      url: receiver.url, secret: SECRET, basicAuth: { username: USER, password: PASSWORD }, headers: { 'X-Infobase': 'ka-main' },
    });
    expect(created.status).toBe(201);
    expect(created.body.basicAuth).toEqual({ username: USER, hasPassword: true });
    expect(created.body.headers).toEqual({ 'X-Infobase': 'ka-main' });
    // A receiver registered without them gets 401 and is retried (the same stand-in).
    const bare = await post(stack, '/webhooks', { url: receiver.url, secret: 'webhook-hmac-secret-0002', types: ['call.ended'] });
    expect(bare.status).toBe(201);
    expect(bare.body.basicAuth).toBeNull();

    await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('84951234567'));
    const logged = (await api(stack, '/events?after=0&limit=100')).body.events as Array<{ id: string }>;
    expect(logged.length).toBeGreaterThanOrEqual(3);
    await waitFor(() => receiver.received.filter((d) => d.status === 200).length >= logged.length, 'deliveries with credentials');
    await waitFor(async () => (await api(stack, `/webhooks/${bare.body.id}`)).body.failures >= 2, 'the bare webhook failing');
    await new Promise((r) => setTimeout(r, 200));

    const okOnes = receiver.received.filter((d) => d.status === 200);
    expect(okOnes.map((d) => d.headers['x-telefonist-event-id'])).toEqual(logged.map((e) => e.id)); // in order, once each
    for (const d of okOnes) {
      const ts = String(d.headers['x-telefonist-timestamp']);
      expect(d.headers['x-telefonist-signature']).toBe(signWebhook(SECRET, ts, d.body));
      expect(bslSignatureMatches(SECRET, ts, Buffer.from(d.body, 'utf8'), String(d.headers['x-telefonist-signature']))).toBe(true);
      expect(d.headers['x-infobase']).toBe('ka-main');
      expect(d.headers['content-type']).toBe('application/json; charset=utf-8');
    }
    const refused = receiver.received.filter((d) => d.status === 401);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    for (const d of refused) expect(d.headers.authorization).toBeUndefined();
    const bareState = (await api(stack, `/webhooks/${bare.body.id}`)).body;
    expect(bareState.lastError).toBe('HTTP 401');
    expect(bareState.deliveredAt).toBeNull(); // still waiting at its first event

    // The password: sealed in the database, in no API answer, in no log line.
    const answers = [
      JSON.stringify(created.body),
      JSON.stringify((await api(stack, '/webhooks')).body),
      JSON.stringify((await api(stack, `/webhooks/${created.body.id}`)).body),
      JSON.stringify((await api(stack, '/openapi.json', { token: null })).body),
    ];
    const encoded = Buffer.from(`${USER}:${PASSWORD}`, 'utf8').toString('base64');
    for (const a of answers) {
      expect(a).not.toContain(PASSWORD);
      expect(a).not.toContain(encoded);
    }
    const [row] = await stack.app.db.query<{ basic_user: string; basic_password: string }>('SELECT basic_user, basic_password FROM webhooks WHERE id = ?', [created.body.id]);
    expect(row.basic_user).toBe(USER);
    expect(row.basic_password).toMatch(/^v1:/);
    expect(row.basic_password).not.toContain(PASSWORD);
    expect(logger.lines.some((l) => l.includes('webhook delivery failed'))).toBe(true); // the log did see the 401s
    for (const l of logger.lines) {
      expect(l).not.toContain(PASSWORD);
      expect(l).not.toContain(encoded);
    }
    await api(stack, `/webhooks/${bare.body.id}`, { method: 'DELETE' });

    // The key file: SQLite's beside the database, PostgreSQL's where the variable says.
    const keyFile = kind === 'sqlite' ? join(dirname(stack.dbUrl.replace(/^file:/, '')), 'secrets.key') : join(keyDir, 'secrets.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);

    // A restart reads the same key: deliveries with the credentials go on.
    const before = receiver.received.length;
    await stack.restart();
    await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('84957654321'));
    await waitFor(() => receiver.received.slice(before).filter((d) => d.status === 200).length >= 3, 'deliveries after restart');
    expect(receiver.received.slice(before).every((d) => d.status === 200)).toBe(true);
    await api(stack, `/webhooks/${created.body.id}`, { method: 'DELETE' });
  });

  test('bad credentials, headers and URLs are 400 naming the field, without echoing the password', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ url: 'http://user:secret-pass@1c.local/hs/x' }, 'url'],
      [{ url: 'http://1c.local/hs/x', basicAuth: { username: 'a:b', password: PASSWORD } }, 'basicAuth.username'],
      [{ url: 'http://1c.local/hs/x', basicAuth: { username: 'u', password: `${PASSWORD}\r\nX-Evil: 1` } }, 'basicAuth.password'],
      [{ url: 'http://1c.local/hs/x', basicAuth: { username: 'u' } }, 'basicAuth.password'],
      [{ url: 'http://1c.local/hs/x', basicAuth: { username: 'u', password: 'p', realm: 'x' } }, 'basicAuth.realm'],
      [{ url: 'http://1c.local/hs/x', headers: { Authorization: 'Bearer x' } }, 'headers.Authorization'],
      [{ url: 'http://1c.local/hs/x', headers: { 'x-telefonist-signature': 'sha256=00' } }, 'headers.x-telefonist-signature'],
      [{ url: 'http://1c.local/hs/x', headers: { 'Content-Length': '1' } }, 'headers.Content-Length'],
      [{ url: 'http://1c.local/hs/x', headers: { Host: 'evil' } }, 'headers.Host'],
      [{ url: 'http://1c.local/hs/x', headers: { Connection: 'close' } }, 'headers.Connection'],
      [{ url: 'http://1c.local/hs/x', headers: { 'Transfer-Encoding': 'chunked' } }, 'headers.Transfer-Encoding'],
      [{ url: 'http://1c.local/hs/x', headers: { 'X-A': 'v\r\nX-B: 1' } }, 'headers.X-A'],
      [{ url: 'http://1c.local/hs/x', headers: { 'X-A': 'значение' } }, 'headers.X-A'],
      [{ url: 'http://1c.local/hs/x', headers: { 'X A': 'v' } }, 'headers.X A'],
      [{ url: 'http://1c.local/hs/x', headers: { 'X-A': 'v', 'x-a': 'w' } }, 'headers.x-a'],
      [{ url: 'http://1c.local/hs/x', headers: { 'X-A': 1 } }, 'headers.X-A'],
    ];
    for (const [body, field] of cases) {
      const r = await post(stack, '/webhooks', body);
      expect({ field, status: r.status, got: r.body.error?.field }).toEqual({ field, status: 400, got: field });
      expect(JSON.stringify(r.body)).not.toContain(PASSWORD);
      expect(JSON.stringify(r.body)).not.toContain('secret-pass');
    }
    expect((await api(stack, '/webhooks')).body.items).toEqual([]);
  });
});

describe('the environment webhook with Basic credentials', () => {
  test('delivers with them from TELEFONIST_WEBHOOK_BASIC_USER/PASSWORD and TELEFONIST_WEBHOOK_HEADERS; GET hides the password', async () => {
    const receiver = await basicReceiver('ka-webhook', 'env-password-42', ['X-Infobase', 'ka']);
    const logger = new CapturingLogger();
    const env = {
      TELEFONIST_WEBHOOK_URL: receiver.url,
      TELEFONIST_WEBHOOK_SECRET: 'env-secret-0123456789',
      TELEFONIST_WEBHOOK_BASIC_USER: 'ka-webhook',
      TELEFONIST_WEBHOOK_BASIC_PASSWORD: 'env-password-42',
      TELEFONIST_WEBHOOK_HEADERS: '{"X-Infobase":"ka"}',
      TELEFONIST_SECRETS_KEY: 'cd'.repeat(32),
      LOG_LEVEL: 'debug',
    };
    const stack = await startStack('sqlite', { env, log: logger, start: { webhooks: { baseDelayMs: 30, maxDelayMs: 150 } } });
    try {
      await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('84951234567'));
      await waitFor(() => receiver.received.length >= 3, 'deliveries');
      expect(receiver.received.every((d) => d.status === 200)).toBe(true);
      const hook = (await api(stack, '/webhooks/config')).body;
      expect(hook.basicAuth).toEqual({ username: 'ka-webhook', hasPassword: true });
      expect(JSON.stringify(hook)).not.toContain('env-password-42');
      // With TELEFONIST_SECRETS_KEY no key file is written.
      expect(() => statSync(join(dirname(stack.dbUrl.replace(/^file:/, '')), 'secrets.key'))).toThrow();
      for (const l of logger.lines) expect(l).not.toContain('env-password-42');
    } finally {
      await stack.stop();
      await receiver.close();
      rmSync(dirname(stack.dbUrl.replace(/^file:/, '')), { recursive: true, force: true });
    }
  });
});

describe('a webhook target that answers with a redirect', () => {
  test('the redirect is not followed: the delivery fails and is retried, the redirect target receives nothing', async () => {
    // Where the redirect points: it must never see an event (nor the Basic credentials sent with it).
    const target: IncomingHttpHeaders[] = [];
    const targetServer = createServer((req, res) => {
      target.push(req.headers);
      req.resume();
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    });
    await new Promise<void>((r) => targetServer.listen(0, '127.0.0.1', r));
    const targetUrl = `http://127.0.0.1:${(targetServer.address() as { port: number }).port}/ka/hs/telefonist/events`;
    // The registered receiver: 307 (a redirect that keeps the method and body) to the target.
    const redirects: string[] = [];
    const redirector = createServer((req, res) => {
      redirects.push(String(req.headers['x-telefonist-event-id']));
      req.resume();
      res.writeHead(307, { Location: targetUrl }).end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(redirector.address() as { port: number }).port}/ka/hs/telefonist/events`;
    const stack = await startStack('sqlite', { start: { webhooks: { baseDelayMs: 30, maxDelayMs: 150, timeoutMs: 2000 } } });
    try {
      const hook = await post(stack, '/webhooks', {
        url, secret: 'webhook-hmac-secret-0003', basicAuth: { username: 'ka-webhook', password: 'redirect-password-7' },
      });
      expect(hook.status).toBe(201);
      await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('84951234567'));
      await waitFor(async () => (await api(stack, `/webhooks/${hook.body.id}`)).body.failures >= 3, 'failed, retried deliveries');
      const state = (await api(stack, `/webhooks/${hook.body.id}`)).body;
      expect(state.deliveredAt).toBeNull(); // the first event is still waiting: nothing counted as delivered
      expect(state.lastError).toBeTruthy();
      expect(state.lastError).not.toMatch(/^HTTP 2/);
      expect(redirects.length).toBeGreaterThanOrEqual(3);
      expect(new Set(redirects).size).toBe(1); // the same first event, again and again
      expect(target).toHaveLength(0);
    } finally {
      await stack.stop();
      rmSync(dirname(stack.dbUrl.replace(/^file:/, '')), { recursive: true, force: true });
      await new Promise<void>((r) => {
        redirector.closeAllConnections();
        redirector.close(() => r());
      });
      await new Promise<void>((r) => {
        targetServer.closeAllConnections();
        targetServer.close(() => r());
      });
    }
  });
});
