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

const SECRET = 'webhook-secret-panel-0123456789';
const SHOTS = join(__dirname, '..', 'docs', 'screenshots');
const json = (body: unknown, method = 'POST') => ({ method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('panel chats in Chromium', () => {
  let stack: Stack;
  let fake: FakeBotApi;
  let filesDir: string;
  let browser: Browser;
  let anna: Page;
  let petr: Page;

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
      start: { chatOutbox: { baseDelayMs: 50, maxDelayMs: 200, limits: { perSecond: 1000, perPeerIntervalMs: 0 } } },
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
    let chatId = '';
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
});
