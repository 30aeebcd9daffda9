/**
 * The web panel in a real headless Chromium (Debian's `chromium` driven by playwright-core) against the
 * real server, which serves the built panel (panel/dist, built by `npm test` before jest), and the
 * FreeSWITCH simulator: what an operator does, click by click. Takes the screenshots the README shows
 * (docs/screenshots/), so they are always the current panel.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { api, playAndSettle, Stack, startStack, waitFor } from './helpers';
import { parseWav } from '../src/transcription/audio';
import { launchChromium, screenshot, signedIn } from './panel-browser';

const PANEL_DIST = join(__dirname, '..', 'panel', 'dist', 'index.html');
const SHOTS = join(__dirname, '..', 'docs', 'screenshots');
const WAV = join(__dirname, '..', 'fixtures', 'freeswitch', '07_stereo.wav');
const LOGIN = { login: 'ivanova', password: 'пароль-оператора-1' };
const SUPERVISOR = { login: 'olga', password: 'пароль-старшей-5' };

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await screenshot(page, join(SHOTS, `${name}.png`));
}

/** What sticks out of a narrow window: the page's scroll width and every visible element whose right edge is past the viewport. */
async function overflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number; out: string[] }> {
  return page.evaluate(() => {
    const g = globalThis as any;
    const w = g.innerWidth as number;
    const out = [...g.document.querySelectorAll('body *')]
      .filter((el: any) => g.getComputedStyle(el).visibility !== 'hidden')
      .map((el: any) => ({ el, r: el.getBoundingClientRect() }))
      .filter((x: any) => x.r.width > 0 && x.r.height > 0 && x.r.right > w + 1)
      .map((x: any) => `${x.el.tagName.toLowerCase()}.${String(x.el.className?.baseVal ?? x.el.className).split(' ').slice(0, 2).join('.')} «${String(x.el.innerText ?? '').slice(0, 30)}» ${Math.round(x.r.left)}..${Math.round(x.r.right)}`);
    return { scrollWidth: g.document.scrollingElement.scrollWidth as number, innerWidth: w, out: out.slice(0, 12) };
  });
}

/**
 * Whisper over the OpenAI API: the captured call's two sides told apart by their audio. `hold()` keeps its
 * answers back until the function it returns is called (a transcript still pending while a page is open).
 */
async function fakeWhisper(): Promise<{ url: string; close: () => Promise<void>; hold: () => () => void }> {
  let gate: Promise<void> = Promise.resolve();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      await gate;
      const form = await new Request('http://fake/', { method: 'POST', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) }).formData();
      const pcm = parseWav(Buffer.from(await (form.get('file') as Blob).arrayBuffer()));
      const ch = pcm.channels[0];
      let left = false;
      for (let i = Math.floor(0.55 * pcm.sampleRate); i < Math.min(ch.length, 0.95 * pcm.sampleRate); i++) if (Math.abs(ch[i]) > 0.01) left = true;
      const segments = left
        ? [{ start: 0.1, end: 0.9, text: ' Алло, компания «Ромашка», слушаю.' }, { start: 2.0, end: 2.9, text: ' Да, конечно, сегодня выставим.' }]
        : [{ start: 1.0, end: 1.9, text: ' Добрый день, нужен счёт на доставку.' }];
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ text: '', segments }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
    hold: () => {
      let release = () => undefined as void;
      gate = new Promise<void>((r) => (release = r));
      return release;
    },
  };
}

/** An OpenAI-compatible chat endpoint answering with a structured summary. */
async function fakeLlm(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const summary = {
        summary: 'Клиент попросил счёт на доставку; сотрудник пообещал выставить его сегодня.', keyPoints: ['Нужен счёт на доставку'],
        customerWants: 'Счёт на доставку', agreements: ['Счёт сегодня'], nextActions: [{ who: 'Мария Иванова', what: 'Выставить счёт', due: 'сегодня' }], sentiment: 'positive',
      };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'local', choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify(summary) }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

describe('web panel in Chromium (sqlite)', () => {
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let dir: string;
  let whisper: Awaited<ReturnType<typeof fakeWhisper>>;
  let llm: Awaited<ReturnType<typeof fakeLlm>>;
  let origin: string;
  let recordedCall: string;

  beforeAll(async () => {
    if (!existsSync(PANEL_DIST)) throw new Error('panel/dist is not built: run `npm run build:panel` (npm test does it first)');
    browser = await launchChromium();
    whisper = await fakeWhisper();
    llm = await fakeLlm();
    dir = mkdtempSync(join(tmpdir(), 'telefonist-panel-'));
    copyFileSync(WAV, join(dir, '07_stereo.wav'));
    stack = await startStack('sqlite', {
      env: {
        TELEFONIST_RECORDINGS_DIR: dir,
        TELEFONIST_RECORDINGS_FS_DIR: '/var/lib/freeswitch/recordings',
        TRANSCRIPTION_ENGINE: 'openai',
        TRANSCRIPTION_URL: whisper.url,
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: llm.url,
        LLM_MODEL: 'local',
      },
      start: { transcription: { baseDelayMs: 50, scanEveryMs: 100, maxAttempts: 3 } },
    });
    origin = stack.base.replace(/\/api\/v1$/, '');
    const put = (path: string, body: unknown) => api(stack, path, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await put('/employees/1000', { name: 'Мария Иванова', ...LOGIN })).status).toBe(201);
    expect((await put('/employees/1001', { name: 'Пётр Сидоров' })).status).toBe(201);
    expect((await put('/employees/1005', { name: 'Ольга Старшая', rights: ['supervisor'], ...SUPERVISOR })).status).toBe(201);
    // A known customer's call and an unknown caller's recorded call (the captured stereo recording).
    await api(stack, '/directory/sync', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ customers: [{ id: 'c-romashka', name: 'ООО «Ромашка»', phones: ['+7 495 123-45-67'] }] }),
    });
    await playAndSettle(stack, '02_inbound_call_bridge', { rewrite: true, outside: { extension: '1001', number: '+74951234567' } });
    await playAndSettle(stack, '07_stereo_recording', { rewrite: true, outside: { extension: '1001', number: '+79161234567' } });
    const list = await api(stack, '/calls?hasRecording=true');
    recordedCall = list.body.items[0].id;
    await waitFor(async () => (await api(stack, `/calls/${recordedCall}/summary`)).body.status === 'done', 'transcript and summary of the recorded call', 20_000);
    context = await browser.newContext({ viewport: { width: 1280, height: 720 }, locale: 'ru-RU', timezoneId: 'Europe/Moscow' });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
  }, 60_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await stack?.stop();
    await whisper?.close();
    await llm?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the server serves the panel at / and on its own routes; a wrong password is refused; the operator signs in', async () => {
    const deep = await fetch(`${origin}/calls/whatever?x=1`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('<div id="root">');
    await page.goto(`${origin}/`);
    await page.getByTestId('signin-login').fill(LOGIN.login);
    await page.getByTestId('signin-password').fill('не тот пароль');
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('signin-error').waitFor();
    expect(await page.getByTestId('signin-error').innerText()).toContain('Неверный логин или пароль');
    await page.getByTestId('signin-password').fill(LOGIN.password);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('journal').waitFor();
    expect(await page.getByTestId('user-menu').innerText()).toContain('Мария Иванова');
    // Russian by default; the journal lists the operator's calls with the customer's name.
    expect(await page.locator('h4').first().innerText()).toBe('Журнал звонков');
    await page.getByTestId('call-customer').filter({ hasText: 'ООО «Ромашка»' }).first().waitFor();
    // A reload keeps the session (HttpOnly cookie: the page's scripts never see it).
    expect(await page.evaluate(() => (globalThis as any).document.cookie)).toBe('');
    await page.reload();
    await page.getByTestId('journal').waitFor();
  });

  test('the journal filters by a number typed in another format, and the filter lives in the URL', async () => {
    await page.goto(`${origin}/`);
    const rows = page.locator('tr[data-call-id]');
    await waitFor(async () => (await rows.count()) === 2, 'both calls listed');
    await page.getByTestId('filter-number').fill('8 (916) 123-45-67');
    await page.getByTestId('filter-number').press('Enter');
    await waitFor(async () => (await rows.count()) === 1, 'one call left');
    expect(await rows.first().getAttribute('data-call-id')).toBe(recordedCall);
    expect(new URL(page.url()).searchParams.get('number')).toBe('8 (916) 123-45-67');
    await shot(page, 'journal');
    // The same URL opened afresh shows the same filtered list.
    await page.goto(page.url());
    await waitFor(async () => (await rows.count()) === 1 && (await page.getByTestId('filter-number').inputValue()) === '8 (916) 123-45-67', 'filter from the URL');
    // Another way of writing it finds the other call.
    await page.getByTestId('filter-number').fill('495 123 45 67');
    await page.getByTestId('filter-number').press('Enter');
    await waitFor(async () => (await rows.count()) === 1 && (await rows.first().getAttribute('data-call-id')) !== recordedCall, 'the other call');
    // Narrow, docked beside 1C.
    await page.setViewportSize({ width: 420, height: 720 });
    await page.goto(`${origin}/`);
    await waitFor(async () => (await rows.count()) === 2, 'both calls, narrow');
    const overflow = await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth - (globalThis as any).innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, 'journal-narrow');
    await page.setViewportSize({ width: 1280, height: 720 });
  });

  test('the journal picks a customer by part of the name and an employee by name; the URL keeps their ids', async () => {
    await page.goto(`${origin}/`);
    const rows = page.locator('tr[data-call-id]');
    await waitFor(async () => (await rows.count()) === 2, 'both calls listed');
    // The customer: typed as people remember it, picked from what GET /directory/search found.
    await page.getByTestId('filter-customer').click();
    await page.keyboard.type('ромаш');
    await page.locator('.ant-select-item-option').filter({ hasText: 'ООО «Ромашка»' }).click();
    await waitFor(async () => (await rows.count()) === 1, 'the customer\'s one call');
    expect(await rows.first().getAttribute('data-call-id')).not.toBe(recordedCall);
    expect(await rows.first().getByTestId('call-customer').innerText()).toBe('ООО «Ромашка»');
    expect(new URL(page.url()).searchParams.get('customer')).toBe('c-romashka');
    // A reload shows the same list, the filter naming the customer (not the id).
    await page.reload();
    await waitFor(async () => (await rows.count()) === 1 && (await page.getByTestId('filter-customer').innerText()).includes('ООО «Ромашка»'), 'the customer filter from the URL');
    // The employee: a list from GET /employees, by name; the URL holds the extension.
    await page.goto(`${origin}/`);
    await waitFor(async () => (await rows.count()) === 2, 'both calls again');
    await page.getByTestId('filter-employee').click();
    await page.keyboard.type('иванов');
    await page.locator('.ant-select-item-option').filter({ hasText: 'Мария Иванова (1000)' }).click();
    await waitFor(async () => new URL(page.url()).searchParams.get('employee') === '1000', 'employee in the URL');
    const mine = (await api(stack, '/calls?employee=1000&limit=50')).body.items.length;
    expect(mine).toBeGreaterThan(0);
    await waitFor(async () => (await rows.count()) === mine, 'her calls');
    expect(await page.getByTestId('filter-employee').innerText()).toContain('Мария Иванова (1000)');
    // A colleague's calls are the API's to refuse to an operator: the 403 is shown as such.
    await page.getByTestId('filter-employee').click();
    await page.keyboard.type('сидор');
    await page.locator('.ant-select-item-option').filter({ hasText: 'Пётр Сидоров (1001)' }).click();
    await page.getByTestId('journal-error').waitFor();
    expect(await page.getByTestId('journal-error').innerText()).toContain('Нет доступа (403)');
    expect(new URL(page.url()).searchParams.get('employee')).toBe('1001');
  });

  test('the call detail plays the recording; seeking reads it by Range requests; the transcript follows the playhead', async () => {
    const ranges: Array<{ range: string | undefined; status: number; contentRange: string | null }> = [];
    const onResponse = async (r: Response) => {
      if (!r.url().includes(`/calls/${recordedCall}/recordings/0`)) return;
      const headers = await r.request().allHeaders();
      ranges.push({ range: headers.range, status: r.status(), contentRange: r.headers()['content-range'] ?? null });
    };
    page.on('response', onResponse);
    try {
      await page.goto(`${origin}/?number=${encodeURIComponent('+79161234567')}`);
      await page.locator(`tr[data-call-id="${recordedCall}"] [data-testid="call-link"]`).click();
      await page.getByTestId('call-detail').waitFor();
      expect(new URL(page.url()).pathname).toBe(`/calls/${recordedCall}`);
      const params = await page.getByTestId('call-parameters').innerText();
      expect(params).toContain('+7 916 123-45-67');
      expect(params).toContain('нормальное завершение');
      expect(params).not.toContain('NORMAL_CLEARING');
      await page.getByTestId('summary').waitFor();
      expect(await page.getByTestId('summary').innerText()).toContain('Клиент попросил счёт на доставку');
      await page.getByTestId('transcript').waitFor();
      expect(await page.getByTestId('transcript').innerText()).toContain('Добрый день, нужен счёт на доставку.');
      const audio = page.getByTestId('audio');
      await audio.waitFor({ state: 'attached' });
      expect(await audio.getAttribute('src')).toBe(`/api/v1/calls/${recordedCall}/recordings/0`);
      expect(await page.getByTestId('download').getAttribute('href')).toBe(`/api/v1/calls/${recordedCall}/recordings/0`);
      await waitFor(() => audio.evaluate((a: any) => a.readyState >= 1 && a.duration > 2.9), 'the recording\'s metadata');
      // Seek to 1.5 s: the player lands there and the segment spoken then is highlighted.
      await audio.evaluate((a: any) => new Promise<void>((resolve) => {
        a.muted = true;
        a.addEventListener('seeked', () => resolve(), { once: true });
        a.currentTime = 1.5;
      }));
      expect(await audio.evaluate((a: any) => a.currentTime)).toBeCloseTo(1.5, 1);
      await page.locator('.tf-segment.tf-current').waitFor();
      expect(await page.locator('.tf-segment.tf-current').innerText()).toContain('Добрый день, нужен счёт на доставку.');
      await shot(page, 'call-detail');
      // Clicking a segment seeks the player to it.
      await page.locator('.tf-segment', { hasText: 'Да, конечно' }).click();
      await waitFor(async () => (await audio.evaluate((a: any) => a.currentTime)) >= 2.0, 'seek by the transcript');
      // The server answered the player's byte ranges (206 with Content-Range), not one whole download.
      await waitFor(() => ranges.some((r) => r.range?.startsWith('bytes=') && r.status === 206), 'a Range request from the player');
      for (const r of ranges.filter((x) => x.range)) {
        expect(r.status).toBe(206);
        expect(r.contentRange).toMatch(/^bytes \d+-\d+\/96044$/);
      }
    } finally {
      page.off('response', onResponse);
    }
  });

  test('a recording the user may not hear: the call detail shows the 403 state ("Вам нельзя слушать эту запись"), no player', async () => {
    // A shift supervisor opens a call she was not on; her supervisor right is taken while the page asks
    // whether she may hear the recording (the request held in the browser until then): the server says 403.
    const put = (body: unknown) => api(stack, '/employees/1006', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await put({ name: 'Нина Сменная', rights: ['supervisor'], login: 'nina', password: 'пароль-нины-7' })).status).toBe(201);
    const { context: ctx, page: nina } = await signedIn(browser, origin, 'nina', 'пароль-нины-7');
    try {
      let held: (() => Promise<void>) | null = null;
      await nina.route(`**/api/v1/calls/${recordedCall}/recordings/0`, (route) => {
        held = () => route.continue();
      });
      const answers: number[] = [];
      nina.on('response', (r) => r.url().includes(`/calls/${recordedCall}/recordings/0`) && answers.push(r.status()));
      await nina.goto(`${origin}/calls/${recordedCall}`);
      await nina.getByTestId('recordings').waitFor();
      await waitFor(async () => held !== null, 'the player asks for the recording');
      expect((await put({ name: 'Нина Сменная', rights: [] })).status).toBe(200);
      await held!();
      const forbidden = nina.getByTestId('recording-forbidden');
      await forbidden.waitFor();
      expect(await forbidden.innerText()).toContain('403 · Вам нельзя слушать эту запись');
      expect(answers).toEqual([403]);
      expect(await nina.locator('audio').count()).toBe(0);
      expect(await nina.getByTestId('download').count()).toBe(0);
      // The rest of the detail stays as it was read.
      expect(await nina.getByTestId('call-detail').count()).toBe(1);
    } finally {
      await ctx.close();
    }
  });

  test('an unknown caller → create customer from the call → the journal shows the call linked', async () => {
    await page.goto(`${origin}/calls/${recordedCall}`);
    await page.getByTestId('create-customer').click();
    await page.getByTestId('create-customer-name').fill('ИП Соколов');
    await page.getByTestId('create-customer-save').click();
    await page.getByTestId('detail-customer').waitFor();
    expect(await page.getByTestId('detail-customer').innerText()).toBe('ИП Соколов');
    const call = await api(stack, `/calls/${recordedCall}`);
    expect(call.body).toMatchObject({ identification: 'customer', customer: { name: 'ИП Соколов' } });
    await page.getByTestId('nav').getByText('Журнал звонков').click();
    const row = page.locator(`tr[data-call-id="${recordedCall}"]`);
    await row.waitFor();
    expect(await row.getByTestId('call-customer').innerText()).toBe('ИП Соколов');
  });

  test('the dialer (key d) takes a pasted 8 (916) 123-45-67 and the simulator receives the originate for +79161234567', async () => {
    await page.goto(`${origin}/`);
    await page.getByTestId('journal').waitFor();
    const before = stack.sim.commands.length;
    await page.locator('body').press('d');
    const input = page.getByTestId('dial-number');
    await input.waitFor();
    // Pasted as people copy it: the number on the system clipboard, Ctrl+V into the focused field.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    await page.evaluate((text) => (globalThis as any).navigator.clipboard.writeText(text), '8 (916) 123-45-67');
    await input.focus();
    await page.keyboard.press('Control+V');
    expect(await input.inputValue()).toBe('8 (916) 123-45-67');
    expect(await page.getByTestId('dial-employee').inputValue()).toBe('1000');
    await page.getByTestId('dial-submit').click();
    await page.getByTestId('dial-result').waitFor();
    expect(await page.getByTestId('dial-result').innerText()).toContain('+79161234567');
    await waitFor(() => stack.sim.commands.slice(before).some((c) => c.startsWith('bgapi originate') && /\}user\/1000 \+79161234567 XML /.test(c)), 'the originate');
    const cmd = stack.sim.commands.slice(before).find((c) => c.startsWith('bgapi originate'))!;
    // The customer created above names the number; the call is marked as dialled from the panel.
    expect(cmd).toMatch(/origination_caller_id_name='ИП Соколов',telefonist_click_to_call=true,telefonist_dial=\+79161234567,telefonist_origin_kind=panel\}user\/1000 \+79161234567 XML default$/);
  });

  test('a supervisor sees every call; an attended transfer\'s detail draws the route hop by hop', async () => {
    await playAndSettle(stack, '05_attended_transfer', { rewrite: true });
    const all = (await api(stack, '/calls?limit=10')).body.items as Array<{ id: string }>;
    let transferred: any = null;
    for (const c of all) {
      const d = (await api(stack, `/calls/${c.id}`)).body;
      if (d.transferRoute?.length) transferred = d;
    }
    expect(transferred).not.toBeNull();
    const { context: ctx, page: sup } = await signedIn(browser, origin, SUPERVISOR.login, SUPERVISOR.password);
    try {
      await sup.goto(`${origin}/calls/${transferred.id}`);
      const route = sup.getByTestId('transfer-route');
      await route.waitFor();
      const text = await route.innerText();
      const to = transferred.transferRoute[transferred.transferRoute.length - 1].to;
      expect(text).toContain('с консультацией');
      expect(text).toContain(to.employee ?? to.number);
      // The operator (1000) took part in this call (she is in the capture): she opens it and sees the same
      // route. A call she was not on is refused (403 shown as such): the "my calls" test below.
      expect(transferred.employees).toContain('1000');
      const op = await page.goto(`${origin}/calls/${transferred.id}`);
      expect(op?.status()).toBe(200);
      await page.getByTestId('transfer-route').waitFor();
      expect(await page.getByTestId('transfer-route').innerText()).toBe(text);
    } finally {
      await ctx.close();
    }
  });

  test('my calls: call-back opens the dialer with the number; a call the operator was not on is refused by the API and shown so', async () => {
    await page.goto(`${origin}/history`);
    await page.getByTestId('history').waitFor();
    await page.getByTestId('call-back').first().click();
    await page.getByTestId('dial-number').waitFor();
    expect(['+79161234567', '+74951234567']).toContain(await page.getByTestId('dial-number').inputValue());
    await page.keyboard.press('Escape');
    // A customer's call to 1001 only: the operator (1000) does not see it.
    await playAndSettle(stack, '02_inbound_call_bridge', { rewrite: true, outside: { extension: '1000', number: '+74957654321' } });
    const other = (await api(stack, '/calls?number=74957654321')).body.items[0];
    expect(other.employees).toEqual(['1001']);
    await page.goto(`${origin}/calls/${other.id}`);
    await page.getByText(/^40[34]$/).first().waitFor();
    expect(await page.getByTestId('call-detail').count()).toBe(0);
  });

  test('English is the second language; `/` focuses the search', async () => {
    await page.goto(`${origin}/`);
    await page.getByTestId('journal').waitFor();
    await page.getByTestId('lang').getByText('EN').click();
    await waitFor(async () => (await page.locator('h4').first().innerText()) === 'Call journal', 'English');
    await page.getByTestId('lang').getByText('RU').click();
    await waitFor(async () => (await page.locator('h4').first().innerText()) === 'Журнал звонков', 'Russian again');
    await page.locator('body').press('/');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.closest('[data-testid="header-search"]') != null)).toBe(true);
    await page.keyboard.type('Ромашка');
    await page.keyboard.press('Enter');
    await page.getByTestId('search').waitFor();
    await page.getByText('ООО «Ромашка»').first().waitFor();
  });

  test('smart search: part of a Cyrillic name in lower case finds the customer; its call button dials the number', async () => {
    await page.goto(`${origin}/search?q=${encodeURIComponent('омаш')}`);
    await page.getByTestId('search').waitFor();
    const call = page.getByTestId('search-call').filter({ hasText: '495' });
    await call.first().waitFor();
    await page.getByText('ООО «Ромашка»').first().waitFor();
    const before = stack.sim.commands.length;
    await call.first().click();
    await page.getByTestId('dial-number').waitFor();
    expect(await page.getByTestId('dial-number').inputValue()).toBe('+74951234567');
    await page.getByTestId('dial-submit').click();
    await page.getByTestId('dial-result').waitFor();
    await waitFor(() => stack.sim.commands.slice(before).some((c) => c.startsWith('bgapi originate') && /\}user\/1000 \+74951234567 XML /.test(c)), 'the originate');
    await page.keyboard.press('Escape');
  });

  test('a supervised internal call (capture 06, four employees): the parameters fit the card at 1280 and at 420 px, in words, with the employees\' names', async () => {
    // Named as in the demo: four employees' tags with long names in one call.
    const put = (ext: string, name: string) => api(stack, `/employees/${ext}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name }) });
    for (const [ext, name] of [['1002', 'Екатерина Длинноименная'], ['1003', 'Пётр Контролёр']]) expect([200, 201]).toContain((await put(ext, name)).status);
    await playAndSettle(stack, '06_eavesdrop', { rewrite: true });
    const recent = (await api(stack, '/calls?limit=20')).body.items as Array<{ id: string }>;
    let call: any = null;
    for (const c of recent) {
      const d = (await api(stack, `/calls/${c.id}`)).body;
      if ((d.employeeDetails?.length ?? 0) >= 4) call = d;
    }
    expect(call).not.toBeNull();
    const { context: ctx, page: sup } = await signedIn(browser, origin, SUPERVISOR.login, SUPERVISOR.password);
    try {
      for (const width of [1280, 420]) {
        await sup.setViewportSize({ width, height: 720 });
        await sup.goto(`${origin}/calls/${call.id}`);
        await sup.getByTestId('call-parameters').waitFor();
        await sup.getByTestId('timeline').waitFor();
        const m = await sup.getByTestId('call-parameters-card').evaluate((card: any) => {
          const box = card.getBoundingClientRect();
          const tall = [...card.querySelectorAll('.tf-params:not(.tf-params-wide) .ant-descriptions-item-content')]
            .map((el: any) => ({ text: el.innerText as string, h: el.getBoundingClientRect().height, line: parseFloat((globalThis as any).getComputedStyle(el).lineHeight) || 22 }))
            .filter((x) => x.h > 2.4 * x.line);
          const out = [...card.querySelectorAll('*')]
            .map((el: any) => ({ el, r: el.getBoundingClientRect() }))
            .filter((x) => x.r.width > 0 && (x.r.right > box.right + 1 || x.r.left < box.left - 1))
            .map((x) => `${x.el.className}: ${(x.el.innerText ?? '').slice(0, 40)} ${Math.round(x.r.left)}..${Math.round(x.r.right)} / ${Math.round(box.left)}..${Math.round(box.right)}`);
          return { tall, out, overflow: card.scrollWidth - card.clientWidth };
        });
        expect({ width, tall: m.tall, out: m.out }).toEqual({ width, tall: [], out: [] });
        expect(m.overflow).toBeLessThanOrEqual(0);
        await shot(sup, width === 1280 ? 'call-detail-supervised' : 'call-detail-supervised-narrow');
      }
      await sup.setViewportSize({ width: 1280, height: 720 });
      const params = await sup.getByTestId('call-parameters').innerText();
      const timeline = await sup.getByTestId('timeline').innerText();
      const all = `${params}\n${timeline}\n${await sup.getByTestId('call-detail').innerText()}`;
      // Codes in words (the raw code in a tooltip): the hangup cause, the supervision modes.
      expect(all).not.toMatch(/NORMAL_CLEARING|\b(listen|whisper|barge|whisper_other)\b/);
      if (call.hangupCause === 'NORMAL_CLEARING') expect(await sup.getByTestId('detail-cause').innerText()).toBe('нормальное завершение');
      expect(timeline).toMatch(/прослушивание|суфлирование|вмешательство/);
      // Employees by the names the panel knows, not FreeSWITCH's caller-id name.
      for (const e of call.employeeDetails.filter((x: any) => x.name)) expect(all).toContain(e.name);
      for (const l of call.legs.filter((x: any) => x.employee && x.name)) {
        const known = call.employeeDetails.find((e: any) => e.extension === l.employee)?.name;
        if (known && known !== l.name) expect(all).not.toContain(l.name);
      }
      // A callee who did not answer was not «принял».
      for (const tag of await sup.getByTestId('detail-employee').allInnerTexts()) expect(tag).not.toMatch(/принял · не ответил/);
    } finally {
      await ctx.close();
    }
  });

  test('a bad filter in the address: an impossible date and an unknown status are dropped with a note; a 4xx is the user\'s error, in Russian', async () => {
    await page.goto(`${origin}/?from=2026-02-30&status=garbage`);
    const note = page.getByTestId('journal-dropped');
    await note.waitFor();
    const text = await note.innerText();
    expect(text).toContain('«С»: даты 2026-02-30 нет');
    expect(text).toContain('«Статус»: неизвестное значение «garbage»');
    expect(await page.getByTestId('journal-error').count()).toBe(0);
    // Neither rolled over into the date picker nor shown as a status tag.
    expect(await page.getByTestId('journal-filters').locator('input[value*="03.2026"]').count()).toBe(0);
    expect(await page.getByTestId('filter-status').innerText()).not.toContain('garbage');
    await page.locator('tr[data-call-id]').first().waitFor();
    // A filter the server refuses (400, its field named) is the user's mistake, not «Ошибка сервера».
    await page.route('**/api/v1/calls?*', (route) => route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ error: { code: 'bad_query', message: 'to must be an existing ISO 8601 date', field: 'to' } }) }));
    try {
      await page.goto(`${origin}/?to=2026-03-01`);
      const err = page.getByTestId('journal-error');
      await err.waitFor();
      const said = await err.innerText();
      expect(said).toContain('Неверный фильтр «По»: такой даты нет');
      expect(said).not.toContain('Ошибка сервера');
      expect(await page.getByTestId('journal-error-detail').innerText()).toContain('to must be an existing ISO 8601 date');
    } finally {
      await page.unroute('**/api/v1/calls?*');
    }
  });

  test('the journal formats national numbers (8 916 …) as it does +7 ones', async () => {
    await playAndSettle(stack, '02_inbound_call_bridge', { rewrite: true, outside: { extension: '1001', number: '89165554433' } });
    await page.goto(`${origin}/?number=${encodeURIComponent('89165554433')}`);
    await page.locator('tr[data-call-id] [data-testid="call-number"]').first().waitFor();
    expect(await page.locator('tr[data-call-id] [data-testid="call-number"]').first().innerText()).toBe('+7 916 555-44-33');
  });

  test('the open call detail shows the transcript and the summary when they finish, without a reload', async () => {
    const release = whisper.hold();
    try {
      await playAndSettle(stack, '07_stereo_recording', { rewrite: true, outside: { extension: '1001', number: '+79165550011' } });
      const id = (await api(stack, `/calls?number=${encodeURIComponent('+79165550011')}`)).body.items[0].id as string;
      await page.goto(`${origin}/calls/${id}`);
      await page.getByTestId('call-detail').waitFor();
      // Whisper has not answered: the cards say the work is pending.
      await page.getByTestId('transcript-status').waitFor();
      expect(['none', 'queued', 'running']).toContain(await page.getByTestId('transcript-status').getAttribute('data-status'));
      await page.getByTestId('summary-status').waitFor();
      expect(await page.getByTestId('transcript').count()).toBe(0);
      await page.evaluate(() => ((globalThis as any).__notReloaded = true));
      release();
      await page.getByTestId('transcript').waitFor({ timeout: 20_000 });
      expect(await page.getByTestId('transcript').innerText()).toContain('Добрый день, нужен счёт на доставку.');
      await page.getByTestId('summary').waitFor({ timeout: 20_000 });
      expect(await page.getByTestId('summary').innerText()).toContain('Клиент попросил счёт на доставку');
      expect(await page.evaluate(() => (globalThis as any).__notReloaded)).toBe(true);
    } finally {
      release();
    }
  });

  test('search: a customer\'s history lists calls and chats together (the banner\'s list); at 420 px the search and employees pages fit the window', async () => {
    // GET /chats answered for this customer (this stack has no messenger): the page shows what the API gives.
    const chat = { id: 'chat-search-1', customerId: 'c-romashka', messenger: 'telegram', status: 'in_work', responsible: 'Мария Иванова', peerName: 'Анна Заказчикова', createdAt: new Date().toISOString(), lastMessageAt: new Date(Date.now() + 60_000).toISOString() };
    await page.route('**/api/v1/chats?*', (route) =>
      new URL(route.request().url()).searchParams.get('customerId') === 'c-romashka'
        ? route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ items: [chat], nextCursor: null }) })
        : route.continue());
    try {
      for (const width of [1280, 420]) {
        await page.setViewportSize({ width, height: 720 });
        await page.goto(`${origin}/search?q=${encodeURIComponent('Ромашка')}`);
        await page.getByTestId('search-history-open').first().click();
        const history = page.getByTestId('search-history');
        await history.locator('[data-testid="live-history-chat"][data-chat-id="chat-search-1"]').waitFor();
        await history.locator('[data-testid="live-history-call"]').first().waitFor();
        // One list, newest first: the chat (a minute from now) above the calls.
        const rows = await history.locator('[data-testid="live-history-chat"], [data-testid="live-history-call"]').evaluateAll((els) => els.map((e: any) => e.getAttribute('data-testid')));
        expect(rows[0]).toBe('live-history-chat');
        expect(rows.filter((r) => r === 'live-history-call').length).toBeGreaterThan(0);
        // The hit's name is there beside its open history, not squeezed out by it.
        const title = await page.getByTestId('search-hit-title').first().boundingBox();
        expect(title!.width).toBeGreaterThan(50);
        expect(await page.getByTestId('search-hit-title').first().innerText()).toBe('ООО «Ромашка»');
        if (width === 420) {
          const m = await overflow(page);
          expect(m.out).toEqual([]);
          expect(m.scrollWidth).toBeLessThanOrEqual(m.innerWidth + 1);
          await shot(page, 'search-narrow');
        }
      }
      await page.goto(`${origin}/employees`);
      await page.locator('[data-testid="live-employees"] tr[data-ext="1001"]').waitFor();
      const m = await overflow(page);
      expect(m.out).toEqual([]);
      expect(m.scrollWidth).toBeLessThanOrEqual(m.innerWidth + 1);
      await shot(page, 'employees-narrow');
    } finally {
      await page.unroute('**/api/v1/chats?*');
      await page.setViewportSize({ width: 1280, height: 720 });
    }
  });

  test('a malformed call id in the address: the call page says so in Russian (and in English), the server\'s words in small print', async () => {
    // The server's own 400 (not a UUID), not a mocked one.
    await page.goto(`${origin}/calls/bad%20id`);
    const err = page.getByTestId('call-error');
    await err.waitFor();
    expect(await err.innerText()).toBe('В адресе неверный идентификатор звонка');
    expect(await err.getAttribute('data-kind')).toBe('user');
    expect(await page.getByTestId('call-error-detail').innerText()).toBe('Ответ сервера: id must be a FreeSWITCH UUID');
    await page.getByTestId('lang').getByText('EN').click();
    await waitFor(async () => (await err.innerText()) === 'The call id in the address is not valid', 'English');
    await page.getByTestId('lang').getByText('RU').click();
    await waitFor(async () => (await err.innerText()) === 'В адресе неверный идентификатор звонка', 'Russian again');
  });
});
