/**
 * WhatsApp (issue 14) over real HTTP, on SQLite and PostgreSQL: a Cloud API account against a local fake
 * Graph API (signed webhooks: good, bad, replayed, statuses out of order; media both ways; the template
 * catalogue and its mapping to ours; the 24-hour window) and a gateway account against a local fake
 * green-api-like gateway (its number check yes / no, text and files both ways, its webhook token), both
 * running at once in one server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN, api, DB_KINDS, Stack, startStack, waitFor } from './helpers';
import { cloudHook, FakeGateway, FakeGraph, sign } from './fake-whatsapp';
import { loadConfig } from '../src/config';

const APP_SECRET = 'app-secret-0123456789abcdef';
const VERIFY = 'verify-token-42-xyz';
const ACCESS = 'EAAG-access-token-test';
const PHONE_ID = '1098765432';
const WABA = '2034567890';
const GW_TOKEN = 'gateway-webhook-token-0123';
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251))]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7) % 256))]);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(Array.from({ length: 1500 }, (_, i) => (i * 3) % 256))]);

const seller = {
  name: 'ООО «Ромашка»', inn: '7701234567', kpp: '770101001', address: '123456, г. Москва, ул. Ленина, д. 1',
  bank: { name: 'ПАО СБЕРБАНК г. Москва', bik: '044525225', account: '40702810900000000001', corrAccount: '30101810400000000225' },
};
/** A one-line invoice from 1C. */
const invoice = () => ({
  number: 'ТФ-123', date: '2026-11-24', seller, buyer: { name: 'ИП Иванов Иван Иванович', inn: '770123456789' },
  lines: [{ name: 'Кресло офисное', quantity: '2', unit: 'шт', price: '12500.00', vatRate: '20%', vat: '4166.67', amount: '25000.00' }],
  totals: { amount: '25000.00', vat: '4166.67', total: '25000.00' },
});

const ts = (msAgo = 0) => String(Math.floor((Date.now() - msAgo) / 1000));
const inText = (from: string, id: string, text: string, msAgo = 0) =>
  cloudHook(PHONE_ID, { contacts: [{ wa_id: from, profile: { name: 'Мария Клиентова' } }], messages: [{ from, id, timestamp: ts(msAgo), type: 'text', text: { body: text } }] });
const status = (recipient: string, id: string, s: string, errors?: unknown[]) =>
  cloudHook(PHONE_ID, { statuses: [{ id, recipient_id: recipient, status: s, timestamp: ts(), ...(errors ? { errors } : {}) }] });

describe.each(DB_KINDS)('WhatsApp Cloud API and gateway (%s)', (kind) => {
  let stack: Stack;
  let graph: FakeGraph;
  let gw: FakeGateway;
  let filesDir: string;

  const send = (path: string, body: unknown, method = 'POST') =>
    api(stack, path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const hook = (raw: string, signature: string | null = sign(APP_SECRET, raw)) => {
    if (signature === sign(APP_SECRET, raw)) graph.observe(raw); // Meta knows what it delivered: the fake's 24-hour window
    return fetch(`${stack.base}/messengers/whatsapp/cloud1/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(signature ? { 'X-Hub-Signature-256': signature } : {}) },
      body: raw,
    });
  };
  const gwHook = (b: unknown, token: string | null = GW_TOKEN) =>
    fetch(`${stack.base}/messengers/whatsapp/gw1/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(b),
    });
  const chatOf = async (peer: string) => (await api(stack, '/chats?limit=500')).body.items.find((c: any) => c.peerId === peer);
  const messagesOf = async (id: string) => (await api(stack, `/chats/${id}/messages`)).body.items;

  beforeAll(async () => {
    graph = new FakeGraph(ACCESS, PHONE_ID, WABA);
    await graph.listen();
    gw = new FakeGateway('1101000001', 'gw-api-token-abc');
    await gw.listen();
    filesDir = mkdtempSync(join(tmpdir(), 'tf-wa-files-'));
    stack = await startStack(kind, {
      env: {
        TELEFONIST_WHATSAPP_ACCOUNTS: JSON.stringify([
          { id: 'cloud1', kind: 'cloud', phoneNumberId: PHONE_ID, wabaId: WABA, accessToken: ACCESS, appSecret: APP_SECRET, verifyToken: VERIFY },
          { id: 'gw1', kind: 'gateway', apiUrl: gw.root, idInstance: '1101000001', apiTokenInstance: 'gw-api-token-abc', webhookToken: GW_TOKEN,
            templates: [{ name: 'order_ready', language: 'ru', body: 'Добрый день, {{1}}! Ваш заказ {{2}} готов к выдаче.' }] },
        ]),
        TELEFONIST_WHATSAPP_GRAPH_ROOT: graph.root,
        TELEFONIST_CHAT_FILES_DIR: filesDir,
      },
      start: { chatOutbox: { baseDelayMs: 50, maxDelayMs: 200, limits: { perSecond: 1000, perPeerIntervalMs: 0 } } },
    });
    const sync = await send('/employees/sync', { employees: [{ extension: '1000', name: 'Анна Смирнова', login: 'anna' }, { extension: '1001', name: 'Иван Петров' }] });
    expect(sync.status).toBe(200);
  });
  afterAll(async () => {
    await stack?.stop();
    await graph?.close();
    await gw?.close();
    rmSync(filesDir, { recursive: true, force: true });
  });

  test('webhook verification: the challenge for the right verify token, 403 otherwise', async () => {
    const ok = await fetch(`${stack.base}/messengers/whatsapp/cloud1/webhook?hub.mode=subscribe&hub.verify_token=${VERIFY}&hub.challenge=1158201444`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const bad = await fetch(`${stack.base}/messengers/whatsapp/cloud1/webhook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`);
    expect(bad.status).toBe(403);
    expect((await fetch(`${stack.base}/messengers/whatsapp/nope/webhook?hub.mode=subscribe`)).status).toBe(404);
  });

  test('unsigned or wrongly signed POSTs → 401 and nothing stored', async () => {
    const raw = inText('79160000001', 'wamid.BAD1', 'подделка');
    expect((await hook(raw, null)).status).toBe(401);
    expect((await hook(raw, sign('another-secret-0000000', raw))).status).toBe(401);
    expect((await hook(raw, sign(APP_SECRET, raw + ' '))).status).toBe(401);
    expect((await hook(raw, 'sha256=zz')).status).toBe(401);
    expect((await gwHook({ typeWebhook: 'incomingMessageReceived' }, null)).status).toBe(401);
    expect((await gwHook({ typeWebhook: 'incomingMessageReceived' }, 'wrong-token-0000000000')).status).toBe(401);
    expect((await api(stack, '/chats')).body.total).toBe(0);
  });

  test('inbound text and image (downloaded by id) stored once; replies, files out; statuses out of order → read wins', async () => {
    const from = '79161112233';
    const raw = inText(from, 'wamid.IN1', 'Здравствуйте, где мой заказ?');
    expect((await hook(raw)).status).toBe(200);
    expect((await hook(raw)).status).toBe(200); // replayed by Meta: stored once
    const media = graph.addMedia(JPEG, 'image/jpeg');
    const img = cloudHook(PHONE_ID, { messages: [{ from, id: 'wamid.IN2', timestamp: ts(), type: 'image', image: { id: media, mime_type: 'image/jpeg', caption: 'фото чека' } }] });
    expect((await hook(img)).status).toBe(200);
    const chat = await chatOf(from);
    expect(chat).toMatchObject({ messenger: 'whatsapp', accountId: 'cloud1', phone: `+${from}`, peerName: 'Мария Клиентова', status: 'queue' });
    let msgs = await messagesOf(chat.id);
    expect(msgs.map((m: any) => [m.direction, m.text])).toEqual([['in', 'Здравствуйте, где мой заказ?'], ['in', 'фото чека']]);
    expect(msgs[1].file).toMatchObject({ mime: 'image/jpeg', size: JPEG.length });
    const got = await fetch(`${stack.base}/chats/${chat.id}/messages/${msgs[1].id}/file`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(JPEG)).toBe(true);

    // A reply inside the window is free text.
    const reply = await send(`/chats/${chat.id}/messages`, { employee: '1000', text: 'Заказ в пути' });
    expect(reply.status).toBe(202);
    await waitFor(() => graph.sent.some((s) => s.text === 'Заказ в пути'), 'text sent');
    const out = graph.sent.find((s) => s.text === 'Заказ в пути')!;
    expect(out).toMatchObject({ to: from, type: 'text' });

    // A document: uploaded to /media, then sent by id; the bytes Graph got are ours.
    const up = await api(stack, '/chat-files?name=%D1%81%D1%87%D1%91%D1%82.pdf', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: PDF });
    expect(up.status).toBe(201);
    expect((await send(`/chats/${chat.id}/messages`, { employee: '1000', text: 'Счёт', file: { id: up.body.id, name: 'счёт.pdf' } })).status).toBe(202);
    await waitFor(() => graph.sent.some((s) => s.type === 'document'), 'document sent');
    const doc = graph.sent.find((s) => s.type === 'document')!;
    expect(doc.media).toMatchObject({ caption: 'Счёт', filename: 'счёт.pdf' });
    expect(graph.media.get(doc.media!.id)!.bytes.equals(PDF)).toBe(true);

    // Statuses: read arrives before delivered, and delivered twice: read stays.
    await waitFor(async () => (await messagesOf(chat.id)).find((m: any) => m.text === 'Заказ в пути')?.state === 'sent', 'sent');
    expect((await hook(status(from, out.id, 'read'))).status).toBe(200);
    expect((await hook(status(from, out.id, 'delivered'))).status).toBe(200);
    expect((await hook(status(from, out.id, 'delivered'))).status).toBe(200);
    msgs = await messagesOf(chat.id);
    expect(msgs.find((m: any) => m.text === 'Заказ в пути').state).toBe('read');
    expect(graph.unauthorized).toEqual([]);

    // A status that overtakes Graph's own answer (before the id is stored) is not lost.
    graph.onSend = async (s) => {
      expect((await hook(status(from, s.id, 'delivered'))).status).toBe(200);
    };
    expect((await send(`/chats/${chat.id}/messages`, { employee: '1000', text: 'Быстрый ответ' })).status).toBe(202);
    await waitFor(async () => (await messagesOf(chat.id)).find((m: any) => m.text === 'Быстрый ответ')?.state === 'delivered', 'early status applied');
    graph.onSend = null;
  });

  test('24-hour window: free text refused after it (422 template_required), a mapped template accepted', async () => {
    const from = '79165554433';
    expect((await hook(inText(from, 'wamid.OLD1', 'вопрос позавчера', 25 * 3600_000))).status).toBe(200);
    const chat = await chatOf(from);
    const refused = await send(`/chats/${chat.id}/messages`, { employee: '1001', text: 'Добрый день!' });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'template_required', field: 'template' });
    expect(refused.body.error.message).toMatch(/template needed/);
    // Nothing was queued.
    expect((await messagesOf(chat.id)).length).toBe(1);

    // Our template, not yet mapped for this account: said so.
    expect((await send('/chat-templates/order_ready', { text: 'Здравствуйте, {customerName}! Заказ {orderNumber} готов.' }, 'PUT')).status).toBe(201);
    const unmapped = await send(`/chats/${chat.id}/messages`, { employee: '1001', template: 'order_ready', vars: { customerName: 'Мария' }, context: { order: 'ЗК-17' } });
    expect(unmapped.status).toBe(422);
    expect(unmapped.body.error.code).toBe('template_not_mapped');

    // The catalogue (two pages from Graph), then the mapping.
    const synced = await send('/messengers/whatsapp/cloud1/templates/sync', {});
    expect(synced.status).toBe(200);
    expect(synced.body.items.map((t: any) => [t.name, t.language, t.status, t.params, t.header])).toEqual([
      ['draft_one', 'en_US', 'PENDING', 1, null], ['hello', 'ru', 'APPROVED', 0, null], ['invoice_doc', 'ru', 'APPROVED', 2, 'DOCUMENT'], ['order_ready', 'ru', 'APPROVED', 2, 'TEXT']]);
    expect((await send('/chat-templates/order_ready/whatsapp/cloud1', { waName: 'draft_one', language: 'en_US', params: ['customerName'] }, 'PUT')).body.error.code).toBe('template_not_approved');
    expect((await send('/chat-templates/order_ready/whatsapp/cloud1', { waName: 'order_ready', language: 'ru', params: ['customerName'] }, 'PUT')).body.error.field).toBe('params');
    expect((await send('/chat-templates/order_ready/whatsapp/cloud1', { waName: 'order_ready', language: 'ru', params: ['customerName', 'bogus'] }, 'PUT')).status).toBe(400);
    const put = await send('/chat-templates/order_ready/whatsapp/cloud1', { waName: 'order_ready', language: 'ru', params: ['customerName', 'orderNumber'] }, 'PUT');
    expect(put.status).toBe(201);
    expect((await api(stack, '/chat-templates/order_ready/whatsapp')).body.items).toEqual([expect.objectContaining({ accountId: 'cloud1', waName: 'order_ready', params: ['customerName', 'orderNumber'] })]);

    const ok = await send(`/chats/${chat.id}/messages`, { employee: '1001', template: 'order_ready', vars: { customerName: 'Мария' }, context: { order: 'ЗК-17' } });
    expect(ok.status).toBe(202);
    expect(ok.body.text).toBe('Здравствуйте, Мария! Заказ ЗК-17 готов.');
    await waitFor(() => graph.sent.some((s) => s.type === 'template' && s.to === from), 'template sent');
    expect(graph.sent.find((s) => s.type === 'template' && s.to === from)!.template).toEqual({ name: 'order_ready', language: 'ru', params: ['Мария', 'ЗК-17'] });

    // The customer answers: the window is open again for free text.
    expect((await hook(inText(from, 'wamid.NEW1', 'Спасибо'))).status).toBe(200);
    expect((await send(`/chats/${chat.id}/messages`, { employee: '1001', text: 'Пожалуйста' })).status).toBe(202);
  });

  test('the fake Graph refuses free-form messages outside the window as Meta does (131047)', async () => {
    const res = await fetch(`${graph.root}/v21.0/${PHONE_ID}/messages`, {
      method: 'POST', headers: { Authorization: `Bearer ${ACCESS}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ messaging_product: 'whatsapp', to: '79160000404', type: 'text', text: { body: 'привет' } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe(131047);
  });

  test('an invoice outside the window: one template message with the PDF in its DOCUMENT header; a template without one → 422; inside the window the PDF carries the text', async () => {
    const from = '79167778899';
    expect((await hook(inText(from, 'wamid.INV0', 'пришлите счёт', 25 * 3600_000))).status).toBe(200);
    const chat = await chatOf(from);
    const wrote = Date.parse((await messagesOf(chat.id))[0].createdAt);
    expect(chat.window).toEqual({ open: false, closesAt: new Date(wrote + 24 * 3600_000).toISOString() });
    expect((await api(stack, `/chats/${chat.id}`)).body.window).toEqual(chat.window);
    expect((await send('/messengers/whatsapp/cloud1/templates/sync', {})).status).toBe(200);
    expect((await send('/chat-templates/invoice_plain', { text: 'Счёт № {invoiceNumber}, {employeeName}' }, 'PUT')).status).toBe(201);
    expect((await send('/chat-templates/invoice_plain/whatsapp/cloud1', { waName: 'hello', language: 'ru', params: [] }, 'PUT')).status).toBe(201);
    expect((await send('/chat-templates/invoice_wa', { text: 'Счёт № {invoiceNumber} на {amount}.' }, 'PUT')).status).toBe(201);
    const mapped = await send('/chat-templates/invoice_wa/whatsapp/cloud1', { waName: 'invoice_doc', language: 'ru', params: ['invoiceNumber', 'amount'] }, 'PUT');
    expect(mapped.status).toBe(201);
    expect(mapped.body.header).toBe('DOCUMENT');
    const before = graph.sent.length;

    // No template: a free-form document is refused before anything is queued.
    const plain = await send('/invoices/send', { employee: '1000', chatId: chat.id, invoice: invoice() });
    expect(plain.status).toBe(422);
    expect(plain.body.error.code).toBe('template_required');
    // A template whose WhatsApp form has no DOCUMENT header cannot carry the PDF.
    const noHeader = await send('/invoices/send', { employee: '1000', chatId: chat.id, template: 'invoice_plain', invoice: invoice() });
    expect(noHeader.status).toBe(422);
    expect(noHeader.body.error).toMatchObject({ code: 'template_without_document_header', field: 'file' });
    expect(noHeader.body.error.message).toMatch(/DOCUMENT header/);
    expect((await messagesOf(chat.id)).length).toBe(1);

    const ok = await send('/invoices/send', { employee: '1000', chatId: chat.id, template: 'invoice_wa', invoice: invoice() });
    expect(ok.status).toBe(200);
    await waitFor(async () => (await messagesOf(chat.id)).find((m: any) => m.direction === 'out')?.state === 'sent', 'invoice sent');
    const out = graph.sent.slice(before).filter((s) => s.to === from);
    expect(out).toHaveLength(1); // one message: the template with the PDF in its header
    expect(out[0].template).toMatchObject({ name: 'invoice_doc', language: 'ru', params: ['ТФ-123', expect.stringMatching(/руб\.$/)], header: { type: 'document', document: { filename: ok.body.invoice.file.name } } });
    const pdf = await fetch(`${stack.base}${ok.body.invoice.downloadUrl.replace(/^\/api\/v1/, '')}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(graph.media.get(out[0].template!.header!.document!.id)!.bytes.equals(Buffer.from(await pdf.arrayBuffer()))).toBe(true);
    expect((await messagesOf(chat.id)).find((m: any) => m.direction === 'out').externalId).toBe(out[0].id);
    expect(graph.refused.filter((x) => x.to === from)).toEqual([]);

    // The customer writes: the window is open; a template without a document header sends the PDF with the text as its caption.
    expect((await hook(inText(from, 'wamid.INV1', 'спасибо, а ещё один?'))).status).toBe(200);
    expect((await chatOf(from)).window.open).toBe(true);
    const inside = await send('/invoices/send', { employee: '1000', chatId: chat.id, template: 'invoice_plain', invoice: { ...invoice(), number: 'ТФ-124' } });
    expect(inside.status).toBe(200);
    await waitFor(() => graph.sent.slice(before).filter((s) => s.to === from).length === 2, 'second invoice');
    const doc = graph.sent.slice(before).filter((s) => s.to === from)[1];
    expect(doc).toMatchObject({ type: 'document', media: { caption: 'Счёт № ТФ-124, Анна Смирнова' } });
  });

  test('the window is checked again at delivery: a message that waited past it fails with template_required, Graph is not asked again', async () => {
    const from = '79164443322';
    expect((await hook(inText(from, 'wamid.EDGE1', 'успеете?', 24 * 3600_000 - 4000))).status).toBe(200);
    const chat = await chatOf(from);
    expect(chat.window.open).toBe(true);
    graph.failNext = { status: 503, code: 131000, retryAfterS: 6 };
    const posts = graph.posts;
    const r = await send(`/chats/${chat.id}/messages`, { employee: '1000', text: 'Да, сейчас' });
    expect(r.status).toBe(202); // inside the window when queued
    await waitFor(async () => (await messagesOf(chat.id)).find((m: any) => m.id === r.body.id)?.state === 'failed', 'failed at delivery', 15_000);
    const m = (await messagesOf(chat.id)).find((x: any) => x.id === r.body.id);
    expect(m.failure).toMatch(/^template_required: template needed/);
    expect(graph.posts - posts).toBe(1); // the first (failed) try only: the retry was refused here, not by Meta
    expect((await chatOf(from)).window.open).toBe(false);
  });

  test('start by phone on the Cloud API: reachability unknown, a template first; an undeliverable number comes back failed with the reason', async () => {
    const text = await send('/chats/start', { employee: '1000', accountId: 'cloud1', phone: '+7 916 000-99-88', text: 'Здравствуйте' });
    expect(text.status).toBe(422);
    expect(text.body.error.code).toBe('template_required');
    expect(await chatOf('79160009988')).toBeUndefined();
    const started = await send('/chats/start', { employee: '1000', accountId: 'cloud1', phone: '+7 916 000-99-88', template: 'order_ready', vars: { customerName: 'Олег', orderNumber: '5' } });
    expect(started.status).toBe(201);
    expect(started.body.reachability.reachable).toBe('unknown');
    await waitFor(() => graph.sent.some((s) => s.to === '79160009988'), 'first template');
    const wamid = graph.sent.find((s) => s.to === '79160009988')!.id;
    await waitFor(async () => (await messagesOf(started.body.chat.id))[0]?.state === 'sent', 'sent');
    expect((await hook(status('79160009988', wamid, 'failed', [{ code: 131026, title: 'Message undeliverable', error_data: { details: 'The recipient is not on WhatsApp' } }]))).status).toBe(200);
    const m = (await messagesOf(started.body.chat.id))[0];
    expect(m.state).toBe('failed');
    expect(m.failure).toMatch(/131026.*undeliverable.*not on WhatsApp/);
  });

  test('gateway: number check no → 422 not_registered; yes → first message sent; text and files both ways', async () => {
    const no = await send('/chats/start', { employee: '1001', accountId: 'gw1', phone: '+79170000001', text: 'Добрый день' });
    expect(no.status).toBe(422);
    expect(no.body.error.code).toBe('not_registered');
    gw.registered.add('79170000002');
    const yes = await send('/chats/start', { employee: '1001', accountId: 'gw1', phone: '8 (917) 000-00-02', text: 'Добрый день' });
    expect(yes.status).toBe(201);
    expect(yes.body.reachability).toMatchObject({ reachable: 'yes', peerId: '79170000002@c.us' });
    expect(gw.checks).toEqual(['79170000001', '79170000002']);
    await waitFor(() => gw.sent.some((s) => s.method === 'sendMessage' && s.chatId === '79170000002@c.us' && s.message === 'Добрый день'), 'gateway text');
    const chatId = yes.body.chat.id;
    const idMessage = gw.sent.find((s) => s.message === 'Добрый день')!.idMessage;
    await waitFor(async () => (await messagesOf(chatId))[0]?.state === 'sent', 'sent');

    // Statuses from the gateway: read, then a late delivered.
    expect((await gwHook({ typeWebhook: 'outgoingMessageStatus', instanceData: { idInstance: 1101000001 }, timestamp: Number(ts()), chatId: '79170000002@c.us', idMessage, status: 'read' })).status).toBe(200);
    expect((await gwHook({ typeWebhook: 'outgoingMessageStatus', instanceData: { idInstance: 1101000001 }, timestamp: Number(ts()), chatId: '79170000002@c.us', idMessage, status: 'delivered' })).status).toBe(200);
    expect((await messagesOf(chatId))[0].state).toBe('read');

    // The customer answers with a text and a document.
    const inbound = { typeWebhook: 'incomingMessageReceived', instanceData: { idInstance: 1101000001 }, timestamp: Number(ts()), idMessage: 'GWIN1',
      senderData: { chatId: '79170000002@c.us', sender: '79170000002@c.us', senderName: 'Олег' }, messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: 'Пришлите счёт' } } };
    expect((await gwHook(inbound)).status).toBe(200);
    expect((await gwHook(inbound)).status).toBe(200); // replayed
    const url = gw.addFile(PDF);
    expect((await gwHook({ ...inbound, idMessage: 'GWIN2', messageData: { typeMessage: 'documentMessage', fileMessageData: { downloadUrl: url, fileName: 'реквизиты.pdf', mimeType: 'application/pdf', caption: '' } } })).status).toBe(200);
    let msgs = await messagesOf(chatId);
    expect(msgs.map((m: any) => [m.direction, m.text, m.file?.size ?? null])).toEqual([['out', 'Добрый день', null], ['in', 'Пришлите счёт', null], ['in', null, PDF.length]]);
    expect(msgs[2].file.name).toBe('реквизиты.pdf');

    // A file out: sendFileByUpload with our bytes.
    const up = await api(stack, '/chat-files', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: PNG });
    expect((await send(`/chats/${chatId}/messages`, { employee: '1001', text: 'Схема проезда', file: { id: up.body.id, name: 'схема.png' } })).status).toBe(202);
    await waitFor(() => gw.sent.some((s) => s.method === 'sendFileByUpload'), 'file sent');
    const f = gw.sent.find((s) => s.method === 'sendFileByUpload')!;
    expect(f).toMatchObject({ chatId: '79170000002@c.us', caption: 'Схема проезда' });
    expect(f.file!.bytes.equals(PNG)).toBe(true);
    msgs = await messagesOf(chatId);
    expect(msgs).toHaveLength(4);

    // The gateway's configured texts are its catalogue; the same template of ours maps onto it too.
    const cat = await api(stack, '/messengers/whatsapp/gw1/templates');
    expect(cat.body).toMatchObject({ kind: 'gateway', items: [expect.objectContaining({ name: 'order_ready', params: 2 })] });
    expect((await send('/chat-templates/order_ready/whatsapp/gw1', { waName: 'order_ready', language: 'ru', params: ['customerName', 'orderNumber'] }, 'PUT')).status).toBe(201);
    // Our template sent through the gateway goes out as the gateway's own mapped text, its {{n}} filled.
    const viaTpl = await send(`/chats/${chatId}/messages`, { employee: '1001', template: 'order_ready', vars: { customerName: 'Олег', orderNumber: '12' } });
    expect(viaTpl.status).toBe(202);
    expect(viaTpl.body.text).toBe('Здравствуйте, Олег! Заказ 12 готов.'); // our rendering, kept in the chat
    await waitFor(() => gw.sent.some((s) => s.method === 'sendMessage' && s.message === 'Добрый день, Олег! Ваш заказ 12 готов к выдаче.'), 'mapped gateway text');
    expect((await api(stack, '/chat-templates/order_ready/whatsapp')).body.items.map((m: any) => m.accountId)).toEqual(['cloud1', 'gw1']);
    // GET /messengers lists both kinds of accounts side by side.
    const ms = (await api(stack, '/messengers')).body.items.map((m: any) => [m.accountId, m.kind]);
    expect(ms).toEqual(expect.arrayContaining([['cloud1', 'whatsapp'], ['gw1', 'whatsapp']]));
  });
});

describe('TELEFONIST_WHATSAPP_ACCOUNTS validation', () => {
  const load = (v: string) => {
    try {
      loadConfig({ TELEFONIST_WHATSAPP_ACCOUNTS: v }, { dotenv: false });
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  };
  test('field-level messages', () => {
    expect(load('nope')).toMatch(/TELEFONIST_WHATSAPP_ACCOUNTS.*JSON array/);
    expect(load(JSON.stringify([{ id: 'a', kind: 'sms' }]))).toMatch(/\[0\.kind\].*'cloud' or 'gateway'/);
    expect(load(JSON.stringify([{ id: 'a', kind: 'cloud', phoneNumberId: 'x', wabaId: '123456', accessToken: 'tok-12345678', appSecret: 'sec-12345678', verifyToken: 'ver-12345678' }])))
      .toMatch(/\[0\.phoneNumberId\]/);
    expect(load(JSON.stringify([{ id: 'a', kind: 'gateway', apiUrl: 'https://api.green-api.com', idInstance: '1', apiTokenInstance: 'tok-12345678', webhookToken: 'short' }])))
      .toMatch(/\[0\.webhookToken\]/);
    expect(load(JSON.stringify([{ id: 'a', kind: 'gateway', apiUrl: 'https://api.green-api.com', idInstance: '1', apiTokenInstance: 'tok-12345678', webhookToken: 'x'.repeat(16) }]))).toBe('');
  });
});
