/**
 * Employees' own Telegram accounts (issue 13, C9), tested at the MTProto client boundary with a fake
 * client (no fake MTProto server exists), through real HTTP on SQLite and PostgreSQL: login steps (code,
 * two-step password, wrong code / password), who may connect whose account, the session sealed in its
 * column and absent from every answer and log line, reachability by phone (resolve, import + delete),
 * first message by phone, what the employee types on his phone arriving as his reply, restart (reconnect
 * from the stored session), disconnect (log out, row removed), and 503 without TELEGRAM_API_ID/HASH.
 *
 * The chat engine's side is the adapter sink here: the test registry starts each adapter with a sink that
 * records what the engine would store.
 */
import { InboundEvent, MessengerAdapter } from '../src/messengers/adapter';
import { Level, Logger } from '../src/log';
import { loadConfig } from '../src/config';
import { ADMIN_TOKEN, api, DB_KINDS, Stack, startStack, waitFor } from './helpers';
import { FakeTelegram } from './fake-telegram-user';

const send = (method: string, body: unknown, token?: string) => ({ method, token, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const BASE = '/messengers/telegram/accounts';
const API_ENV = { TELEGRAM_API_ID: '123456', TELEGRAM_API_HASH: '0123456789abcdef0123456789abcdef' };

class CapturingLogger extends Logger {
  readonly lines: string[] = [];
  constructor() {
    super('debug');
  }
  override log(level: Level, msg: string, details?: unknown): void {
    this.lines.push(`${level} ${msg} ${JSON.stringify(details ?? null)}`);
  }
}

describe.each(DB_KINDS)('Telegram user accounts (%s)', (kind) => {
  const tg = new FakeTelegram();
  const ivan = tg.addUser({ phone: '+79161112233', firstName: 'Иван', username: 'ivan_sales', code: '12345' });
  const anna = tg.addUser({ phone: '+79162223344', firstName: 'Анна', code: '54321', password: 'тайный пароль' });
  const customer = tg.addUser({ phone: '+79035556677', firstName: 'Клиент', code: '11111' });
  const hidden = tg.addUser({ phone: '+79037778899', firstName: 'Скрытный', code: '22222', resolvable: false });
  const log = new CapturingLogger();
  const registered = new Map<string, MessengerAdapter>();
  const inbound: InboundEvent[] = [];
  /** How many next sink calls fail (the database briefly refusing). */
  let sinkFailures = 0;
  const registry = {
    add: async (a: MessengerAdapter) => {
      registered.set(a.accountId, a);
      await a.start(async (e) => {
        if (sinkFailures > 0) {
          sinkFailures--;
          throw new Error('SQLITE_BUSY: database is locked');
        }
        inbound.push(e);
      });
    },
    remove: async (accountId: string) => {
      registered.delete(accountId);
    },
  };
  let stack: Stack;
  let op1001: string;
  let op1003: string;
  let ivanAccount: any;
  let annaAccount: any;

  beforeAll(async () => {
    stack = await startStack(kind, { env: API_ENV, log, start: { telegramUserClient: tg.factory, messengerRegistry: registry } });
    for (const [ext, name] of [['1001', 'Иван Продажин'], ['1003', 'Анна Смирнова']]) {
      expect((await api(stack, `/employees/${ext}`, send('PUT', { name }))).status).toBe(201);
    }
    op1001 = (await api(stack, '/tokens', send('POST', { name: 'op 1001', role: 'operator', employee: '1001' }))).body.token;
    op1003 = (await api(stack, '/tokens', send('POST', { name: 'op 1003', role: 'operator', employee: '1003' }))).body.token;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('login: phone → code (a wrong code is a 400 naming code) → connected; the session is sealed', async () => {
    const begin = await api(stack, BASE, send('POST', { phone: '8 (916) 111-22-33' }, op1001));
    expect(begin.status).toBe(202);
    expect(begin.body).toMatchObject({ status: 'code_sent', next: 'code', employee: '1001', phone: ivan.phone });
    const wrong = await api(stack, `${BASE}/${begin.body.id}/code`, send('POST', { code: '99999' }, op1001));
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatchObject({ code: 'invalid_code', field: 'code' });
    // Another employee cannot continue this login.
    expect((await api(stack, `${BASE}/${begin.body.id}/code`, send('POST', { code: '12345' }, op1003))).status).toBe(404);
    // The password step before the code: 409.
    expect((await api(stack, `${BASE}/${begin.body.id}/password`, send('POST', { password: 'x' }, op1001))).status).toBe(409);
    const ok = await api(stack, `${BASE}/${begin.body.id}/code`, send('POST', { code: '12345' }, op1001));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: 'connected', account: { employee: '1001', phone: ivan.phone, telegramUserId: ivan.id, username: 'ivan_sales', state: 'connected' } });
    ivanAccount = ok.body.account;
    expect(registered.has(ivanAccount.accountId)).toBe(true);
    // The login is over: its id no longer takes codes.
    expect((await api(stack, `${BASE}/${begin.body.id}/code`, send('POST', { code: '12345' }, op1001))).status).toBe(404);

    const [row] = await stack.app.db.query<{ session: string }>('SELECT session FROM telegram_accounts WHERE id = ?', [ivanAccount.id]);
    const session = [...tg.authorized.entries()].find(([, id]) => id === ivan.id)![0];
    expect(row.session).toMatch(/^v1:/);
    expect(row.session).not.toContain(session);
    expect(row.session).not.toContain(session.slice(13, 40));
  });

  test('login with two-step verification: code → password (wrong: 400 naming password) → connected', async () => {
    const begin = await api(stack, BASE, send('POST', { phone: '+7 916 222-33-44' }, op1003));
    expect(begin.status).toBe(202);
    const code = await api(stack, `${BASE}/${begin.body.id}/code`, send('POST', { code: '54321' }, op1003));
    expect(code.status).toBe(200);
    expect(code.body).toMatchObject({ status: 'password_needed', next: 'password', hint: 'кот' });
    const wrong = await api(stack, `${BASE}/${begin.body.id}/password`, send('POST', { password: 'не тот' }, op1003));
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatchObject({ code: 'invalid_password', field: 'password' });
    const ok = await api(stack, `${BASE}/${begin.body.id}/password`, send('POST', { password: 'тайный пароль' }, op1003));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: 'connected', account: { employee: '1003', telegramUserId: anna.id } });
    annaAccount = ok.body.account;
  });

  test('who may connect and see whose account; bad input', async () => {
    // An employee connects only his own account; an admin names the employee.
    expect((await api(stack, BASE, send('POST', { phone: '+79161112233', employee: '1003' }, op1001))).status).toBe(403);
    const noEmployee = await api(stack, BASE, send('POST', { phone: '+79161112233' }));
    expect(noEmployee.status).toBe(400);
    expect(noEmployee.body.error.field).toBe('employee');
    const badPhone = await api(stack, BASE, send('POST', { phone: 'позвоните мне' }, op1001));
    expect(badPhone.status).toBe(400);
    expect(badPhone.body.error.field).toBe('phone');
    const badCode = await api(stack, `${BASE}/nope/code`, send('POST', { code: '12345' }, op1001));
    expect(badCode.status).toBe(404);
    // Lists: an employee his own, an admin all (or one employee's).
    const mine = await api(stack, BASE, { token: op1001 });
    expect(mine.body.items.map((a: any) => a.employee)).toEqual(['1001']);
    expect((await api(stack, `${BASE}?employee=1003`, { token: op1001 })).status).toBe(403);
    const all = await api(stack, BASE);
    expect(all.body.items.map((a: any) => a.employee).sort()).toEqual(['1001', '1003']);
    expect((await api(stack, `${BASE}?employee=1003`)).body.items).toHaveLength(1);
    // Another employee's account cannot be disconnected by him.
    expect((await api(stack, `${BASE}/${annaAccount.id}`, { method: 'DELETE', token: op1001 })).status).toBe(404);
  });

  test('reachability by phone: resolve, import (then the imported contact is deleted), not registered', async () => {
    const adapter = registered.get(ivanAccount.accountId)!;
    expect(await adapter.checkPhone(customer.phone)).toMatchObject({ reachable: 'yes', peerId: customer.id, canWriteFirst: true });
    expect(tg.imports).toHaveLength(0);
    expect(await adapter.checkPhone(hidden.phone)).toMatchObject({ reachable: 'yes', peerId: hidden.id });
    expect(tg.imports).toEqual([{ owner: ivan.id, phone: hidden.phone }]);
    expect(tg.deletions).toEqual([{ owner: ivan.id, ids: [hidden.id] }]);
    expect(tg.contacts.get(ivan.id)?.has(hidden.id)).toBe(false);
    expect(await adapter.checkPhone('+79990000000')).toMatchObject({ reachable: 'no', canWriteFirst: false });
  });

  test('first message by phone; what the employee types on his phone is his reply; the customer\'s is the customer\'s', async () => {
    const adapter = registered.get(ivanAccount.accountId)!;
    const r = await adapter.send({ accountId: adapter.accountId, peerId: hidden.phone, text: 'Здравствуйте! Ваш заказ готов.' });
    expect(tg.sent.at(-1)).toMatchObject({ from: ivan.id, to: hidden.id, text: 'Здравствуйте! Ваш заказ готов.', id: Number(r.externalId) });
    const f = await adapter.send({ accountId: adapter.accountId, peerId: hidden.id, text: 'Счёт', file: { bytes: Buffer.from('%PDF-1.4'), fileName: 'счёт.pdf', mimeType: 'application/pdf' } });
    expect(tg.sent.at(-1)).toMatchObject({ id: Number(f.externalId), file: { fileName: 'счёт.pdf', caption: 'Счёт' } });
    // Our own send echoed as an outgoing update is not a message from the phone.
    expect(inbound.filter((e) => e.kind === 'message' && e.externalId === r.externalId)).toHaveLength(0);

    const fromCustomer = tg.customerWrites(hidden, ivan, 'Спасибо, а когда доставка?');
    const fromPhone = tg.employeeTypesOnPhone(ivan, hidden, 'Завтра до обеда');
    await waitFor(() => inbound.length >= 2, 'both messages in the sink');
    expect(inbound).toEqual([
      expect.objectContaining({ kind: 'message', accountId: ivanAccount.accountId, externalId: String(fromCustomer), direction: 'customer', text: 'Спасибо, а когда доставка?', peer: expect.objectContaining({ peerId: hidden.id, phone: hidden.phone, displayName: 'Скрытный' }) }),
      expect.objectContaining({ kind: 'message', accountId: ivanAccount.accountId, externalId: String(fromPhone), direction: 'employee', employee: '1001', text: 'Завтра до обеда', peer: expect.objectContaining({ peerId: hidden.id }) }),
    ]);
    expect((inbound[0] as any).employee).toBeUndefined();
    // A send to a peer Telegram does not know fails for good (not retried).
    await expect(adapter.send({ accountId: adapter.accountId, peerId: '424242', text: 'x' })).rejects.toMatchObject({ retryable: false });
  });

  test('a save that fails (the database briefly refusing) is retried and stored once; the cursor passes it only then', async () => {
    const n = inbound.length;
    sinkFailures = 1;
    const id = tg.customerWrites(customer, ivan, 'Повторите, пожалуйста');
    await waitFor(() => inbound.length > n, 'stored after a retry');
    expect(sinkFailures).toBe(0);
    expect(inbound.slice(n)).toEqual([expect.objectContaining({ kind: 'message', externalId: String(id), text: 'Повторите, пожалуйста' })]);
    expect(log.lines.some((l) => /not stored yet/.test(l) && /SQLITE_BUSY/.test(l))).toBe(true);
    await waitFor(async () => Number((await stack.app.db.query<{ c: number }>('SELECT last_message_id AS c FROM telegram_accounts WHERE id = ?', [ivanAccount.id]))[0].c) === id, 'the cursor');
    await new Promise((r) => setTimeout(r, 50));
    expect(inbound.length).toBe(n + 1);
  });

  test('restart: accounts reconnect from their stored sessions', async () => {
    const before = tg.created.length;
    registered.clear();
    await stack.restart();
    await stack.app.telegramAccounts.ready;
    const reopened = tg.created.slice(before).map((o) => o.session).sort();
    const live = [...tg.authorized.entries()].filter(([, id]) => id === ivan.id || id === anna.id).map(([s]) => s).sort();
    expect(reopened).toEqual(live);
    expect([...registered.keys()].sort()).toEqual([ivanAccount.accountId, annaAccount.accountId].sort());
    const list = await api(stack, BASE);
    expect(list.body.items.map((a: any) => a.state)).toEqual(['connected', 'connected']);
    // The reconnected adapter still delivers the phone's messages.
    const n = inbound.length;
    tg.employeeTypesOnPhone(anna, customer, 'Добрый день');
    await waitFor(() => inbound.length > n, 'message after restart');
    expect(inbound.at(-1)).toMatchObject({ direction: 'employee', employee: '1003', accountId: annaAccount.accountId });
  });

  test('disconnect logs out on Telegram and removes the session', async () => {
    const session = [...tg.authorized.entries()].find(([, id]) => id === ivan.id)![0];
    const del = await api(stack, `${BASE}/${ivanAccount.id}`, { method: 'DELETE', token: op1001 });
    expect(del.status).toBe(204);
    expect(tg.loggedOut).toContain(session);
    expect(registered.has(ivanAccount.accountId)).toBe(false);
    expect(await stack.app.db.query('SELECT id FROM telegram_accounts WHERE id = ?', [ivanAccount.id])).toHaveLength(0);
    expect((await api(stack, BASE, { token: op1001 })).body.items).toEqual([]);
    expect((await api(stack, `${BASE}/${ivanAccount.id}`, { method: 'DELETE', token: op1001 })).status).toBe(404);
  });

  test('sessions never appear in an answer or a log line', async () => {
    const sessions = tg.created.map((o) => o.session).concat([...tg.authorized.keys()], tg.loggedOut).filter(Boolean);
    expect(sessions.length).toBeGreaterThan(2);
    const answers = JSON.stringify([(await api(stack, BASE)).body, (await api(stack, BASE, { token: op1003 })).body]);
    const logs = log.lines.join('\n');
    for (const s of sessions) {
      expect(answers).not.toContain(s);
      expect(logs).not.toContain(s);
    }
    expect(answers).not.toMatch(/session/i);
  });
});

describe('Telegram user accounts without TELEGRAM_API_ID / TELEGRAM_API_HASH', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('sqlite');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('configuration: both or neither, each checked', () => {
    expect(() => loadConfig({ TELEGRAM_API_ID: '123456' }, { dotenv: false })).toThrow(/TELEGRAM_API_HASH: .*go together/);
    expect(() => loadConfig({ ...API_ENV, TELEGRAM_API_HASH: 'not-a-hash' }, { dotenv: false })).toThrow(/TELEGRAM_API_HASH: must be the 32 hex/);
    expect(() => loadConfig({ ...API_ENV, TELEGRAM_API_ID: 'abc' }, { dotenv: false })).toThrow(/TELEGRAM_API_ID/);
    expect(loadConfig(API_ENV, { dotenv: false })).toMatchObject({ TELEGRAM_API_ID: 123456, TELEGRAM_API_HASH: API_ENV.TELEGRAM_API_HASH });
  });

  test('503 saying what to configure, in Russian', async () => {
    for (const [path, init] of [
      [BASE, send('POST', { phone: '+79161112233', employee: '1001' })],
      [BASE, {}],
      [`${BASE}/x/code`, send('POST', { code: '12345' })],
      [`${BASE}/x`, { method: 'DELETE' }],
    ] as const) {
      const r = await api(stack, path, { ...init, token: ADMIN_TOKEN });
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('telegram_not_configured');
      expect(r.body.error.message).toMatch(/TELEGRAM_API_ID.*TELEGRAM_API_HASH/);
      expect(r.body.error.message).toMatch(/настро/);
    }
  });
});

describe.each(DB_KINDS)('Telegram user accounts in the chat engine (%s)', (kind) => {
  const tg = new FakeTelegram();
  const ivan = tg.addUser({ phone: '+79161112233', firstName: 'Иван', code: '12345' });
  const customer = tg.addUser({ phone: '+79035556677', firstName: 'Клиент', code: '11111' });
  const stranger = tg.addUser({ phone: '+79037778899', firstName: 'Новый', code: '22222', resolvable: false });
  let stack: Stack;
  let op1001: string;
  let op1003: string;
  let sup1002: string;
  let accountId: string;

  beforeAll(async () => {
    stack = await startStack(kind, { env: API_ENV, start: { telegramUserClient: tg.factory } });
    expect((await api(stack, '/employees/sync', send('POST', { employees: [
      { extension: '1001', name: 'Иван Продажин' },
      { extension: '1002', name: 'Ольга Старшая', rights: ['supervisor'] },
      { extension: '1003', name: 'Анна Смирнова' },
    ] }))).status).toBe(200);
    op1001 = (await api(stack, '/tokens', send('POST', { name: 'op 1001', role: 'operator', employee: '1001' }))).body.token;
    op1003 = (await api(stack, '/tokens', send('POST', { name: 'op 1003', role: 'operator', employee: '1003' }))).body.token;
    sup1002 = (await api(stack, '/tokens', send('POST', { name: 'sup 1002', role: 'operator', employee: '1002' }))).body.token;
    const begin = await api(stack, BASE, send('POST', { phone: ivan.phone }, op1001));
    const done = await api(stack, `${BASE}/${begin.body.id}/code`, send('POST', { code: '12345' }, op1001));
    expect(done.body.status).toBe('connected');
    accountId = done.body.account.accountId;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const chatOf = async (peerId: string) =>
    (await stack.app.db.query<{ id: string }>('SELECT id FROM chats WHERE account_id = ? AND peer_id = ?', [accountId, peerId]))[0]?.id;

  test('a chat on an employee\'s own account is his from the start: in no queue, colleagues get 403 and no event; his phone reply is his', async () => {
    const cursor = (await api(stack, '/events?wait=0')).body.cursor;
    tg.customerWrites(customer, ivan, 'Добрый день, есть вопрос по счёту');
    await waitFor(async () => !!(await chatOf(customer.id)), 'the chat');
    const id = (await chatOf(customer.id))!;
    expect((await api(stack, `/chats/${id}`, { token: op1001 })).body).toMatchObject({ status: 'in_work', responsible: '1001' });
    expect((await api(stack, '/chats?view=my', { token: op1001 })).body.items.map((c: any) => c.id)).toEqual([id]);
    // A colleague: not in his queue, not readable, not writable, no event about it.
    expect((await api(stack, '/chats?view=queue', { token: op1003 })).body.total).toBe(0);
    expect((await api(stack, `/chats/${id}`, { token: op1003 })).status).toBe(403);
    expect((await api(stack, `/chats/${id}/messages`, { token: op1003 })).status).toBe(403);
    expect((await api(stack, `/chats/${id}/messages`, send('POST', { text: 'я отвечу' }, op1003))).status).toBe(403);
    const seen = (await api(stack, `/events?after=${cursor}&wait=0`, { token: op1003 })).body.events;
    expect(seen.filter((ev: any) => ev.type.startsWith('chat.'))).toEqual([]);
    const created = (await api(stack, `/events?after=${cursor}&wait=0&types=chat.created`, { token: op1001 })).body.events;
    expect(created.map((ev: any) => ev.data)).toEqual([expect.objectContaining({ personalAccount: true, responsible: '1001' })]);
    // Supervisors see every chat (the one rule, src/auth/scope.ts), this one too.
    expect((await api(stack, `/chats/${id}`, { token: sup1002 })).status).toBe(200);
    tg.employeeTypesOnPhone(ivan, customer, 'Здравствуйте, слушаю');
    await waitFor(async () => (await api(stack, `/chats/${id}/messages`, { token: op1001 })).body.items.length === 2, 'his reply');
    expect((await api(stack, `/chats/${id}`, { token: op1001 })).body).toMatchObject({ status: 'in_work', responsible: '1001' });
    const msgs = (await api(stack, `/chats/${id}/messages`, { token: op1001 })).body.items;
    expect(msgs.map((m: any) => [m.direction, m.author, m.text])).toEqual([
      ['in', null, 'Добрый день, есть вопрос по счёту'],
      ['out', '1001', 'Здравствуйте, слушаю'],
    ]);
  });

  test('closed, the customer writes again: back to its owner, never the queue (whatever TELEFONIST_CHAT_REOPEN says)', async () => {
    const id = (await chatOf(customer.id))!;
    expect((await api(stack, `/chats/${id}/close`, send('POST', {}, op1001))).body.status).toBe('closed');
    tg.customerWrites(customer, ivan, 'И ещё вопрос');
    await waitFor(async () => (await api(stack, `/chats/${id}`, { token: op1001 })).body.status === 'in_work', 'reopened');
    expect((await api(stack, `/chats/${id}`, { token: op1001 })).body).toMatchObject({ status: 'in_work', responsible: '1001' });
    expect((await api(stack, '/chats?view=queue', { token: op1003 })).body.total).toBe(0);
    expect((await api(stack, `/chats/${id}`, { token: op1003 })).status).toBe(403);
  });

  test('first message by phone through the engine; a number not on Telegram is a 422', async () => {
    const start = await api(stack, '/chats/start', send('POST', { accountId, phone: '8 903 777-88-99', text: 'Ваш заказ готов' }, op1001));
    expect(start.status).toBe(201);
    expect(start.body).toMatchObject({ reachability: { reachable: 'yes', peerId: stranger.id }, chat: { status: 'in_work', responsible: '1001' } });
    await waitFor(() => tg.sent.some((s) => s.to === stranger.id && s.text === 'Ваш заказ готов'), 'the first message sent');
    expect(tg.contacts.get(ivan.id)?.has(stranger.id)).toBe(false);
    const none = await api(stack, '/chats/start', send('POST', { accountId, phone: '+79990000000', text: 'x' }, op1001));
    expect(none.status).toBe(422);
    expect(none.body.error).toMatchObject({ code: 'not_registered', field: 'phone' });
  });

  test('a colleague (or a supervisor, or 1C without an employee) neither starts chats from his account nor checks numbers through it', async () => {
    const imported = () => tg.contacts.get(ivan.id)?.size ?? 0;
    const before = { sent: tg.sent.length, contacts: imported() };
    for (const token of [op1003, sup1002]) {
      const start = await api(stack, '/chats/start', send('POST', { accountId, phone: '+79035556677', text: 'от чужого имени' }, token));
      expect(start.status).toBe(403);
      expect(start.body.error).toMatchObject({ code: 'personal_account', field: 'accountId' });
      const named = await api(stack, `/chats/reachability?phone=%2B79035556677&accountId=${encodeURIComponent(accountId)}`, { token });
      expect(named.status).toBe(403);
      expect(named.body.error).toMatchObject({ code: 'personal_account', field: 'accountId' });
      // Asked without accounts: his account is simply not among the answers.
      const all = await api(stack, '/chats/reachability?phone=%2B79035556677', { token });
      expect(all.status).toBe(200);
      expect(all.body.items.map((i: any) => i.accountId)).not.toContain(accountId);
    }
    const integration = await api(stack, '/chats/start', send('POST', { accountId, phone: '+79035556677', text: 'x', employee: '1003' }));
    expect(integration.status).toBe(403);
    expect((await api(stack, '/chats/reachability?phone=%2B79035556677')).body.items.map((i: any) => i.accountId)).not.toContain(accountId);
    // Nothing went out and no contact was imported on his Telegram.
    expect(tg.sent.length).toBe(before.sent);
    expect(imported()).toBe(before.contacts);
    // The accounts a colleague may write from do not include his; 1C sees it with its owner.
    expect((await api(stack, '/messengers', { token: op1003 })).body.items.map((i: any) => i.accountId)).not.toContain(accountId);
    expect((await api(stack, '/messengers', { token: op1001 })).body.items).toContainEqual(expect.objectContaining({ accountId, owner: '1001' }));
    expect((await api(stack, '/messengers')).body.items).toContainEqual(expect.objectContaining({ accountId, owner: '1001' }));
    // He himself checks and starts as before.
    const mine = await api(stack, '/chats/reachability?phone=%2B79035556677', { token: op1001 });
    expect(mine.body.items).toEqual([expect.objectContaining({ accountId, reachable: 'yes' })]);
  });

  const messagesOf = async (id: string) => (await api(stack, `/chats/${id}/messages`, { token: op1001 })).body.items;
  const storedCount = async () => Number((await stack.app.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM chat_messages WHERE account_id = ?', [accountId]))[0].n);

  test('the customer edits and deletes a message and reads our reply: the message changes and events say so', async () => {
    const id = (await chatOf(customer.id))!;
    const cursor = (await api(stack, '/events?wait=0')).body.cursor;
    const typo = tg.customerWrites(customer, ivan, 'Счёт на 100 руб.');
    await waitFor(async () => (await messagesOf(id)).some((m: any) => m.externalId === String(typo)), 'stored');
    tg.customerEdits(customer, ivan, typo, 'Счёт на 1000 руб.');
    await waitFor(async () => (await messagesOf(id)).find((m: any) => m.externalId === String(typo)).text === 'Счёт на 1000 руб.', 'edited');
    expect((await messagesOf(id)).find((m: any) => m.externalId === String(typo)).editedAt).not.toBeNull();
    const reply = await api(stack, `/chats/${id}/messages`, send('POST', { text: 'Проверю и отвечу' }, op1001));
    expect(reply.status).toBe(202);
    const stateOf = async () => (await messagesOf(id)).find((m: any) => m.id === reply.body.id);
    await waitFor(async () => (await stateOf()).state === 'sent', 'sent');
    tg.customerReads(customer, ivan);
    await waitFor(async () => (await stateOf()).state === 'read', 'read');
    tg.customerDeletes(customer, ivan, typo);
    await waitFor(async () => !!(await messagesOf(id)).find((m: any) => m.externalId === String(typo)).deletedAt, 'deleted');
    expect((await messagesOf(id)).find((m: any) => m.externalId === String(typo)).text).toBeNull();
    const events = (await api(stack, `/events?after=${cursor}&wait=0&limit=500`, { token: op1001 })).body.events;
    const changes = events.filter((e: any) => e.data.chatId === id || e.data.chat?.id === id || e.data.id === id).map((e: any) => [e.type, e.data.change ?? e.data.message?.state]);
    expect(changes).toEqual(expect.arrayContaining([['chat.message_updated', 'edit'], ['chat.delivery', 'read'], ['chat.message_updated', 'delete']]));
    // Nothing of this reaches a colleague.
    expect((await api(stack, `/events?after=${cursor}&wait=0&limit=500`, { token: op1003 })).body.events.filter((e: any) => e.type.startsWith('chat.'))).toEqual([]);
    // What the employee edits on his phone changes his stored reply too.
    const fromPhone = tg.employeeTypesOnPhone(ivan, customer, 'Завтра в 10');
    await waitFor(async () => (await messagesOf(id)).some((m: any) => m.externalId === String(fromPhone)), 'his phone message');
    tg.clientOf(ivan.id)!.handlers.edit.forEach((h) => h({ id: fromPhone, peerId: customer.id, outgoing: true, text: 'Завтра в 11', date: Math.floor(Date.now() / 1000) }));
    await waitFor(async () => (await messagesOf(id)).find((m: any) => m.externalId === String(fromPhone)).text === 'Завтра в 11', 'his edit');
  });

  test('messages that came while the server was down are stored once after the restart; restarts (even from an old cursor) store nothing twice', async () => {
    const id = (await chatOf(customer.id))!;
    const late = tg.addUser({ phone: '+79035550001', firstName: 'Поздний', code: '55555' });
    await stack.down();
    const a = tg.customerWrites(customer, ivan, 'Вы тут? (сервер лежит)');
    const b = tg.employeeTypesOnPhone(ivan, customer, 'Да, отвечаю с телефона');
    const c = tg.customerWrites(late, ivan, 'Здравствуйте, я новый клиент');
    tg.customerReads(customer, ivan);
    const catchUps = tg.catchUps.length;
    await stack.up();
    await stack.app.telegramAccounts.ready;
    await waitFor(async () => !!(await chatOf(late.id)) && (await messagesOf(id)).some((m: any) => m.externalId === String(b)), 'caught up');
    expect(tg.catchUps.slice(catchUps)).toEqual([{ user: ivan.id, afterId: expect.any(Number) }]);
    const msgs = await messagesOf(id);
    expect(msgs.filter((m: any) => [String(a), String(b)].includes(m.externalId)).map((m: any) => [m.direction, m.author, m.text])).toEqual([
      ['in', null, 'Вы тут? (сервер лежит)'],
      ['out', '1001', 'Да, отвечаю с телефона'],
    ]);
    // Our reply was read while we were away: the dialog's read receipt says so.
    expect(msgs.filter((m: any) => m.direction === 'out' && m.author === '1001' && m.externalId !== String(b)).map((m: any) => m.state)).not.toContain('sent');
    expect((await messagesOf((await chatOf(late.id))!)).map((m: any) => m.text)).toEqual(['Здравствуйте, я новый клиент']);
    await waitFor(async () => Number((await stack.app.db.query<{ c: number }>('SELECT last_message_id AS c FROM telegram_accounts WHERE id = ?', [accountId.replace('telegram-user:', '')]))[0].c) === c, 'the cursor');
    const stored = await storedCount();
    // Restarted again: nothing new. Then from a cursor far behind (the whole history again): nothing twice.
    await stack.restart();
    await stack.app.telegramAccounts.ready;
    expect(tg.catchUps.at(-1)).toEqual({ user: ivan.id, afterId: c });
    await stack.app.db.exec('UPDATE telegram_accounts SET last_message_id = 0');
    await stack.restart();
    await stack.app.telegramAccounts.ready;
    expect(tg.catchUps.at(-1)).toEqual({ user: ivan.id, afterId: 0 });
    await waitFor(async () => stack.app.chats.stats.duplicates > 0, 'the overlap recognised');
    await new Promise((r) => setTimeout(r, 200));
    expect(await storedCount()).toBe(stored);
    // The live updates still arrive after all that.
    const d = tg.customerWrites(customer, ivan, 'Отлично, спасибо');
    await waitFor(async () => (await messagesOf(id)).some((m: any) => m.externalId === String(d)), 'live again');
  });

  test('a lost connection: what came meanwhile is fetched when it is back', async () => {
    const id = (await chatOf(customer.id))!;
    const client = tg.clientOf(ivan.id)!;
    client.dropConnection();
    const lost = tg.customerWrites(customer, ivan, 'Связь пропала?');
    client.reconnected();
    await waitFor(async () => (await messagesOf(id)).some((m: any) => m.externalId === String(lost)), 'caught up on reconnect');
  });

  test('disconnect: the account leaves the engine; what still waited for it fails at once, with the reason in the chat', async () => {
    // Telegram's flood control holds a reply in the queue…
    tg.floodWaitSeconds = 60;
    const id = (await chatOf(customer.id))!;
    const queued = await api(stack, `/chats/${id}/messages`, send('POST', { text: 'Минутку' }, op1001));
    expect(queued.status).toBe(202);
    const stateOf = async () => (await api(stack, `/chats/${id}/messages`, { token: op1001 })).body.items.find((m: any) => m.id === queued.body.id);
    await waitFor(async () => /FLOOD_WAIT/.test((await stateOf())?.failure ?? ''), 'a flood wait');
    expect((await stateOf()).state).toBe('queued');
    // …and the employee disconnects his account: the message can never go, so it fails now, visibly.
    expect((await api(stack, `${BASE}/${accountId.replace('telegram-user:', '')}`, { method: 'DELETE', token: op1001 })).status).toBe(204);
    await waitFor(async () => (await stateOf()).state === 'failed', 'failed', 5000);
    expect((await stateOf()).failure).toMatch(/^account_removed: аккаунт мессенджера отключён/);
    tg.floodWaitSeconds = 0;
    const r = await api(stack, '/chats/start', send('POST', { accountId, phone: customer.phone, text: 'x' }, op1001));
    expect(r.status).toBe(400);
  });
});

describe('an employee\'s own account that takes in only known customers; its owner away or gone (sqlite)', () => {
  const tg = new FakeTelegram();
  const ivan = tg.addUser({ phone: '+79161112233', firstName: 'Иван', code: '12345' });
  const client = tg.addUser({ phone: '+79035556677', firstName: 'Клиент', code: '11111' });
  const friend = tg.addUser({ phone: '+79031112200', firstName: 'Друг', code: '33333' });
  const newcomer = tg.addUser({ phone: '+79031112211', firstName: 'Новый', code: '44444' });
  let stack: Stack;
  let op1001: string;
  let op1003: string;
  let accountId: string;
  const chatOf = async (peerId: string) =>
    (await stack.app.db.query<{ id: string }>('SELECT id FROM chats WHERE account_id = ? AND peer_id = ?', [accountId, peerId]))[0]?.id;

  beforeAll(async () => {
    stack = await startStack('sqlite', {
      env: { ...API_ENV, TELEFONIST_TELEGRAM_USER_INTAKE: 'known', TELEFONIST_CHAT_OWNER_AWAY: 'queue' },
      start: { telegramUserClient: tg.factory },
    });
    expect((await api(stack, '/employees/sync', send('POST', { employees: [
      { extension: '1001', name: 'Иван Продажин' },
      { extension: '1002', name: 'Ольга Старшая', rights: ['supervisor'] },
      { extension: '1003', name: 'Анна Смирнова' },
    ] }))).status).toBe(200);
    expect((await api(stack, '/directory/sync', send('POST', {
      customers: [{ id: 'a1b2c3d4-0000-0000-0000-000000000013', name: 'ООО «Клиент»', phones: ['8 (903) 555-66-77'] }],
    }))).status).toBe(200);
    op1001 = (await api(stack, '/tokens', send('POST', { name: 'op 1001', role: 'operator', employee: '1001' }))).body.token;
    op1003 = (await api(stack, '/tokens', send('POST', { name: 'op 1003', role: 'operator', employee: '1003' }))).body.token;
    const begin = await api(stack, BASE, send('POST', { phone: ivan.phone }, op1001));
    accountId = (await api(stack, `${BASE}/${begin.body.id}/code`, send('POST', { code: '12345' }, op1001))).body.account.accountId;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('a friend\'s chat is not stored at all (either way); a customer the directory knows is; so is a chat started in Telefonist', async () => {
    tg.customerWrites(friend, ivan, 'Привет, как дела?');
    tg.employeeTypesOnPhone(ivan, friend, 'Нормально, вечером созвонимся');
    tg.customerWrites(client, ivan, 'Счёт получили, спасибо');
    await waitFor(async () => !!(await chatOf(client.id)) && stack.app.chats.stats.notTaken === 2, 'the customer\'s chat; the friend\'s two messages not taken');
    expect(await chatOf(friend.id)).toBeUndefined();
    expect(Number((await stack.app.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM chat_messages WHERE peer_id = ?', [friend.id]))[0].n)).toBe(0);
    const known = (await api(stack, `/chats/${(await chatOf(client.id))!}`, { token: op1001 })).body;
    expect(known).toMatchObject({ status: 'in_work', responsible: '1001', customerId: 'a1b2c3d4-0000-0000-0000-000000000013' });
    // Started here: the newcomer's answer belongs to that chat although the directory does not know him.
    const started = await api(stack, '/chats/start', send('POST', { accountId, phone: newcomer.phone, text: 'Ваш заказ готов' }, op1001));
    expect(started.status).toBe(201);
    await waitFor(() => tg.sent.some((m) => m.to === newcomer.id), 'sent');
    tg.customerWrites(newcomer, ivan, 'Спасибо, заберу');
    await waitFor(async () => (await api(stack, `/chats/${started.body.chat.id}/messages`, { token: op1001 })).body.items.length === 2, 'the answer');
  });

  test('owner offline with TELEFONIST_CHAT_OWNER_AWAY=queue, a colleague it was handed to leaves, then the owner is deleted in 1C: never in the queue', async () => {
    const id = (await chatOf(client.id))!;
    tg.customerWrites(client, ivan, 'Вы на связи?');
    await waitFor(async () => (await api(stack, `/chats/${id}/messages`, { token: op1001 })).body.items.length === 2, 'stored');
    expect((await api(stack, `/chats/${id}`, { token: op1001 })).body).toMatchObject({ status: 'in_work', responsible: '1001' });
    expect((await api(stack, '/chats?view=queue', { token: op1003 })).body.total).toBe(0);
    // Handed to a colleague who then leaves: back to the account's owner, not to the queue.
    expect((await api(stack, `/chats/${id}/handover`, send('POST', { to: '1003', keepAsObserver: false }, op1001))).status).toBe(200);
    expect((await api(stack, '/employees/1003', { method: 'DELETE' })).status).toBe(204);
    await waitFor(async () => (await api(stack, `/chats/${id}`)).body.responsible === '1001', 'back to the owner');
    expect((await api(stack, `/chats/${id}`)).body).toMatchObject({ status: 'in_work', responsible: '1001' });
    expect((await api(stack, `/employees/1003`, send('PUT', { name: 'Анна Смирнова' }))).status).toBe(201);
    expect((await api(stack, '/employees/1001', { method: 'DELETE' })).status).toBe(204);
    expect(await stack.app.chats.reassignOrphans()).toBe(0);
    tg.customerWrites(client, ivan, 'Алло?');
    await waitFor(async () => Number((await stack.app.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM chat_messages WHERE chat_id = ?', [id]))[0].n) === 3, 'stored');
    expect((await api(stack, `/chats/${id}`)).body).toMatchObject({ status: 'in_work', responsible: '1001' });
    expect((await api(stack, '/chats?view=queue', { token: op1003 })).body.total).toBe(0);
    expect((await api(stack, `/chats/${id}`, { token: op1003 })).status).toBe(403);
  });
});
