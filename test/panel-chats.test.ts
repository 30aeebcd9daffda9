/**
 * The panel's chats screen in a real headless Chromium (issue 13): a customer writes to our Telegram bot
 * (a local fake Bot API, telegraf pointed at it, the webhook with its secret) → the chat is in Очередь for
 * operator A; A answers in the panel → the fake Bot API receives the sendMessage, the chat moves to Мои;
 * operator B no longer has it in the queue, and opening it shows 403. Screenshot: docs/screenshots/chats.png.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { api, Stack, startStack, waitFor } from './helpers';
import { customerUpdate, FakeBotApi } from './fake-telegram-bot';
import { buildPanel, launchChromium, screenshot, signedIn } from './panel-browser';
import { InboundSink, MessengerAdapter, ReachabilityResult } from '../src/messengers/adapter';

const SECRET = 'webhook-secret-panel-0123456789';
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
    filesDir = mkdtempSync(join(tmpdir(), 'tf-panel-chat-files-'));
    stack = await startStack('sqlite', {
      env: {
        TELEFONIST_PANEL_DIR: dir,
        TELEFONIST_TELEGRAM_BOTS: JSON.stringify([{ id: 'main', token: '123456:TEST-token', secret: SECRET }]),
        TELEFONIST_TELEGRAM_API_ROOT: fake.apiRoot,
        TELEFONIST_CHAT_FILES_DIR: filesDir,
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
    if (filesDir) rmSync(filesDir, { recursive: true, force: true });
  });

  test('a customer message lands in Очередь; the first reply in the panel moves it to Мои; the colleague gets 403', async () => {
    await anna.goto('/chats?view=queue');
    await petr.goto('/chats?view=queue');
    await anna.locator('[data-testid="chats-list"][data-view="queue"]').waitFor({ timeout: 15_000 });
    await anna.waitForTimeout(500); // the event stream is open

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

    // Start by phone: "not registered" (422) is said plainly; a reachable number opens the chat in Мои.
    await anna.locator('[data-testid="chats-start"]').click();
    await anna.locator('[data-testid="chats-start-account"]').click();
    await anna.locator('.ant-select-item-option').filter({ hasText: 'checker' }).click();
    await anna.locator('[data-testid="chats-start-phone"]').fill('+7 999 123-45-67');
    await anna.locator('[data-testid="chats-start-text"]').fill('Здравствуйте!');
    await anna.locator('[data-testid="chats-start-ok"]').click();
    const answer = anna.locator('[data-testid="chats-start-answer"]');
    await answer.waitFor({ timeout: 10_000 });
    expect(await answer.getAttribute('data-code')).toBe('not_registered');
    expect(await answer.innerText()).toMatch(/не зарегистрирован/);
    await anna.locator('[data-testid="chats-start-phone"]').fill('+7 916 111-22-33');
    await anna.locator('[data-testid="chats-start-ok"]').click();
    await anna.locator('[data-testid="chats-start-answer"][data-code="yes"]').waitFor({ timeout: 10_000 });
    await waitFor(() => checker.sent.includes('Здравствуйте!'), 'first message sent by the account');
    await anna.locator('[data-testid="chats-window"][data-status="in_work"][data-responsible="1001"]').waitFor({ timeout: 10_000 });
  });
});
