/**
 * The panel's chats screen in a real headless Chromium (issue 13): a customer writes to our Telegram bot
 * (a local fake Bot API, telegraf pointed at it, the webhook with its secret) → the chat is in Очередь for
 * operator A; A answers in the panel → the fake Bot API receives the sendMessage, the chat moves to Мои;
 * operator B no longer has it in the queue, and opening it shows 403. Screenshot: docs/screenshots/chats.png.
 * Issue 14: a WhatsApp Cloud chat outside the 24-hour window opens with the template picker (from the chat's
 * `window`) and says why; an invoice; the AI analysis card against a local OpenAI-compatible fake (summary,
 * sentiment, answered, re-run, a failure). Screenshots: chats-start, chats-template-window, chats-invoice,
 * chats-analysis.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { api, Stack, startStack, waitFor } from './helpers';
import { customerUpdate, FakeBotApi } from './fake-telegram-bot';
import { buildPanel, launchChromium, screenshot, signedIn } from './panel-browser';
import { InboundSink, MessengerAdapter, ReachabilityResult } from '../src/messengers/adapter';
import { cloudHook, FakeGateway, FakeGraph, sign } from './fake-whatsapp';
import { FakeLlm, startFakeLlm } from './fake-llm';

const SECRET = 'webhook-secret-panel-0123456789';
const WA = { access: 'EAAG-access-token-panel', phoneId: '1098765432', waba: '2034567890', appSecret: 'app-secret-0123456789abcdef', verify: 'verify-token-42-xyz' };
const GW = { id: '1101000001', token: 'gw-api-token-abc', hook: 'gateway-webhook-token-0123' };
const SHOTS = join(__dirname, '..', 'docs', 'screenshots');
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251))]);

/** A messenger account that can check phones: +7999… is "not registered", any other number is reachable. */
class CheckingAdapter implements MessengerAdapter {
  readonly kind = 'fake';
  readonly accountId = 'checker';
  readonly limits = { perSecond: 1000, perPeerIntervalMs: 0 };
  readonly sent: string[] = [];
  async start(_sink: InboundSink) {}
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

const json = (body: unknown, method = 'POST') => ({ method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('panel chats in Chromium', () => {
  let stack: Stack;
  let fake: FakeBotApi;
  let graph: FakeGraph;
  let gw: FakeGateway;
  let filesDir: string;
  let browser: Browser;
  let anna: Page;
  let petr: Page;
  let chatId = '';
  const checker = new CheckingAdapter();

  const hook = (update: unknown) =>
    fetch(`${stack.base}/messengers/telegram/main/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': SECRET },
      body: JSON.stringify(update),
    });
  const tabCount = async (page: Page, view: string) => Number(await page.locator(`[data-testid="chats-tab-${view}"]`).getAttribute('data-chats'));

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const dir = buildPanel();
    fake = new FakeBotApi();
    await fake.listen();
    graph = new FakeGraph(WA.access, WA.phoneId, WA.waba);
    await graph.listen();
    gw = new FakeGateway(GW.id, GW.token);
    await gw.listen();
    filesDir = mkdtempSync(join(tmpdir(), 'tf-panel-chat-files-'));
    stack = await startStack('sqlite', {
      env: {
        TELEFONIST_PANEL_DIR: dir,
        TELEFONIST_TELEGRAM_BOTS: JSON.stringify([{ id: 'main', token: '123456:TEST-token', secret: SECRET }]),
        TELEFONIST_TELEGRAM_API_ROOT: fake.apiRoot,
        TELEFONIST_CHAT_FILES_DIR: filesDir,
        TELEFONIST_WHATSAPP_ACCOUNTS: JSON.stringify([
          { id: 'wa', kind: 'cloud', phoneNumberId: WA.phoneId, wabaId: WA.waba, accessToken: WA.access, appSecret: WA.appSecret, verifyToken: WA.verify },
          { id: 'wagw', kind: 'gateway', apiUrl: gw.root, idInstance: GW.id, apiTokenInstance: GW.token, webhookToken: GW.hook },
        ]),
        TELEFONIST_WHATSAPP_GRAPH_ROOT: graph.root,
      },
      start: { chatOutbox: { baseDelayMs: 50, maxDelayMs: 200, limits: { perSecond: 1000, perPeerIntervalMs: 0 } }, messengers: () => [checker] },
    });
    const people: Array<[string, Record<string, unknown>]> = [
      ['1001', { name: 'Иванова Анна', login: 'anna', password: 'anna-secret-1', rights: [] }],
      ['1002', { name: 'Петров Пётр', login: 'petr', password: 'petr-secret-1', rights: [] }],
    ];
    for (const [ext, body] of people) expect((await api(stack, `/employees/${ext}`, json(body, 'PUT'))).status).toBeLessThan(300);
    browser = await launchChromium();
    anna = (await signedIn(browser, `http://127.0.0.1:${stack.app.port}`, 'anna', 'anna-secret-1')).page;
    petr = (await signedIn(browser, `http://127.0.0.1:${stack.app.port}`, 'petr', 'petr-secret-1')).page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await stack?.stop();
    await fake?.close();
    await graph?.close();
    await gw?.close();
    if (filesDir) rmSync(filesDir, { recursive: true, force: true });
  });

  test('a customer message lands in Очередь; the first reply in the panel moves it to Мои; the colleague gets 403', async () => {
    await anna.goto('/chats?view=queue');
    await petr.goto('/chats?view=queue');
    await anna.locator('[data-testid="chats-list"][data-view="queue"]').waitFor({ timeout: 15_000 });
    // Both event streams are open (the live link indicator says so) before the customer writes.
    await anna.locator('[data-testid="live-link"][data-status="online"]').waitFor({ timeout: 15_000 });
    await petr.locator('[data-testid="live-link"][data-status="online"]').waitFor({ timeout: 15_000 });

    expect((await hook(customerUpdate(4242, 1, { text: 'Здравствуйте! Где мой заказ №123?' }))).status).toBe(200);
    await waitFor(async () => Boolean((chatId = (await api(stack, '/chats')).body.items[0]?.id ?? '')), 'chat stored');

    // It shows in both operators' queues, live (no reload), with the unread count.
    const item = anna.locator(`[data-testid="chats-item"][data-chat-id="${chatId}"]`);
    await item.waitFor({ timeout: 15_000 });
    await petr.locator(`[data-testid="chats-item"][data-chat-id="${chatId}"]`).waitFor({ timeout: 15_000 });
    expect(await tabCount(anna, 'queue')).toBe(1);
    expect(Number(await anna.locator('[data-testid="chats-tab-queue"]').getAttribute('data-unread'))).toBe(1);

    // A opens it and answers.
    await item.click();
    const win = anna.locator(`[data-testid="chats-window"][data-chat-id="${chatId}"]`);
    await win.waitFor({ timeout: 10_000 });
    expect(await win.getAttribute('data-status')).toBe('queue');
    expect(await win.locator('[data-testid="chats-message"][data-direction="in"]').innerText()).toContain('Где мой заказ №123?');
    // No language model here: the AI analysis card says so plainly (the server's reason), no button, no placeholder.
    const noAnalysis = win.locator('[data-testid="chat-analysis-disabled"]');
    await noAnalysis.waitFor({ timeout: 10_000 });
    expect(await noAnalysis.innerText()).toMatch(/LLM_PROVIDER=none/);
    expect(await win.locator('[data-testid="chat-analysis-run"]').count()).toBe(0);
    await anna.locator('[data-testid="chats-composer"] textarea').fill('Добрый день! Сейчас проверю.');
    await anna.locator('[data-testid="chats-send"]').click();

    // The fake Bot API got the sendMessage; the chat is A's: Мои, in work, the delivery state shown.
    await waitFor(() => fake.sent.some((s) => s.method === 'sendMessage' && s.chatId === '4242' && s.text === 'Добрый день! Сейчас проверю.'), 'sendMessage received by the Bot API');
    await anna.locator(`[data-testid="chats-list"][data-view="my"] [data-testid="chats-item"][data-chat-id="${chatId}"]`).waitFor({ timeout: 10_000 });
    await anna.locator(`[data-testid="chats-window"][data-chat-id="${chatId}"][data-status="in_work"][data-responsible="1001"]`).waitFor({ timeout: 10_000 });
    expect(new URL(anna.url()).searchParams.get('view')).toBe('my');
    await anna.locator('[data-testid="chats-message"][data-direction="out"][data-state="sent"]').waitFor({ timeout: 10_000 });
    await waitFor(async () => (await tabCount(anna, 'my')) === 1 && (await tabCount(anna, 'queue')) === 0, 'tab counts: my 1, queue 0', 10_000);
    await anna.waitForTimeout(400); // the tab's ink bar settles
    await screenshot(anna, join(SHOTS, 'chats.png'));

    // B: the queue empties live; opening the chat says 403.
    await petr.locator(`[data-testid="chats-item"][data-chat-id="${chatId}"]`).waitFor({ state: 'detached', timeout: 15_000 });
    expect(await petr.locator('[data-testid="chats-item"]').count()).toBe(0);
    expect(await tabCount(petr, 'queue')).toBe(0);
    await petr.goto(`/chats?view=queue&chat=${chatId}`);
    const denied = petr.locator('[data-testid="chats-forbidden"]');
    await denied.waitFor({ timeout: 10_000 });
    expect(await denied.innerText()).toMatch(/403/);
  });
  test('a file, a template with a placeholder and an @mention from the chat window; start by phone shows the messenger\'s answer', async () => {
    expect((await api(stack, '/chat-templates/Заказ готов', json({ text: 'Ваш заказ {orderNumber} готов. {employeeName}' }, 'PUT'))).status).toBe(201);
    await anna.goto(`/chats?view=my&chat=${chatId}`);
    const win = anna.locator(`[data-testid="chats-window"][data-chat-id="${chatId}"]`);
    await win.waitFor({ timeout: 10_000 });

    // A file: POST /chat-files, then the message; Telegram gets the same bytes; the panel downloads them.
    await anna.locator('input[type=file]').setInputFiles({ name: 'счёт.pdf', mimeType: 'application/pdf', buffer: PDF });
    await anna.locator('[data-testid="chats-attached"]').waitFor({ timeout: 10_000 });
    await anna.locator('[data-testid="chats-composer"] textarea').fill('Счёт во вложении');
    await anna.locator('[data-testid="chats-send"]').click();
    await waitFor(() => fake.sent.some((s) => s.method === 'sendDocument' && s.chatId === '4242'), 'sendDocument', 15_000);
    expect(fake.sent.find((s) => s.method === 'sendDocument')!.file!.bytes.equals(PDF)).toBe(true);
    const link = anna.locator('[data-testid="chats-message-file"]').first();
    await link.waitFor({ timeout: 10_000 });
    const got = await anna.request.get(new URL((await link.getAttribute('href'))!, anna.url()).toString());
    expect(got.status()).toBe(200);
    expect(Buffer.from(await got.body()).equals(PDF)).toBe(true);

    // A template: the order number typed, the employee's name filled in by the server.
    await anna.locator('[data-testid="chats-template"]').click();
    await anna.locator('.ant-select-item-option[title="Заказ готов"]').click();
    await anna.locator('[data-testid="chats-var-orderNumber"] input').fill('А-77');
    await anna.locator('[data-testid="chats-send"]').click();
    await waitFor(() => fake.sent.some((s) => s.text === 'Ваш заказ А-77 готов. Иванова Анна'), 'template sent', 15_000);

    // @mention in an internal note: Пётр becomes an observer and sees the chat under Наблюдаю.
    await anna.locator('[data-testid="chats-internal"]').click();
    await anna.locator('[data-testid="chats-composer"] textarea').fill('@1002 посмотри, пожалуйста');
    await anna.locator('[data-testid="chats-send"]').click();
    await win.locator('[data-testid="chats-message"][data-direction="note"]').waitFor({ timeout: 10_000 });
    await waitFor(async () => ((await api(stack, `/chats/${chatId}`)).body.observers ?? []).includes('1002'), 'observer added');
    await petr.goto('/chats?view=observed');
    await petr.locator(`[data-testid="chats-item"][data-chat-id="${chatId}"]`).waitFor({ timeout: 10_000 });

    // Start by phone: «Проверить номер» asks every account and sends nothing; "not registered" is said plainly;
    // a reachable number is written to from the chosen account and the chat opens in Мои.
    await anna.locator('[data-testid="chats-start"]').click();
    await anna.locator('[data-testid="chats-start-account"][data-account="checker"] input:checked').waitFor({ state: 'attached', timeout: 10_000 });
    await anna.locator('[data-testid="chats-start-phone"]').fill('+7 999 123-45-67');
    await anna.locator('[data-testid="chats-start-text"]').fill('Здравствуйте!');
    await anna.locator('[data-testid="chats-start-check"]').click();
    const answer = anna.locator('[data-testid="chats-start-answer"][data-account="checker"]');
    await answer.waitFor({ timeout: 10_000 });
    expect(await answer.getAttribute('data-code')).toBe('no');
    expect(await answer.innerText()).toMatch(/нет в fake/);
    expect(checker.sent.includes('Здравствуйте!')).toBe(false);
    await anna.locator('[data-testid="chats-start-phone"]').fill('+7 916 111-22-33');
    await anna.locator('[data-testid="chats-start-check"]').click();
    await anna.locator('[data-testid="chats-start-answer"][data-account="checker"][data-code="yes"]').waitFor({ timeout: 10_000 });
    expect(checker.sent.includes('Здравствуйте!')).toBe(false); // a check writes nothing
    await anna.locator('[data-testid="chats-start-from-option"][data-account="checker"] label').click();
    await anna.locator('[data-testid="chats-start-ok"]').click();
    await waitFor(() => checker.sent.includes('Здравствуйте!'), 'first message sent by the account');
    await anna.locator('[data-testid="chats-window"][data-status="in_work"][data-responsible="1001"]').waitFor({ timeout: 10_000 });
  });

  test('start by phone: every account\'s answer side by side (есть в WhatsApp, нет, не проверить), nothing sent until one is chosen; нужен шаблон on WhatsApp Cloud', async () => {
    gw.registered.add('79995550011');
    await anna.goto('/chats?view=my');
    await anna.locator('[data-testid="chats-start"]').click();
    await anna.locator('[data-testid="chats-start-account"][data-account="wagw"] input:checked').waitFor({ state: 'attached', timeout: 10_000 });
    await anna.locator('[data-testid="chats-start-phone"]').fill('+7 999 555-00-11');
    await anna.locator('[data-testid="chats-start-text"]').fill('Добрый день, это Анна');
    await anna.locator('[data-testid="chats-start-check"]').click();
    const ans = (acc: string) => anna.locator(`[data-testid="chats-start-answer"][data-account="${acc}"]`);
    await ans('wagw').waitFor({ timeout: 15_000 });
    expect(await anna.locator('[data-testid="chats-start-answers"] [data-testid="chats-start-answer"]').count()).toBe(4);
    expect(await ans('wagw').getAttribute('data-code')).toBe('yes');
    expect(await ans('wagw').innerText()).toMatch(/есть в WhatsApp/);
    expect(await ans('checker').getAttribute('data-code')).toBe('no');
    expect(await ans('checker').innerText()).toMatch(/нет в fake/);
    expect(await ans('main').getAttribute('data-code')).toBe('unknown');
    expect(await ans('main').innerText()).toMatch(/не проверить в Telegram-бот/);
    expect(await ans('wa').getAttribute('data-code')).toBe('unknown');
    // Side by side: the four answers on one row.
    const tops = await anna.locator('[data-testid="chats-start-answer"]').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top)));
    expect(new Set(tops).size).toBe(1);
    expect(gw.checks).toContain('79995550011');
    expect(gw.sent.some((x) => x.chatId === '79995550011@c.us')).toBe(false); // checking sent nothing
    // The bot cannot be chosen; WhatsApp Cloud needs a template for a first message.
    expect(await anna.locator('[data-testid="chats-start-from-option"][data-account="main"] input').isDisabled()).toBe(true);
    await anna.locator('[data-testid="chats-start-from-option"][data-account="wa"] label').click();
    await anna.locator('[data-testid="chats-start-ok"]').click();
    await anna.locator('[data-testid="chats-start-answer"][data-account="wa"][data-code="template_required"]').waitFor({ timeout: 10_000 });
    expect(await ans('wa').innerText()).toMatch(/WhatsApp: нужен шаблон/);
    await ans('wagw').scrollIntoViewIfNeeded();
    await screenshot(anna, join(SHOTS, 'chats-start.png'));
    await anna.locator('[data-testid="chats-start-from-option"][data-account="wagw"] label').click();
    await anna.locator('[data-testid="chats-start-ok"]').click();
    await waitFor(() => gw.sent.some((s) => s.chatId === '79995550011@c.us' && s.message === 'Добрый день, это Анна'), 'first message through the gateway', 15_000);
    await anna.locator('[data-testid="chats-window"][data-status="in_work"][data-responsible="1001"]').waitFor({ timeout: 10_000 });
    await anna.keyboard.press('Escape');
  });

  test('a WhatsApp Cloud chat outside the 24-hour window: the picker from the chat\'s window (and why); after a refused send too; the template goes out; the customer writes → free text again', async () => {
    expect((await api(stack, '/chat-templates/order_ready', json({ text: 'Здравствуйте, {customerName}! Заказ {orderNumber} готов.' }, 'PUT'))).status).toBe(201);
    expect((await api(stack, '/messengers/whatsapp/wa/templates/sync', json({}))).status).toBe(200);
    expect((await api(stack, '/chat-templates/order_ready/whatsapp/wa', json({ waName: 'order_ready', language: 'ru', params: ['customerName', 'orderNumber'] }, 'PUT'))).status).toBe(201);
    // Anna's chat with a number that never wrote: started with the template (the only way), so the window is closed.
    const started = await api(stack, '/chats/start', json({ employee: '1001', accountId: 'wa', phone: '+7 916 000-99-88', template: 'order_ready', vars: { customerName: 'Олег', orderNumber: '5' } }));
    expect(started.status).toBe(201);
    const id = started.body.chat.id as string;
    await waitFor(() => graph.sent.some((s) => s.to === '79160009988'), 'first template');
    // Over HTTP: the chat carries its window (closed, the customer never wrote).
    expect((await api(stack, `/chats/${id}`)).body.window).toEqual({ open: false, closesAt: null });
    expect((await api(stack, '/chats?limit=100')).body.items.find((c: any) => c.id === id).window).toEqual({ open: false, closesAt: null });
    expect((await api(stack, `/chats/${chatId}`)).body.window).toBeUndefined(); // Telegram has no window

    await anna.goto(`/chats?view=my&chat=${id}`);
    const win = anna.locator(`[data-testid="chats-window"][data-chat-id="${id}"]`);
    await win.waitFor({ timeout: 10_000 });
    // Before any send: the picker, and why.
    const fromChat = anna.locator('[data-testid="chats-window-closed"][data-code="window"]');
    await fromChat.waitFor({ timeout: 10_000 });
    expect(await fromChat.innerText()).toMatch(/Окно 24 часа в WhatsApp закрыто/);
    expect(await anna.locator('[data-testid="chats-window-reason"]').innerText()).toMatch(/ещё не писал/);
    await anna.locator('[data-testid="chats-template-picker"]').waitFor({ timeout: 10_000 });
    expect(await anna.locator('[data-testid="chats-composer"]').count()).toBe(0);
    await fromChat.scrollIntoViewIfNeeded();
    await screenshot(anna, join(SHOTS, 'chats-template-window.png'));
    const closed = fromChat;
    const before = graph.sent.length;
    // A file with a template whose WhatsApp form has no DOCUMENT header: refused, and the panel says why.
    await anna.locator('input[type=file]').setInputFiles({ name: 'счёт.pdf', mimeType: 'application/pdf', buffer: PDF });
    await anna.locator('[data-testid="chats-attached"]').waitFor({ timeout: 10_000 });
    await anna.locator('[data-testid="chats-window-template"]').click();
    await anna.locator('.ant-select-item-option').filter({ hasText: 'order_ready' }).click();
    await anna.locator('[data-testid="chats-var-customerName"] input').fill('Олег');
    await anna.locator('[data-testid="chats-var-orderNumber"] input').fill('ЗК-9');
    await anna.locator('[data-testid="chats-send"]').click();
    const noHeader = anna.locator('[data-testid="chats-window-closed"][data-code="template_without_document_header"]');
    await noHeader.waitFor({ timeout: 10_000 });
    expect(await noHeader.innerText()).toMatch(/документом в заголовке/);
    expect(graph.sent.length).toBe(before);
    await anna.locator('[data-testid="chats-attached"] .ant-tag-close-icon').click();
    await anna.locator('[data-testid="chats-attached"]').waitFor({ state: 'detached', timeout: 10_000 });
    expect(await anna.locator('[data-testid="chats-send-error"]').count()).toBe(0);
    await anna.locator('[data-testid="chats-send"]').click();
    await waitFor(() => graph.sent.slice(before).some((s) => s.type === 'template' && s.to === '79160009988'), 'template sent to Graph', 15_000);
    expect(graph.sent.slice(before).find((s) => s.type === 'template')!.template).toEqual({ name: 'order_ready', language: 'ru', params: ['Олег', 'ЗК-9'] });
    expect(graph.sent.slice(before).some((s) => s.type === 'text')).toBe(false);
    await win.locator('[data-testid="chats-message"][data-direction="out"]').filter({ hasText: 'Заказ ЗК-9 готов' }).waitFor({ timeout: 10_000 });
    // Still outside the window: the picker stays until the customer writes.
    await anna.locator('[data-testid="chats-template-picker"]').waitFor({ timeout: 10_000 });
    expect(await closed.count()).toBe(1);

    // The customer answers: the window opens (live), the composer is back, free text goes out as text.
    const raw = cloudHook(WA.phoneId, { contacts: [{ wa_id: '79160009988', profile: { name: 'Олег' } }], messages: [{ from: '79160009988', id: 'wamid.PANEL1', timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'Завтра после обеда' } }] });
    graph.observe(raw);
    expect((await fetch(`${stack.base}/messengers/whatsapp/wa/webhook`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': sign(WA.appSecret, raw) }, body: raw })).status).toBe(200);
    const open = anna.locator('[data-testid="chats-window-open"]');
    await open.waitFor({ timeout: 15_000 });
    expect(await open.innerText()).toMatch(/открыто до/);
    expect(await anna.locator('[data-testid="chats-window-closed"]').count()).toBe(0);
    expect((await api(stack, `/chats/${id}`)).body.window.open).toBe(true);
    await anna.locator('[data-testid="chats-composer"] textarea').fill('Ждём вас завтра');
    await anna.locator('[data-testid="chats-send"]').click();
    await waitFor(() => graph.sent.some((s) => s.type === 'text' && s.text === 'Ждём вас завтра'), 'free text inside the window', 15_000);
  });

  test('an invoice sent by 1C (POST /invoices/send) shows as «Счёт № … на сумму …» with a working download', async () => {
    const sent = await api(stack, '/invoices/send', json({
      employee: '1001',
      chatId,
      invoice: {
        number: 'ТФ-7',
        date: '2026-11-30',
        seller: { name: 'ООО «Ромашка»', inn: '7701234567', kpp: '770101001', address: 'г. Москва, ул. Ленина, д. 1',
          bank: { name: 'ПАО СБЕРБАНК г. Москва', bik: '044525225', account: '40702810900000000001', corrAccount: '30101810400000000225' } },
        buyer: { name: 'ИП Иванов Иван Иванович', inn: '770123456789', address: 'г. Тверь, пр. Победы, д. 5' },
        lines: [{ name: 'Кресло офисное', quantity: '1', unit: 'шт', price: '12500.00', vatRate: '20%', vat: '2083.33', amount: '12500.00' }],
        totals: { amount: '12500.00', vat: '2083.33', total: '12500.00' },
      },
    }));
    expect(sent.status).toBe(200);
    await anna.goto(`/chats?view=my&chat=${chatId}`);
    const inv = anna.locator('[data-testid="chats-invoice"][data-number="ТФ-7"]');
    await inv.waitFor({ timeout: 10_000 });
    expect(await inv.locator('[data-testid="chats-invoice-title"]').innerText()).toMatch(/^Счёт № ТФ-7 на сумму 12\s500,00 руб\.$/);
    // Download: the button's link gives the same PDF 1C's answer points to.
    const href = (await inv.locator('[data-testid="chats-invoice-download"]').getAttribute('href'))!;
    expect(href).toBe(sent.body.invoice.downloadUrl);
    const [download] = await Promise.all([anna.waitForEvent('download'), inv.locator('[data-testid="chats-invoice-download"]').click()]);
    expect(download.suggestedFilename()).toMatch(/^Сч[её]т № ТФ-7.*\.pdf$/);
    const got = await anna.request.get(new URL(href, anna.url()).toString());
    expect(got.status()).toBe(200);
    expect(got.headers()['content-type']).toBe('application/pdf');
    const bytes = Buffer.from(await got.body());
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    expect(bytes.length).toBe(sent.body.invoice.file.size);
    await inv.scrollIntoViewIfNeeded();
    await screenshot(anna, join(SHOTS, 'chats-invoice.png'));
  });
});

describe('panel chat analysis in Chromium (a fake OpenAI-compatible model)', () => {
  const GOOD = {
    summary: 'Клиент спросил, когда привезут кресло; оператор ответил, что доставка завтра до 18:00.',
    request: 'Узнать срок доставки',
    agreements: ['Доставка завтра до 18:00'],
    nextSteps: [{ who: 'Иванова Анна', what: 'Проверить доставку', due: 'завтра' }],
    sentiment: 'positive',
    answered: 'yes',
  };
  let stack: Stack;
  let fake: FakeBotApi;
  let llm: FakeLlm;
  let browser: Browser;
  let anna: Page;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const dir = buildPanel();
    fake = new FakeBotApi();
    await fake.listen();
    llm = await startFakeLlm(GOOD);
    stack = await startStack('sqlite', {
      env: {
        TELEFONIST_PANEL_DIR: dir,
        TELEFONIST_TELEGRAM_BOTS: JSON.stringify([{ id: 'main', token: '123456:TEST-token', secret: SECRET }]),
        TELEFONIST_TELEGRAM_API_ROOT: fake.apiRoot,
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: llm.url,
        LLM_MODEL: 'local',
        LLM_TIMEOUT_SECONDS: '20',
      },
      start: { chatOutbox: { baseDelayMs: 50, maxDelayMs: 200, limits: { perSecond: 1000, perPeerIntervalMs: 0 } } },
    });
    expect((await api(stack, '/employees/1001', json({ name: 'Иванова Анна', login: 'anna', password: 'anna-secret-1', rights: [] }, 'PUT'))).status).toBeLessThan(300);
    browser = await launchChromium();
    anna = (await signedIn(browser, `http://127.0.0.1:${stack.app.port}`, 'anna', 'anna-secret-1')).page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await stack?.stop();
    await fake?.close();
    await llm?.close();
  });

  test('closing a chat in the panel: the card shows the summary, sentiment and answered; re-run; a failure is shown', async () => {
    await anna.goto('/chats?view=queue');
    await anna.locator('[data-testid="live-link"][data-status="online"]').waitFor({ timeout: 15_000 });
    const hook = await fetch(`${stack.base}/messengers/telegram/main/webhook`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': SECRET },
      body: JSON.stringify(customerUpdate(5151, 1, { text: 'Когда привезут кресло?' })),
    });
    expect(hook.status).toBe(200);
    let id = '';
    await waitFor(async () => Boolean((id = (await api(stack, '/chats')).body.items[0]?.id ?? '')), 'chat stored');
    await anna.locator(`[data-testid="chats-item"][data-chat-id="${id}"]`).click();
    const win = anna.locator(`[data-testid="chats-window"][data-chat-id="${id}"]`);
    await win.waitFor({ timeout: 10_000 });
    await anna.locator('[data-testid="chats-composer"] textarea').fill('Доставка завтра до 18:00.');
    await anna.locator('[data-testid="chats-send"]').click();
    await anna.locator(`[data-testid="chats-window"][data-chat-id="${id}"][data-status="in_work"]`).waitFor({ timeout: 10_000 });
    // Nothing analysed before the close.
    await anna.locator('[data-testid="chat-analysis"][data-status="none"]').waitFor({ timeout: 10_000 });
    expect(llm.state.requests).toHaveLength(0);

    await anna.locator('[data-testid="chats-close"]').click();
    await anna.locator('.ant-popconfirm .ant-btn-primary').click();
    // Closed: the list moves on; the chat opened again by its link shows its card.
    await anna.locator(`[data-testid="chats-window"][data-chat-id="${id}"]`).waitFor({ state: 'detached', timeout: 10_000 });
    await waitFor(async () => (await api(stack, `/chats/${id}`)).body.status === 'closed', 'chat closed');
    await anna.goto(`/chats?view=my&chat=${id}`);
    await anna.locator(`[data-testid="chats-window"][data-chat-id="${id}"][data-status="closed"]`).waitFor({ timeout: 10_000 });
    const card = anna.locator('[data-testid="chat-analysis-card"]');
    await card.locator('[data-testid="chat-analysis"][data-status="done"]').waitFor({ timeout: 20_000 });
    expect(await card.locator('[data-testid="chat-analysis-summary"]').innerText()).toBe(GOOD.summary);
    expect(await card.innerText()).toContain('Доставка завтра до 18:00');
    expect(await card.locator('[data-testid="chat-analysis-sentiment"]').innerText()).toBe('Клиент доволен');
    expect(await card.locator('[data-testid="chat-analysis-answered"]').innerText()).toBe('Клиент получил ответ');
    expect(llm.state.requests).toHaveLength(1);
    await card.scrollIntoViewIfNeeded();
    await screenshot(anna, join(SHOTS, 'chats-analysis.png'));

    // Re-run: a new answer replaces the shown one.
    llm.state.answers.push('```json\n' + JSON.stringify({ ...GOOD, sentiment: 'neutral', answered: 'partly' }) + '\n```');
    await card.locator('[data-testid="chat-analysis-run"]').click();
    await card.locator('[data-testid="chat-analysis-answered"][data-answered="partly"]').waitFor({ timeout: 20_000 });
    expect(await card.locator('[data-testid="chat-analysis-answered"]').innerText()).toBe('Ответ получен частично');
    expect(await card.locator('[data-testid="chat-analysis-sentiment"]').innerText()).toBe('Нейтрально');
    expect(llm.state.requests).toHaveLength(2);

    // A model that never answers in the format: the failure is shown, the last good analysis stays.
    llm.state.answers.push('Конечно! Всё хорошо.', 'без JSON', '{"summary": ');
    await card.locator('[data-testid="chat-analysis-run"]').click();
    const failed = card.locator('[data-testid="chat-analysis-failed"]');
    await failed.waitFor({ timeout: 20_000 });
    expect(await failed.innerText()).toMatch(/Разбор не удался: .*format/);
    expect(await card.locator('[data-testid="chat-analysis-answered"]').innerText()).toBe('Ответ получен частично');
  });
});
