/**
 * Chats (issue 13) over real HTTP, on SQLite and PostgreSQL: the engine's rules (queue → first reply →
 * owner, @mention → observer, handover → the previous owner gets 403, reopen), a Telegram bot through
 * telegraf pointed at a local fake Bot API (webhook secret, dedupe, photos and documents both ways,
 * /start deep links), templates, reachability (422), the persistent outbound queue across a restart, its
 * pacing and fairness (a backlog, a paced chat or a removed account never holds back another chat), and the
 * configurable rules for an owner who is away (presence from FreeSWITCH registrations) and for reopening.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN, api, DB_KINDS, Stack, startStack, waitFor } from './helpers';
import { loadConfig } from '../src/config';
import { customerUpdate, FakeBotApi } from './fake-telegram-bot';
import { InboundSink, MessengerAdapter, ReachabilityResult } from '../src/messengers/adapter';
import type { ChatEngine } from '../src/chats/engine';
import { registrationEvent } from '../src/esl/sim-registrations';

const SECRET = 'webhook-secret-0123456789';
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251))]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7) % 256))]);

/** A messenger whose reachability answer the test decides (`no` for +7999…). */
class CheckingAdapter implements MessengerAdapter {
  readonly kind = 'fake';
  readonly accountId = 'checker';
  readonly limits = { perSecond: 1000, perPeerIntervalMs: 0 };
  readonly sent: string[] = [];
  sink: InboundSink | null = null;
  async start(sink: InboundSink) {
    this.sink = sink;
  }
  async stop() {}
  async send(m: { text?: string }) {
    this.sent.push(m.text ?? '');
    return { externalId: `x${this.sent.length}` };
  }
  async download(): Promise<never> {
    throw new Error('no files');
  }
  async checkPhone(phone: string): Promise<ReachabilityResult> {
    return phone.startsWith('+7999') ? { reachable: 'no', reason: 'not registered in Fake' } : { reachable: 'yes', peerId: `peer-${phone}`, canWriteFirst: true };
  }
}

describe.each(DB_KINDS)('chats with a Telegram bot (%s)', (kind) => {
  let stack: Stack;
  let fake: FakeBotApi;
  let filesDir: string;
  const checker = new CheckingAdapter();
  const tokens: Record<string, string> = {};

  const send = (path: string, body: unknown, token?: string, method = 'POST') =>
    api(stack, path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), token });
  const hook = (update: unknown, secret: string | null = SECRET) =>
    fetch(`${stack.base}/messengers/telegram/main/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(secret ? { 'X-Telegram-Bot-Api-Secret-Token': secret } : {}) },
      body: JSON.stringify(update),
    });
  const chatOf = async (peer: number) => (await api(stack, `/chats?q=&limit=500`)).body.items.find((c: any) => c.peerId === String(peer));

  beforeAll(async () => {
    fake = new FakeBotApi();
    await fake.listen();
    filesDir = mkdtempSync(join(tmpdir(), 'tf-chat-files-'));
    stack = await startStack(kind, {
      env: {
        TELEFONIST_TELEGRAM_BOTS: JSON.stringify([{ id: 'main', token: '123456:TEST-token', secret: SECRET }, { id: 'poller', token: '654321:POLL-token', mode: 'polling' }]),
        TELEFONIST_TELEGRAM_API_ROOT: fake.apiRoot,
        TELEFONIST_CHAT_FILES_DIR: filesDir,
        TELEFONIST_CHAT_MAX_FILE_MB: '1',
      },
      start: { chatOutbox: { baseDelayMs: 50, maxDelayMs: 200, limits: { perSecond: 1000, perPeerIntervalMs: 0 } }, messengers: () => [checker] },
    });
    const sync = await send('/employees/sync', {
      employees: [
        { extension: '1000', name: 'Анна Смирнова', login: 'anna' },
        { extension: '1001', name: 'Иван Петров', login: 'ivan' },
        { extension: '1002', name: 'Ольга Старшая', rights: ['supervisor'] },
        { extension: '1003', name: 'Пётр Сидоров', login: 'petr' },
      ],
    });
    expect(sync.status).toBe(200);
    for (const ext of ['1000', '1001', '1003']) {
      const t = await send('/tokens', { name: `op${ext}`, role: 'operator', employee: ext });
      tokens[ext] = t.body.token;
    }
  });
  afterAll(async () => {
    await stack?.stop();
    await fake?.close();
    rmSync(filesDir, { recursive: true, force: true });
  });

  test('webhook secret: wrong or missing → 401 and nothing stored', async () => {
    expect((await hook(customerUpdate(555, 1), 'wrong-secret-000000000')).status).toBe(401);
    expect((await hook(customerUpdate(555, 1), null)).status).toBe(401);
    expect((await api(stack, '/chats')).body.total).toBe(0);
  });

  test('queue → first reply → owner; others 403; @mention → observer; handover → previous owner 403; duplicates ignored', async () => {
    const cursor = (await api(stack, '/events?wait=0')).body.cursor;
    const upd = customerUpdate(777, 10, { text: 'Где мой заказ?' });
    expect((await hook(upd)).status).toBe(200);
    expect((await hook(upd)).status).toBe(200); // Telegram retried: stored once
    const chat = await chatOf(777);
    expect(chat).toMatchObject({ status: 'queue', responsible: null, messenger: 'telegram', accountId: 'main', peerName: 'Мария Клиентова' });
    const msgs = (await api(stack, `/chats/${chat.id}/messages`)).body.items;
    expect(msgs.map((m: any) => [m.direction, m.text, m.state])).toEqual([['in', 'Где мой заказ?', 'received']]);

    // Everyone sees the queue, with the unread count.
    const queue = (await api(stack, '/chats?view=queue', { token: tokens['1000'] })).body;
    expect(queue.items.map((c: any) => [c.id, c.unread])).toEqual([[chat.id, 1]]);
    expect((await api(stack, '/chats/counts', { token: tokens['1003'] })).body.queue).toEqual({ chats: 1, unread: 1 });

    // Ivan answers first: he is responsible, the chat is in work, the customer gets it.
    const reply = await send(`/chats/${chat.id}/messages`, { text: 'Сейчас проверю' }, tokens['1001']);
    expect(reply.status).toBe(202);
    await waitFor(() => fake.sent.some((s) => s.text === 'Сейчас проверю' && s.chatId === '777'), 'reply sent');
    const after = (await api(stack, `/chats/${chat.id}`, { token: tokens['1001'] })).body;
    expect(after).toMatchObject({ status: 'in_work', responsible: '1001' });
    await waitFor(async () => (await api(stack, `/chats/${chat.id}/messages`)).body.items[1]?.state === 'sent', 'sent state');
    expect((await api(stack, '/chats?view=my', { token: tokens['1001'] })).body.total).toBe(1);
    expect((await api(stack, '/chats?view=queue', { token: tokens['1000'] })).body.total).toBe(0);

    // Anna may neither see nor write; a supervisor (1C acting for Ольга) may.
    expect((await api(stack, `/chats/${chat.id}`, { token: tokens['1000'] })).status).toBe(403);
    expect((await send(`/chats/${chat.id}/messages`, { text: 'я тоже' }, tokens['1000'])).status).toBe(403);
    expect((await api(stack, `/chats/${chat.id}?employee=1002`)).status).toBe(200);
    // An operator cannot act as someone else.
    expect((await send(`/chats/${chat.id}/messages`, { text: 'x', employee: '1001' }, tokens['1000'])).body.error.field).toBe('employee');
    // 1C must name the employee it acts for.
    expect((await send(`/chats/${chat.id}/messages`, { text: 'x' })).body.error.field).toBe('employee');

    // @anna in an internal note makes her an observer: she sees and writes now.
    const note = await send(`/chats/${chat.id}/messages`, { text: '@anna посмотри, пожалуйста', internal: true }, tokens['1001']);
    expect(note.status).toBe(202);
    expect(note.body.state).toBe('note');
    expect((await api(stack, `/chats/${chat.id}`, { token: tokens['1000'] })).body.observers).toEqual(['1000']);
    expect((await api(stack, '/chats?view=observed', { token: tokens['1000'] })).body.total).toBe(1);
    // An observer cannot add observers or hand over (responsible or supervisor only).
    expect((await send(`/chats/${chat.id}/observers`, { observer: '1003' }, tokens['1000'])).status).toBe(403);

    // Handover to Пётр without keeping access: Ivan gets 403, Пётр has full rights.
    const ho = await send(`/chats/${chat.id}/handover`, { to: '1003', keepAsObserver: false }, tokens['1001']);
    expect(ho.status).toBe(200);
    expect(ho.body).toMatchObject({ responsible: '1003', status: 'in_work' });
    expect((await api(stack, `/chats/${chat.id}`, { token: tokens['1001'] })).status).toBe(403);
    expect((await send(`/chats/${chat.id}/messages`, { text: 'ещё' }, tokens['1001'])).status).toBe(403);
    expect((await send(`/chats/${chat.id}/messages`, { text: 'Я продолжу' }, tokens['1003'])).status).toBe(202);

    // Events: scoped by the one rule — Ivan heard the handover, but not what followed.
    const ev = (token: string) => api(stack, `/events?after=${cursor}&wait=0&limit=500`, { token }).then((r) => r.body.events as any[]);
    const ivan = await ev(tokens['1001']);
    expect(ivan.map((e) => e.type)).toEqual(expect.arrayContaining(['chat.created', 'chat.message', 'chat.assigned', 'chat.observer_added', 'chat.handed_over']));
    expect(ivan.some((e) => e.type === 'chat.message' && e.data.message.text === 'Я продолжу')).toBe(false);
    // Anna saw it in the queue: she was told at once that it was taken (her queue drops it), before the
    // @mention later made her an observer.
    const anna = await ev(tokens['1000']);
    expect(anna.some((e) => e.type === 'chat.assigned' && e.data.reason === 'first_reply')).toBe(true);
    const petr = await ev(tokens['1003']);
    expect(petr.some((e) => e.type === 'chat.message' && e.data.message.text === 'Я продолжу')).toBe(true);
    const all = await ev(ADMIN_TOKEN);
    expect(all.filter((e) => e.type === 'chat.message' && e.data.message.direction === 'in')).toHaveLength(1);

    // Closing, then the customer writes again: back to the queue (TELEFONIST_CHAT_REOPEN=queue).
    expect((await send(`/chats/${chat.id}/close`, {}, tokens['1003'])).body.status).toBe('closed');
    expect((await hook(customerUpdate(777, 11, { text: 'Ещё вопрос' }))).status).toBe(200);
    expect((await api(stack, `/chats/${chat.id}`)).body).toMatchObject({ status: 'queue', responsible: null });
  });

  test('attachments both ways: bytes equal, type by content, served with the chat\'s rights', async () => {
    // Inbound document from the customer.
    const fileId = fake.addFile(PDF);
    const upd = customerUpdate(888, 20, { document: { file_id: fileId, file_unique_id: fileId, file_name: 'счёт.pdf', mime_type: 'application/pdf', file_size: PDF.length }, caption: 'Вот счёт' });
    expect((await hook(upd)).status).toBe(200);
    const chat = await chatOf(888);
    const [m] = (await api(stack, `/chats/${chat.id}/messages`)).body.items;
    expect(m).toMatchObject({ text: 'Вот счёт', file: { name: 'счёт.pdf', mime: 'application/pdf', size: PDF.length } });
    const got = await fetch(`${stack.base}/chats/${chat.id}/messages/${m.id}/file`, { headers: { Authorization: `Bearer ${tokens['1000']}` } });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(PDF)).toBe(true);

    // Outbound photo with a caption: uploaded, sent through sendPhoto, bytes equal.
    const up = await fetch(`${stack.base}/chat-files?name=${encodeURIComponent('схема.png')}`, {
      method: 'POST', headers: { Authorization: `Bearer ${tokens['1000']}`, 'Content-Type': 'application/octet-stream' }, body: PNG,
    });
    expect(up.status).toBe(201);
    const upBody = (await up.json()) as { id: string };
    expect(upBody).toMatchObject({ mime: 'image/png', size: PNG.length });
    const sent = await send(`/chats/${chat.id}/messages`, { text: 'Схема проезда', file: { id: upBody.id, name: 'схема.png' } }, tokens['1000']);
    expect(sent.status).toBe(202);
    await waitFor(() => fake.sent.some((s) => s.method === 'sendPhoto' && s.chatId === '888'), 'photo sent');
    const photo = fake.sent.find((s) => s.method === 'sendPhoto' && s.chatId === '888')!;
    expect(photo.caption).toBe('Схема проезда');
    expect(photo.file!.bytes.equals(PNG)).toBe(true);
    // Now Anna owns the chat: Ivan may not download its files.
    expect((await fetch(`${stack.base}/chats/${chat.id}/messages/${m.id}/file`, { headers: { Authorization: `Bearer ${tokens['1001']}` } })).status).toBe(403);

    // An executable is refused by its content, whatever its name; a too large file is 413.
    const exe = await fetch(`${stack.base}/chat-files?name=doc.pdf`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/octet-stream' }, body: Buffer.from('MZ\x90\x00binary') });
    expect(exe.status).toBe(415);
    const big = await fetch(`${stack.base}/chat-files`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(1024 * 1024 + 10, 65) });
    expect(big.status).toBe(413);
  });

  test('templates: rendered from vars and context; unknown placeholder and missing value are 400s', async () => {
    const bad = await send('/chat-templates/broken', { text: 'Привет, {nobody}' }, undefined, 'PUT');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('text');
    const put = await send('/chat-templates/order', { text: 'Здравствуйте, {customerName}! Заказ {orderNumber} на {amount} ₽. {employeeName}' }, undefined, 'PUT');
    expect(put.status).toBe(201);
    expect(put.body.placeholders).toEqual(['customerName', 'orderNumber', 'amount', 'employeeName']);
    expect((await hook(customerUpdate(999, 30, { text: 'Добрый день' }))).status).toBe(200);
    const chat = await chatOf(999);
    const missing = await send(`/chats/${chat.id}/messages`, { employee: '1000', template: 'order', vars: { customerName: 'ООО Ромашка' }, context: { order: 'ЗК-0042' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.field).toBe('vars.amount');
    const ok = await send(`/chats/${chat.id}/messages`, { employee: '1000', template: 'order', vars: { customerName: 'ООО Ромашка', amount: '12 500' }, context: { order: 'ЗК-0042' } });
    expect(ok.status).toBe(202);
    expect(ok.body.text).toBe('Здравствуйте, ООО Ромашка! Заказ ЗК-0042 на 12 500 ₽. Анна Смирнова');
    expect(ok.body.context).toEqual({ order: 'ЗК-0042' });
    await waitFor(() => fake.sent.some((s) => s.text === ok.body.text), 'template sent');
  });

  test('start by phone: a bot cannot write first (422), "no" is 422 not_registered, an active chat is continued', async () => {
    const bot = await send('/chats/start', { employee: '1000', accountId: 'main', phone: '+7 495 123-45-67', text: 'Здравствуйте' });
    expect(bot.status).toBe(422);
    expect(bot.body.error.code).toBe('cannot_write_first');
    expect(bot.body.error.message).toMatch(/bot cannot/);
    const no = await send('/chats/start', { employee: '1000', accountId: 'checker', phone: '+79991234567', text: 'Здравствуйте' });
    expect(no.status).toBe(422);
    expect(no.body.error).toMatchObject({ code: 'not_registered', field: 'phone' });
    const first = await send('/chats/start', { accountId: 'checker', phone: '84951112233', text: 'Ваш заказ готов', context: { order: 'ЗК-7' } }, tokens['1000']);
    expect(first.status).toBe(201);
    expect(first.body.chat).toMatchObject({ status: 'in_work', responsible: '1000', phone: '+74951112233', reference: 'ЗК-7' });
    const again = await send('/chats/start', { accountId: 'checker', phone: '+7 (495) 111-22-33', text: 'И счёт' }, tokens['1000']);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ continued: true, chat: { id: first.body.chat.id } });
    await waitFor(() => checker.sent.includes('И счёт'), 'continued message sent');
    expect((await send('/chats/start', { accountId: 'checker', phone: 'abc' }, tokens['1000'])).body.error.field).toBe('phone');

    // Checking without writing: each account's answer side by side; nothing is sent, no chat is made.
    const sentBefore = checker.sent.length;
    const chatsBefore = (await api(stack, '/chats?limit=100')).body.total;
    const check = await api(stack, '/chats/reachability?phone=8%20(999)%20123-45-67&accountId=main,checker', { token: tokens['1000'] });
    expect(check.status).toBe(200);
    expect(check.body.phone).toBe('+79991234567');
    expect(check.body.items).toEqual([
      expect.objectContaining({ accountId: 'main', reachable: 'unknown', canWriteFirst: false, activeChatId: null }),
      expect.objectContaining({ accountId: 'checker', reachable: 'no', canWriteFirst: false }),
    ]);
    const known = await api(stack, '/chats/reachability?phone=%2B74951112233&accountId=checker', { token: tokens['1000'] });
    expect(known.body.items[0]).toMatchObject({ reachable: 'yes', canWriteFirst: true, activeChatId: first.body.chat.id });
    expect(checker.sent.length).toBe(sentBefore);
    expect((await api(stack, '/chats?limit=100')).body.total).toBe(chatsBefore);
    expect((await api(stack, '/chats/reachability?phone=abc')).body.error.field).toBe('phone');
    expect((await api(stack, '/chats/reachability?phone=%2B74951112233&accountId=nope')).body.error.field).toBe('accountId');
  });

  test('long polling: a bot in polling mode gets updates by getUpdates; it takes no webhook', async () => {
    fake.pending.set('654321:POLL-token', [customerUpdate(31337, 1, { text: 'через polling' })]);
    await waitFor(async () => (await api(stack, '/chats?accountId=poller')).body.total === 1, 'polled message stored');
    const chat = (await api(stack, '/chats?accountId=poller')).body.items[0];
    expect((await api(stack, `/chats/${chat.id}/messages`)).body.items[0].text).toBe('через polling');
    const r = await fetch(`${stack.base}/messengers/telegram/poller/webhook`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': SECRET }, body: '{}' });
    expect(r.status).toBe(404);
  });

  test('a burst of webhooks from a new customer (Telegram posts in parallel): one chat, each message once', async () => {
    const updates = Array.from({ length: 10 }, (_, i) => customerUpdate(8080, 100 + i, { text: `burst ${i}` }));
    const statuses = await Promise.all([...updates, ...updates.slice(0, 5)].map((u) => hook(u).then((r) => r.status)));
    expect(statuses.every((st) => st === 200)).toBe(true);
    const chats = (await api(stack, '/chats?limit=500')).body.items.filter((c: any) => c.peerId === '8080');
    expect(chats).toHaveLength(1);
    const texts = (await api(stack, `/chats/${chats[0].id}/messages`)).body.items.map((m: any) => m.text).sort();
    expect(texts).toEqual(updates.map((_, i) => `burst ${i}`).sort());
  });

  test('two first replies at once: one becomes responsible, the other gets 403 and nothing of his is sent', async () => {
    expect((await hook(customerUpdate(9191, 1, { text: 'Кто ответит?' }))).status).toBe(200);
    const chat = await chatOf(9191);
    const [a, b] = await Promise.all([
      send(`/chats/${chat.id}/messages`, { text: 'Отвечает Анна' }, tokens['1000']),
      send(`/chats/${chat.id}/messages`, { text: 'Отвечает Пётр' }, tokens['1003']),
    ]);
    expect([a.status, b.status].sort()).toEqual([202, 403]);
    const winner = a.status === 202 ? '1000' : '1003';
    expect((await api(stack, `/chats/${chat.id}`)).body.responsible).toBe(winner);
    const outs = (await api(stack, `/chats/${chat.id}/messages`)).body.items.filter((m: any) => m.direction === 'out');
    expect(outs.map((m: any) => m.author)).toEqual([winner]);
  });

  test('GET /messengers: the bot\'s username from getMe and the deep link start', async () => {
    const items = (await api(stack, '/messengers')).body.items;
    expect(items).toEqual(expect.arrayContaining([
      { accountId: 'main', kind: 'telegram', owner: null, username: 'tf_test_bot', startLink: 'https://t.me/tf_test_bot?start=' },
      expect.objectContaining({ accountId: 'checker', kind: 'fake', startLink: null }),
    ]));
  });

  test('edits, deletions and delivery states from the messenger become events on the message', async () => {
    expect((await hook(customerUpdate(5151, 1, { text: 'Опечатка' }))).status).toBe(200);
    const chat = await chatOf(5151);
    const cursor = (await api(stack, '/events?wait=0')).body.cursor;
    const edited = { update_id: 990001, edited_message: { ...(customerUpdate(5151, 1, { text: 'Исправлено' }).message as object), edit_date: Math.floor(Date.now() / 1000) } };
    expect((await hook(edited)).status).toBe(200);
    const [m] = (await api(stack, `/chats/${chat.id}/messages`)).body.items;
    expect(m.text).toBe('Исправлено');
    expect(m.editedAt).not.toBeNull();
    // A user-account adapter reports deletions and read receipts the same way.
    const started = await send('/chats/start', { employee: '1000', accountId: 'checker', phone: '+74957770000', text: 'Прочитаете?' });
    await waitFor(async () => (await api(stack, `/chats/${started.body.chat.id}/messages`)).body.items[0].state === 'sent', 'sent');
    const out = (await api(stack, `/chats/${started.body.chat.id}/messages`)).body.items[0];
    await checker.sink!({ kind: 'delivery', accountId: 'checker', peerId: started.body.chat.peerId, externalId: out.externalId, state: 'read' });
    await checker.sink!({ kind: 'message', accountId: 'checker', peer: { peerId: started.body.chat.peerId }, externalId: 'in-1', text: 'Удалю' });
    await checker.sink!({ kind: 'delete', accountId: 'checker', peerId: started.body.chat.peerId, externalId: 'in-1' });
    const items = (await api(stack, `/chats/${started.body.chat.id}/messages`)).body.items;
    expect(items[0].state).toBe('read');
    expect(items[1]).toMatchObject({ text: null });
    expect(items[1].deletedAt).not.toBeNull();
    const types = (await api(stack, `/events?after=${cursor}&wait=0&limit=500`)).body.events.map((e: any) => [e.type, e.data.change ?? e.data.message?.state]);
    expect(types).toEqual(expect.arrayContaining([['chat.message_updated', 'edit'], ['chat.delivery', 'read'], ['chat.message_updated', 'delete']]));
  });

  test('/start deep link carries a 1C reference', async () => {
    expect((await hook(customerUpdate(1234, 40, { text: '/start order-00042' }))).status).toBe(200);
    expect((await chatOf(1234)).reference).toBe('order-00042');
  });

  test('restart with queued outbound messages: all sent, once', async () => {
    expect((await hook(customerUpdate(4242, 50, { text: 'Жду' }))).status).toBe(200);
    const chat = await chatOf(4242);
    fake.down = true;
    const texts = ['один', 'два', 'три', 'четыре', 'пять'];
    for (const t of texts) expect((await send(`/chats/${chat.id}/messages`, { text: t }, tokens['1001'])).status).toBe(202);
    await waitFor(async () => (await api(stack, `/chats/${chat.id}/messages`)).body.items.some((m: any) => m.attempts > 0), 'a failed attempt');
    await stack.restart();
    fake.down = false;
    await waitFor(async () => (await stack.app.chats.outbox.pending()) === 0, 'queue drained');
    const to4242 = fake.sent.filter((s) => s.chatId === '4242').map((s) => s.text);
    expect(to4242).toEqual(texts);
    const states = (await api(stack, `/chats/${chat.id}/messages`)).body.items.filter((m: any) => m.direction === 'out').map((m: any) => m.state);
    expect(states).toEqual(texts.map(() => 'sent'));
  });

  test('a permanent refusal fails the message with the reason', async () => {
    expect((await hook(customerUpdate(403, 60, { text: 'hi' }))).status).toBe(200);
    const chat = await chatOf(403);
    const m = await send(`/chats/${chat.id}/messages`, { text: 'blocked?' }, tokens['1001']);
    await waitFor(async () => (await api(stack, `/chats/${chat.id}/messages`)).body.items.find((x: any) => x.id === m.body.id)?.state === 'failed', 'failed');
    const failed = (await api(stack, `/chats/${chat.id}/messages`)).body.items.find((x: any) => x.id === m.body.id);
    expect(failed.failure).toMatch(/blocked by the user/);
  });

  test('the panel\'s cookie session acts as its employee; an unknown peer is bound to a customer later', async () => {
    expect([200, 201]).toContain((await send('/employees/1000', { name: 'Анна Смирнова', login: 'anna', password: 'anna-password-1' }, undefined, 'PUT')).status);
    const signIn = await fetch(`${stack.base}/session`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Telefonist-CSRF': '1' }, body: JSON.stringify({ login: 'anna', password: 'anna-password-1' }) });
    expect(signIn.status).toBe(201);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
    expect((await hook(customerUpdate(6060, 1, { text: 'Кто я?' }))).status).toBe(200);
    const chat = await chatOf(6060);
    expect(chat.customerId).toBeNull();
    const viaCookie = (path: string, init: RequestInit = {}) => fetch(`${stack.base}${path}`, { ...init, headers: { Cookie: cookie, 'Content-Type': 'application/json', 'X-Telefonist-CSRF': '1', ...(init.headers ?? {}) } });
    const r = await viaCookie(`/chats/${chat.id}/messages`, { method: 'POST', body: JSON.stringify({ text: 'Я Анна' }) });
    expect(r.status).toBe(202);
    expect(((await r.json()) as { author: string }).author).toBe('1000');
    // Naming another employee from a session is 403.
    expect((await viaCookie(`/chats/${chat.id}/messages`, { method: 'POST', body: JSON.stringify({ text: 'x', employee: '1001' }) })).status).toBe(403);
    expect((await send('/customers/cust-6060', { name: 'ООО Шесть', contacts: [{ id: 'cust-6060-c', name: 'Мария' }] }, undefined, 'PUT')).status).toBe(201);
    const bound = await viaCookie(`/chats/${chat.id}/customer`, { method: 'PUT', body: JSON.stringify({ customerId: 'cust-6060', contactId: 'cust-6060-c' }) });
    expect(bound.status).toBe(200);
    expect((await api(stack, '/customers/cust-6060/chats')).body.items.map((c: any) => c.id)).toEqual([chat.id]);
    expect((await viaCookie(`/chats/${chat.id}/customer`, { method: 'PUT', body: JSON.stringify({ customerId: 'nobody' }) })).status).toBe(400);
  });

  test('the journal filters: status, messenger, participant, text, customer\'s active dialogs', async () => {
    expect((await api(stack, '/chats?status=closed')).body.total).toBe(0);
    expect((await api(stack, '/chats?messenger=telegram&q=' + encodeURIComponent('схема'))).body.total).toBe(1);
    expect((await api(stack, '/chats?participant=1002')).body.total).toBe(0);
    expect((await api(stack, '/chats?status=bogus')).body.error.field).toBe('status');
    expect((await api(stack, '/customers/nobody/chats')).body.items).toEqual([]);
  });
});

/** Records when each message reached the messenger. */
class PacedAdapter implements MessengerAdapter {
  readonly kind = 'paced';
  readonly accountId = 'paced';
  readonly limits = { perSecond: 5, perPeerIntervalMs: 300 };
  readonly sent: Array<{ peer: string; text: string; at: number }> = [];
  async start(_sink: InboundSink) {}
  async stop() {}
  async send(m: { peerId: string; text?: string }) {
    this.sent.push({ peer: m.peerId, text: m.text ?? '', at: Date.now() });
    return { externalId: `p${this.sent.length}` };
  }
  async download(): Promise<never> {
    throw new Error('no files');
  }
  async checkPhone(phone: string): Promise<ReachabilityResult> {
    return { reachable: 'yes', peerId: `peer${phone.slice(-2)}`, canWriteFirst: true };
  }
}

describe('chats with a rate-limited adapter: pacing, an owner who leaves (sqlite)', () => {
  let stack: Stack;
  const paced = new PacedAdapter();
  beforeAll(async () => {
    stack = await startStack('sqlite', { start: { messengers: () => [paced] }, env: { TELEFONIST_CHAT_FILES_DIR: mkdtempSync(join(tmpdir(), 'tf-chat-files-')) } });
    await api(stack, '/employees/sync', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ employees: [{ extension: '1000', name: 'Анна' }] }) });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('per peer: in order, ≥ 300 ms apart; per account: ≤ 5 per second', async () => {
    const post = (body: unknown) => api(stack, '/chats/start', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    for (const [i, phone] of ['+74950000011', '+74950000012', '+74950000013'].entries()) {
      for (let k = 0; k < 3; k++) expect((await post({ employee: '1000', accountId: 'paced', phone, text: `m${i}.${k}` })).status).toBe(k === 0 ? 201 : 200);
    }
    await waitFor(() => paced.sent.length === 9, 'all sent', 20_000);
    for (const peer of ['peer11', 'peer12', 'peer13']) {
      const mine = paced.sent.filter((s) => s.peer === peer);
      expect(mine.map((s) => s.text.split('.')[1])).toEqual(['0', '1', '2']);
      // The queue keeps 300 ms from the moment it called the adapter; the adapter's own clock reading may
      // come a GC pause later, so the bound leaves 50 ms (unpaced, the gaps are a few ms).
      for (let i = 1; i < mine.length; i++) expect(mine[i].at - mine[i - 1].at).toBeGreaterThanOrEqual(250);
    }
    const ats = paced.sent.map((s) => s.at).sort((a, b) => a - b);
    for (let i = 1; i < ats.length; i++) expect(ats[i] - ats[i - 1]).toBeGreaterThanOrEqual(150);
    // And not throttled far beyond the limits: 3 messages per peer need 2 intervals of 300 ms, 9 in all 8 of 200 ms.
    expect(ats[ats.length - 1] - ats[0]).toBeLessThan(8 * 200 + 3000);
  });

  test('a responsible who leaves (deleted in 1C): the chat returns to the queue, reported', async () => {
    const json = { 'Content-Type': 'application/json' };
    expect((await api(stack, '/employees/1001', { method: 'PUT', headers: json, body: JSON.stringify({ name: 'Уходящий' }) })).status).toBe(201);
    const started = await api(stack, '/chats/start', { method: 'POST', headers: json, body: JSON.stringify({ employee: '1001', accountId: 'paced', phone: '+74950000077', text: 'hi' }) });
    expect(started.body.chat).toMatchObject({ status: 'in_work', responsible: '1001' });
    const cursor = (await api(stack, '/events?wait=0')).body.cursor;
    expect((await api(stack, '/employees/1001', { method: 'DELETE' })).status).toBe(204);
    await waitFor(async () => (await api(stack, `/chats/${started.body.chat.id}`)).body.status === 'queue', 'back in the queue');
    const events = (await api(stack, `/events?after=${cursor}&wait=0&types=chat.assigned`)).body.events;
    expect(events[0].data).toMatchObject({ reason: 'owner_left', previous: '1001', responsible: null });
  });
});

/** A messenger that records each send with its time; `limits` as given. */
class RecordingAdapter implements MessengerAdapter {
  readonly kind = 'fake';
  readonly sent: Array<{ peer: string; text: string; at: number }> = [];
  constructor(readonly accountId: string, readonly limits: { perSecond: number; perPeerIntervalMs: number }) {}
  async start(_sink: InboundSink) {}
  async stop() {}
  async send(m: { peerId: string; text?: string }) {
    this.sent.push({ peer: m.peerId, text: m.text ?? '', at: Date.now() });
    return { externalId: `${this.accountId}-${this.sent.length}` };
  }
  async download(): Promise<never> {
    throw new Error('no files');
  }
  async checkPhone(phone: string): Promise<ReachabilityResult> {
    return { reachable: 'yes', peerId: `peer${phone.slice(-2)}`, canWriteFirst: true };
  }
}

describe('the outbound queue is fair: a backlog never holds back another chat (sqlite)', () => {
  let stack: Stack;
  let engine: ChatEngine;
  // One message per 2 s to a peer: 210 messages for one chat take minutes.
  const slow = new RecordingAdapter('slow', { perSecond: 1000, perPeerIntervalMs: 2000 });
  const fast = new RecordingAdapter('fast', { perSecond: 1000, perPeerIntervalMs: 0 });
  const gone = new RecordingAdapter('gone', { perSecond: 1000, perPeerIntervalMs: 0 });
  const json = { 'Content-Type': 'application/json' };
  const start = async (accountId: string, phone: string, text: string) =>
    (await api(stack, '/chats/start', { method: 'POST', headers: json, body: JSON.stringify({ employee: '1000', accountId, phone, text }) })).body.chat.id as string;
  const post = (chatId: string, text: string) => api(stack, `/chats/${chatId}/messages`, { method: 'POST', headers: json, body: JSON.stringify({ employee: '1000', text }) });
  const many = async (chatId: string, n: number, prefix: string) => {
    for (let i = 0; i < n; i += 30) {
      const batch = await Promise.all(Array.from({ length: Math.min(30, n - i) }, (_, k) => post(chatId, `${prefix}${i + k}`)));
      for (const r of batch) expect(r.status).toBe(202);
    }
  };

  beforeAll(async () => {
    stack = await startStack('sqlite', {
      start: { chatOutbox: { accountGoneMs: 3000 }, messengers: (c) => ((engine = c), [slow, fast, gone]) },
      env: { TELEFONIST_CHAT_FILES_DIR: mkdtempSync(join(tmpdir(), 'tf-chat-files-')) },
    });
    await api(stack, '/employees/sync', { method: 'POST', headers: json, body: JSON.stringify({ employees: [{ extension: '1000', name: 'Анна' }] }) });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('210 messages to one chat and 210 for a removed account do not delay another chat; the removed account\'s fail, reported', async () => {
    const busy = await start('slow', '+74950000021', 'b-first');
    await many(busy, 210, 'b');
    const goneChat = await start('gone', '+74950000022', 'g-first');
    await waitFor(() => gone.sent.length === 1, 'the first message on the account that will be removed');
    await engine.remove('gone');
    const cursor = (await api(stack, '/events?wait=0')).body.cursor;
    await many(goneChat, 210, 'g');
    // Another chat on the same paced account, and a chat on another account: both go at once.
    const t0 = Date.now();
    await start('slow', '+74950000023', 'other-peer');
    await start('fast', '+74950000024', 'other-account');
    await waitFor(() => slow.sent.some((s) => s.text === 'other-peer') && fast.sent.some((s) => s.text === 'other-account'), 'the other chats', 5000);
    expect(Math.max(...[...slow.sent, ...fast.sent].filter((s) => s.text.startsWith('other')).map((s) => s.at)) - t0).toBeLessThan(1500);
    // The busy chat itself keeps its pace: one message per 2 s.
    const busySent = slow.sent.filter((s) => s.peer === 'peer21');
    expect(busySent.length).toBeLessThanOrEqual(Math.floor((Date.now() - busySent[0].at) / 2000) + 1);
    // The removed account's messages waited, noted as waiting; then failed with the reason, in the chat.
    await waitFor(async () => (await api(stack, `/chats/${goneChat}/messages?limit=500`)).body.items.filter((m: any) => m.state === 'failed').length === 210,
      'failed after accountGoneMs', 15_000);
    const items = (await api(stack, `/chats/${goneChat}/messages?limit=500`)).body.items;
    const failed = items.filter((m: any) => m.state === 'failed');
    expect(failed[0].failure).toMatch(/^account_gone: аккаунт мессенджера отключён или удалён/);
    expect(gone.sent).toHaveLength(1);
    const events: any[] = [];
    for (let after = cursor; ;) {
      const page = (await api(stack, `/events?after=${after}&wait=0&types=chat.delivery&limit=500`)).body;
      if (!page.events.length) break;
      events.push(...page.events);
      after = page.cursor;
    }
    expect(events.some((ev: any) => ev.data.message.failure?.startsWith('account_not_connected:'))).toBe(true);
    expect(events.some((ev: any) => ev.data.message.state === 'failed' && ev.data.message.failure.startsWith('account_gone:'))).toBe(true);
  }, 60_000);
});

/** A messenger whose inbound messages the test pushes through the engine's sink (the adapter interface). */
class InboxAdapter extends RecordingAdapter {
  sink: InboundSink | null = null;
  private n = 0;
  constructor() {
    super('inbox', { perSecond: 1000, perPeerIntervalMs: 0 });
  }
  override async start(sink: InboundSink) {
    this.sink = sink;
  }
  customerWrites(peerId: string, text: string) {
    return this.sink!({ kind: 'message', accountId: this.accountId, peer: { peerId, displayName: `Клиент ${peerId}` }, externalId: `in-${++this.n}`, text });
  }
}

describe.each([
  { ownerAway: 'keep', reopen: 'queue' },
  { ownerAway: 'queue', reopen: 'owner' },
] as const)('chat rules TELEFONIST_CHAT_OWNER_AWAY=$ownerAway, TELEFONIST_CHAT_REOPEN=$reopen (sqlite)', ({ ownerAway, reopen }) => {
  let stack: Stack;
  const inbox = new InboxAdapter();
  const json = { 'Content-Type': 'application/json' };
  const chatOf = async (peer: string) => (await api(stack, '/chats?limit=500')).body.items.find((c: any) => c.peerId === peer);
  const reply = async (chatId: string, employee: string, text: string) =>
    expect((await api(stack, `/chats/${chatId}/messages`, { method: 'POST', headers: json, body: JSON.stringify({ employee, text }) })).status).toBe(202);
  const presenceOf = (ext: string) => stack.app.presence.get(ext).presence;
  const events = async (after: string, type: string) => (await api(stack, `/events?after=${after}&wait=0&limit=500&types=${type}`)).body.events;
  const cursorNow = async () => (await api(stack, '/events?wait=0')).body.cursor as string;

  beforeAll(async () => {
    stack = await startStack('sqlite', {
      env: { TELEFONIST_CHAT_OWNER_AWAY: ownerAway, TELEFONIST_CHAT_REOPEN: reopen, TELEFONIST_CHAT_FILES_DIR: mkdtempSync(join(tmpdir(), 'tf-chat-files-')) },
      start: { messengers: () => [inbox], presence: { offlineDelayMs: 0, expiryMarginMs: 0, sweepMs: 50 } },
    });
    await api(stack, '/employees/sync', { method: 'POST', headers: json, body: JSON.stringify({ employees: [{ extension: '1000', name: 'Анна' }, { extension: '1001', name: 'Иван' }] }) });
    await waitFor(() => stack.app.presence.stats.snapshots > 0, 'first registrations snapshot');
    // Anna's phone registers with FreeSWITCH: she is online.
    stack.sim.emitEvent(registrationEvent('register', { ext: '1000', callId: 'anna-phone', expires: 300 }));
    await waitFor(() => presenceOf('1000') === 'online', 'Anna online');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test(`a closed chat the customer writes in again: ${reopen === 'owner' ? 'in work with its owner' : 'back to the queue'}`, async () => {
    await inbox.customerWrites('p-reopen', 'Здравствуйте');
    const chat = await chatOf('p-reopen');
    await reply(chat.id, '1000', 'Добрый день');
    expect((await api(stack, `/chats/${chat.id}/close`, { method: 'POST', headers: json, body: JSON.stringify({ employee: '1000' }) })).body.status).toBe('closed');
    const cursor = await cursorNow();
    await inbox.customerWrites('p-reopen', 'Ещё вопрос');
    expect(await chatOf('p-reopen')).toMatchObject(reopen === 'owner' ? { status: 'in_work', responsible: '1000' } : { status: 'queue', responsible: null });
    expect((await events(cursor, 'chat.assigned')).map((e: any) => e.data)).toEqual([
      expect.objectContaining({ reason: 'reopened', previous: '1000', responsible: reopen === 'owner' ? '1000' : null }),
    ]);
  });

  test(`the owner online: the chat stays his; offline: ${ownerAway === 'keep' ? 'kept, the message flagged ownerAway' : 'back to the queue, he observes'}`, async () => {
    await inbox.customerWrites('p-away', 'Вопрос');
    const chat = await chatOf('p-away');
    await reply(chat.id, '1000', 'Слушаю');
    let cursor = await cursorNow();
    await inbox.customerWrites('p-away', 'Пока вы на месте');
    expect(await chatOf('p-away')).toMatchObject({ status: 'in_work', responsible: '1000' });
    const online = await events(cursor, 'chat.message');
    expect(online).toHaveLength(1);
    expect(online[0].data.ownerAway).toBeUndefined();

    stack.sim.emitEvent(registrationEvent('unregister', { ext: '1000', callId: 'anna-phone' }));
    await waitFor(() => presenceOf('1000') === 'offline', 'Anna offline');
    cursor = await cursorNow();
    await inbox.customerWrites('p-away', 'Алло, вы где?');
    const msg = await events(cursor, 'chat.message');
    const assigned = await events(cursor, 'chat.assigned');
    if (ownerAway === 'keep') {
      expect(await chatOf('p-away')).toMatchObject({ status: 'in_work', responsible: '1000' });
      expect(msg.map((e: any) => e.data.ownerAway)).toEqual([true]);
      expect(assigned).toEqual([]);
    } else {
      expect(await chatOf('p-away')).toMatchObject({ status: 'queue', responsible: null, observers: ['1000'] });
      expect(assigned.map((e: any) => e.data)).toEqual([expect.objectContaining({ reason: 'owner_offline', previous: '1000', responsible: null })]);
      // Anyone in the queue may take it now.
      await reply(chat.id, '1001', 'Я помогу');
      expect(await chatOf('p-away')).toMatchObject({ status: 'in_work', responsible: '1001' });
    }
  });
});

describe('TELEFONIST_TELEGRAM_BOTS', () => {
  const base = { DATABASE_URL: 'file:/tmp/x.db' };
  test('validated field by field; a webhook bot needs a secret; ids unique', () => {
    expect(loadConfig({ ...base, TELEFONIST_TELEGRAM_BOTS: '[{"id":"sales","token":"1:AbC","secret":"0123456789abcdef"}]' }, { dotenv: false }).TELEFONIST_TELEGRAM_BOTS)
      .toEqual([{ id: 'sales', token: '1:AbC', secret: '0123456789abcdef', mode: 'webhook' }]);
    expect(loadConfig({ ...base }, { dotenv: false }).TELEFONIST_TELEGRAM_BOTS).toEqual([]);
    expect(() => loadConfig({ ...base, TELEFONIST_TELEGRAM_BOTS: 'nope' }, { dotenv: false })).toThrow(/TELEFONIST_TELEGRAM_BOTS: must be a JSON array/);
    expect(() => loadConfig({ ...base, TELEFONIST_TELEGRAM_BOTS: '[{"id":"sales","token":"1:AbC"}]' }, { dotenv: false })).toThrow(/TELEFONIST_TELEGRAM_BOTS: \[0\.secret\]: a webhook bot needs a secret/);
    expect(() => loadConfig({ ...base, TELEFONIST_TELEGRAM_BOTS: '[{"id":"a","token":"bad"}]' }, { dotenv: false })).toThrow(/\[0\.token\]/);
    expect(() => loadConfig({ ...base, TELEFONIST_TELEGRAM_BOTS: '[{"id":"a","token":"1:A","mode":"polling"},{"id":"a","token":"2:B","mode":"polling"}]' }, { dotenv: false })).toThrow(/ids must be unique/);
  });
});
