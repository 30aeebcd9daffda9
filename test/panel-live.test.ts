/**
 * The panel's live screens in a real headless Chromium against the real server and the FreeSWITCH
 * simulator (issue 12): the incoming call banner with the customer's name, the card on answer; a
 * consultative transfer from the employee list, and its route in the journal; listen → whisper → barge for
 * a supervisor, none of it for an operator; the stream surviving a lost network and a server restart,
 * with the calls it missed. Screenshots go to docs/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { api, settle, Stack, startStack, waitFor } from './helpers';
import { buildPanel, launchChromium, Proxy, screenshot, signedIn, startProxy } from './panel-browser';
import type { InboundSink, MessengerAdapter, ReachabilityResult } from '../src/messengers/adapter';
import { CAPTURE, liveCall, RINGING, TALKING } from './live-call';

/** A messenger account that reaches any phone (the customer card's chats come from it). */
class ReachingAdapter implements MessengerAdapter {
  readonly kind = 'fake';
  readonly accountId = 'fake';
  readonly limits = { perSecond: 1000, perPeerIntervalMs: 0 };
  async start(_sink: InboundSink) {}
  async stop() {}
  async send() {
    return { externalId: `x${Date.now()}` };
  }
  async download(): Promise<never> {
    throw new Error('no files');
  }
  async checkPhone(phone: string): Promise<ReachabilityResult> {
    return { reachable: 'yes', peerId: `peer-${phone}`, canWriteFirst: true };
  }
}

const SHOTS = join(__dirname, '..', 'docs', 'screenshots');
const CUSTOMER = 'ООО «Ромашка»';
const json = (body: unknown, method = 'POST') => ({ method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('panel live screens in Chromium', () => {
  let stack: Stack;
  let proxy: Proxy;
  let browser: Browser;
  let operator: Page;
  let supervisor: Page;
  let colleague: Page;
  let chatId = '';

  const liveCallTalking = () => liveCall(stack, TALKING);

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const dir = buildPanel();
    stack = await startStack('sqlite', { env: { TELEFONIST_PANEL_DIR: dir }, start: { chatOutbox: { baseDelayMs: 50, maxDelayMs: 200, limits: { perSecond: 1000, perPeerIntervalMs: 0 } }, messengers: () => [new ReachingAdapter()] } });
    proxy = await startProxy(stack.app.port);
    for (const ext of ['1001', '1002']) stack.sim.actions.phone(ext, 'auto');
    for (const ext of ['1003', '1009']) stack.sim.actions.phone(ext, 'manual');
    expect((await api(stack, '/directory/sync', json({ customers: [{ id: 'c-romashka', name: CUSTOMER, phones: ['+79161234567'] }] }))).status).toBe(200);
    const people: Array<[string, Record<string, unknown>]> = [
      ['1001', { name: 'Иванова Анна', login: 'anna', password: 'anna-secret-1', rights: [] }],
      ['1002', { name: 'Петров Пётр', login: 'petr', password: 'petr-secret-1', rights: [] }],
      ['1003', { name: 'Сидоров Олег', rights: [] }],
      ['1009', { name: 'Старший смены', login: 'boss', password: 'boss-secret-1', rights: ['supervisor'] }],
    ];
    for (const [ext, body] of people) expect((await api(stack, `/employees/${ext}`, json(body, 'PUT'))).status).toBeLessThan(300);
    // Anna has written to the customer in a messenger: the card's history shows that chat beside the calls.
    const chat = await api(stack, '/chats/start', json({ employee: '1001', accountId: 'fake', phone: '+79161234567', customerId: 'c-romashka', text: 'Счёт отправили, проверьте почту' }));
    expect(chat.status).toBe(201);
    chatId = chat.body.chat.id;
    browser = await launchChromium();
    operator = (await signedIn(browser, proxy.url, 'anna', 'anna-secret-1')).page;
    await operator.goto('/employees');
    await operator.locator('[data-testid="live-link"][data-status="online"]').waitFor({ timeout: 15_000 });
    await operator.locator('tr[data-row-key="1003"]').waitFor({ timeout: 15_000 }); // the list is in (the banner's screenshot shows it)
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await proxy?.close().catch(() => undefined);
    await stack?.stop();
  });

  test('a replayed inbound call from a known customer pops the banner with the name; answering opens the card', async () => {
    // Half speed: the phone rings ~3 s before 1001 answers.
    const played = stack.sim.play(CAPTURE, { rewrite: true, limit: TALKING, speed: 0.5 });
    const banner = operator.locator('[data-testid="live-banner"]');
    await banner.waitFor({ timeout: 10_000 });
    expect(await banner.locator('[data-testid="live-banner-name"]').innerText()).toContain(CUSTOMER);
    expect(await banner.innerText()).toMatch(/Входящий звонок/);
    // Its last interactions: the chat Anna had with the customer (no earlier calls yet).
    await banner.locator(`[data-testid="live-history-chat"][data-chat-id="${chatId}"]`).waitFor({ timeout: 5_000 });
    await operator.waitForTimeout(400); // the history list's loading veil fades
    await screenshot(operator, join(SHOTS, 'banner.png'));
    await played;
    await settle(stack);
    const card = operator.locator('[data-testid="live-card-name"]');
    await card.waitFor({ timeout: 10_000 });
    expect(await card.innerText()).toContain(CUSTOMER);
    // The card's history has the customer's chat beside the calls, linked to the chat screen.
    const chatRow = operator.locator(`.live-customer-card [data-testid="live-history-chat"][data-chat-id="${chatId}"]`);
    await chatRow.waitFor({ timeout: 10_000 });
    expect(await chatRow.innerText()).toMatch(/Чат/);
    expect(await chatRow.locator('a').getAttribute('href')).toBe(`/chats?chat=${chatId}`);
    await operator.locator('[data-testid="live-active-call"]').waitFor();
    expect(await operator.locator('[data-testid="live-banner"]').count()).toBe(0);
    await operator.waitForTimeout(1200); // the timer ticks
    await screenshot(operator, join(SHOTS, 'active-call.png'));
    // Hold and resume from the window (uuid_hold of the operator's leg; the customer hears the music).
    const n = stack.sim.commands.length;
    await operator.locator('[data-testid="live-hold"]').click();
    await operator.locator('[data-testid="live-resume"]').waitFor({ timeout: 10_000 });
    await operator.locator('[data-testid="live-resume"]').click();
    await operator.locator('[data-testid="live-hold"]').waitFor({ timeout: 10_000 });
    expect(stack.sim.commands.slice(n).filter((c) => c.includes('uuid_hold'))).toEqual([expect.stringMatching(/^api uuid_hold [0-9a-f-]+$/), expect.stringMatching(/^api uuid_hold off [0-9a-f-]+$/)]);
  });

  test('a consultative transfer from the employee list completes, and the journal shows the route', async () => {
    const win = operator.locator('[data-testid="live-active-call"]');
    const callId = (await win.getAttribute('data-call-id'))!;
    // Close the card so the list is in view.
    await operator.locator('.live-customer-card .ant-drawer-close').click().catch(() => undefined);
    await operator.locator('tr[data-row-key="1003"] [data-testid="live-emp-consult"]').click();
    await operator.locator('[data-testid="live-transfer-state"][data-state="ringback"]').waitFor({ timeout: 10_000 });
    await stack.sim.actions.idle();
    await settle(stack);
    const consult = stack.sim.actions.legsOf('1003').at(-1)!;
    stack.sim.actions.answer(consult.uuid);
    await operator.locator('[data-testid="live-transfer-state"][data-state="answered"]').waitFor({ timeout: 10_000 });
    await screenshot(operator, join(SHOTS, 'employees.png'));
    await operator.locator('[data-testid="live-transfer-complete"]').click();
    await stack.sim.actions.idle();
    await settle(stack);
    await waitFor(async () => (await api(stack, `/calls/${callId}`)).body.transferRoute?.length === 1, 'route in the journal');
    const call = (await api(stack, `/calls/${callId}`)).body;
    expect(call.transferRoute).toEqual([expect.objectContaining({ type: 'attended', from: expect.objectContaining({ employee: '1001' }), to: expect.objectContaining({ employee: '1003' }) })]);
    // The operator left the call (FreeSWITCH hung up their leg): the window goes.
    await waitFor(async () => (await operator.locator('[data-testid="live-active-call"]').count()) === 0, 'active call window gone', 10_000);
    // The journal's call detail shows the route.
    const detail = await browser.newPage({ baseURL: proxy.url, storageState: await operator.context().storageState() });
    await detail.goto(`/calls/${callId}`);
    // The route card itself (not the legs list) names how and to whom: Иванова Анна → с консультацией → Сидоров Олег.
    const route = detail.locator('[data-testid="transfer-route"]');
    await route.waitFor({ timeout: 15_000 });
    const text = await route.innerText();
    expect(text).toContain('с консультацией');
    expect(text).toContain('Сидоров Олег');
    expect(text.indexOf('Сидоров Олег')).toBeGreaterThan(text.indexOf('с консультацией'));
    await detail.close();
    await stack.sim.actions.hangup(callId);
    await stack.sim.actions.idle();
    await settle(stack);
  });

  test('a supervisor sees and uses listen → whisper → barge; an operator does not see them', async () => {
    supervisor = (await signedIn(browser, proxy.url, 'boss', 'boss-secret-1')).page;
    colleague = (await signedIn(browser, proxy.url, 'petr', 'petr-secret-1')).page;
    await supervisor.goto('/employees');
    await colleague.goto('/employees');
    const c = await liveCallTalking();
    const listen = supervisor.locator('tr[data-row-key="1001"] [data-testid="live-sv-listen"]');
    await listen.waitFor({ timeout: 15_000 });
    // The operator sees the busy colleague, never the supervision buttons.
    await colleague.locator('tr[data-row-key="1001"] [data-testid="live-presence"][data-presence="busy"]').waitFor({ timeout: 15_000 });
    expect(await colleague.locator('[data-testid^="live-sv-"]').count()).toBe(0);
    expect(await operator.locator('[data-testid^="live-sv-"]').count()).toBe(0);
    await listen.click();
    await supervisor.locator('[data-testid="live-supervision"][data-state="ringing"]').waitFor({ timeout: 10_000 });
    await stack.sim.actions.idle();
    await settle(stack);
    const leg = stack.sim.actions.legsOf('1009').at(-1)!;
    stack.sim.actions.answer(leg.uuid);
    await supervisor.locator('[data-testid="live-supervision"][data-state="active"][data-mode="listen"]').waitFor({ timeout: 10_000 });
    await supervisor.locator('[data-testid="live-sv-switch-whisper"]').click();
    await supervisor.locator('[data-testid="live-supervision"][data-mode="whisper"]').waitFor({ timeout: 10_000 });
    await supervisor.locator('[data-testid="live-sv-switch-barge"]').click();
    await supervisor.locator('[data-testid="live-supervision"][data-mode="barge"]').waitFor({ timeout: 10_000 });
    // No call window for the supervisor's own leg (it rang them as a call before it joined).
    expect(await supervisor.locator('[data-testid="live-active-call"]').count()).toBe(0);
    await supervisor.waitForTimeout(400); // the buttons' colour transition
    await screenshot(supervisor, join(SHOTS, 'supervision.png'));
    const s = (await api(stack, `/calls/${c.callId}/supervision/${leg.uuid}`)).body;
    expect(s.modes.map((m: any) => m.mode)).toEqual(['listen', 'whisper', 'barge']);
    await stack.sim.actions.hangup(c.callId);
    await stack.sim.actions.idle();
    await settle(stack);
    await supervisor.locator('[data-testid="live-supervision"]').waitFor({ state: 'detached', timeout: 10_000 });
  });

  test('the active call window by keyboard: recording shown, H holds, H resumes, T opens the transfer; a blind transfer rings the colleague and completes when he answers', async () => {
    await operator.goto('/employees');
    await operator.locator('[data-testid="live-link"][data-status="online"]').waitFor({ timeout: 15_000 });
    const c = await liveCallTalking();
    const win = operator.locator(`[data-testid="live-active-call"][data-call-id="${c.callId}"]`);
    await win.waitFor({ timeout: 10_000 });
    // Capture 09 records the call (RECORD_START before the bridge): the window says so.
    await win.locator('[data-testid="live-recording"]').filter({ hasText: 'Идёт запись' }).waitFor({ timeout: 10_000 });
    // H (a person at the keyboard, no field focused): the operator's leg is held.
    await operator.locator('.live-customer-card .ant-drawer-close').click().catch(() => undefined);
    await operator.locator('body').click({ position: { x: 5, y: 5 } }).catch(() => undefined);
    let n = stack.sim.commands.length;
    await operator.keyboard.press('h');
    await win.locator('[data-testid="live-resume"]').waitFor({ timeout: 10_000 });
    expect(await win.getAttribute('data-held')).toBe('true');
    expect(await win.innerText()).toContain('на удержании');
    await waitFor(async () => stack.sim.commands.slice(n).some((x) => x.includes('uuid_hold')), 'uuid_hold on the socket');
    expect(stack.sim.commands.slice(n).filter((x) => x.includes('uuid_hold'))).toEqual([`api uuid_hold ${c.agent}`]);
    // H again: resumed.
    n = stack.sim.commands.length;
    await operator.keyboard.press('h');
    await win.locator('[data-testid="live-hold"]').waitFor({ timeout: 10_000 });
    expect(await win.getAttribute('data-held')).toBe('false');
    expect(await win.innerText()).not.toContain('на удержании');
    await waitFor(async () => stack.sim.commands.slice(n).some((x) => x.includes('uuid_hold')), 'uuid_hold off on the socket');
    expect(stack.sim.commands.slice(n).filter((x) => x.includes('uuid_hold'))).toEqual([`api uuid_hold off ${c.agent}`]);
    // T: the transfer dialog with the colleagues; "Перевести сразу" next to Сидоров Олег (1003) sends the customer on.
    await operator.keyboard.press('t');
    const dialog = operator.locator('.ant-modal').filter({ hasText: 'Перевод звонка' });
    await dialog.waitFor({ timeout: 10_000 });
    const row = dialog.locator('.ant-list-item').filter({ hasText: 'Сидоров Олег' });
    await row.waitFor();
    n = stack.sim.commands.length;
    await row.getByRole('button', { name: 'Перевести сразу' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
    await waitFor(async () => stack.sim.commands.slice(n).some((x) => x.startsWith('api uuid_transfer')), 'uuid_transfer on the socket');
    expect(stack.sim.commands.slice(n).filter((x) => /uuid_transfer|uuid_setvar_multi/.test(x))).toEqual([
      `api uuid_setvar_multi ${c.callId} recording_follow_transfer=true;recording_follow_attxfer=true`,
      `api uuid_transfer ${c.callId} 1003 XML default`,
    ]);
    // The colleague's phone rings (answered by hand): the transfer stays ringback and the operator sees it.
    await stack.sim.actions.idle();
    await settle(stack);
    const ringing = stack.sim.actions.legsOf('1003').find((l) => l.originator === c.callId && !l.answeredUs)!;
    expect(ringing).toBeTruthy();
    const transfers = () => api(stack, `/calls/${c.callId}`).then((r) => (r.body.timeline as any[]).filter((t) => t.kind === 'action' && t.transfer).map((t) => t.transfer.state));
    expect(await transfers()).toEqual(['starting', 'ringback']);
    // The operator's own leg is gone, the window stays (no hold, transfer or hang-up left to press) and follows the transfer.
    const followed = operator.locator(`[data-testid="live-active-call"][data-call-id="${c.callId}"][data-followed="true"]`);
    await followed.locator('[data-testid="live-transfer-state"][data-state="ringback"]').waitFor({ timeout: 10_000 });
    expect(await followed.innerText()).toContain('Перевод 1003: звонит коллеге');
    expect(await followed.locator('[data-testid="live-hold"], [data-testid="live-resume"], [data-testid="live-transfer"], [data-testid="live-hangup"]').count()).toBe(0);
    await screenshot(operator, join(SHOTS, 'blind-transfer.png'));
    stack.sim.actions.answer(ringing.uuid);
    await stack.sim.actions.idle();
    await settle(stack);
    await waitFor(async () => (await transfers()).at(-1) === 'completed', 'transfer completed');
    await followed.locator('[data-testid="live-transfer-state"][data-state="completed"]').waitFor({ timeout: 10_000 });
    expect(await followed.innerText()).toContain('Перевод 1003: переведён');
    // Done: the window goes by itself a few seconds later.
    await followed.waitFor({ state: 'detached', timeout: 10_000 });
    await stack.sim.actions.hangup(c.callId);
    await stack.sim.actions.idle();
    await settle(stack);
  });

  test('a blind transfer to a busy colleague: the window ends "не удался" with the cause, the operator closes it', async () => {
    stack.sim.actions.phone('1002', 'busy');
    try {
      const c = await liveCallTalking();
      const win = operator.locator(`[data-testid="live-active-call"][data-call-id="${c.callId}"]`);
      await win.locator('[data-testid="live-transfer"]').click();
      const dialog = operator.locator('.ant-modal').filter({ hasText: 'Перевод звонка' });
      const n = stack.sim.commands.length;
      await dialog.locator('.ant-list-item').filter({ hasText: 'Петров Пётр' }).getByRole('button', { name: 'Перевести сразу' }).click();
      await waitFor(async () => stack.sim.commands.slice(n).includes(`api uuid_transfer ${c.callId} 1002 XML default`), 'uuid_transfer on the socket');
      await stack.sim.actions.idle();
      await settle(stack);
      const failed = win.locator('[data-testid="live-transfer-state"][data-state="failed"]');
      await failed.waitFor({ timeout: 10_000 });
      expect(await failed.innerText()).toContain('Перевод 1002: не удался');
      expect(await failed.locator('[data-testid="live-transfer-cause"]').innerText()).toContain('USER_BUSY');
      expect(await win.getAttribute('data-followed')).toBe('true');
      await win.locator('[data-testid="live-active-close"]').click();
      await win.waitFor({ state: 'detached', timeout: 5_000 });
    } finally {
      stack.sim.actions.phone('1002', 'auto');
    }
  });

  test('a second call rings while the operator talks: its banner (with the DID called) comes beside the call window; hang-up from the window kills the call', async () => {
    const c = await liveCallTalking();
    const win = operator.locator(`[data-testid="live-active-call"][data-call-id="${c.callId}"]`);
    await win.waitFor({ timeout: 10_000 });
    const second = (await liveCall(stack, RINGING)).callId;
    const banner = operator.locator(`[data-testid="live-banner"][data-call-id="${second}"]`);
    await banner.waitFor({ timeout: 10_000 });
    expect(await operator.locator('[data-testid="live-banner"]').count()).toBe(1);
    expect(await win.count()).toBe(1);
    expect(await banner.locator('[data-testid="live-banner-name"]').innerText()).toContain(CUSTOMER);
    // The DID the customer dialled (capture 09: 74950000000), whole (not cut off by the card's width).
    const did = banner.locator('[data-testid="live-banner-did"]');
    expect(await did.innerText()).toBe('на номер +7 495 000-00-00');
    expect(await did.evaluate((el: any) => [...el.querySelectorAll('*'), el].every((x: any) => x.scrollWidth <= x.clientWidth + 1))).toBe(true);
    await screenshot(operator, join(SHOTS, 'second-call.png'));
    // The operator ends the first call from its window: uuid_kill of its legs; the window goes, the banner stays.
    const n = stack.sim.commands.length;
    await win.locator('[data-testid="live-hangup"]').click();
    await waitFor(async () => stack.sim.commands.slice(n).some((x) => x.startsWith('api uuid_kill')), 'uuid_kill on the socket');
    await stack.sim.actions.idle();
    await settle(stack);
    const kills = stack.sim.commands.slice(n).filter((x) => x.startsWith('api uuid_kill'));
    expect(kills).toEqual(expect.arrayContaining([`api uuid_kill ${c.agent}`]));
    await win.waitFor({ state: 'detached', timeout: 10_000 });
    expect((await api(stack, `/calls/${c.callId}`)).body.endedAt).toBeTruthy();
    await banner.waitFor();
    await stack.sim.actions.hangup(second);
    await stack.sim.actions.idle();
    await settle(stack);
    await banner.waitFor({ state: 'detached', timeout: 10_000 });
  });

  test('two calls ringing at once each get their banner; both go when the callers hang up', async () => {
    const before = new Set(stack.sim.actions.legsOf('1001').map((l) => l.uuid));
    await stack.sim.play(CAPTURE, { rewrite: true, limit: RINGING });
    await stack.sim.play(CAPTURE, { rewrite: true, limit: RINGING });
    await settle(stack);
    await waitFor(async () => (await operator.locator('[data-testid="live-banner"]').count()) === 2, 'two banners', 10_000);
    const legs = stack.sim.actions.legsOf('1001').filter((l) => !before.has(l.uuid));
    expect(legs).toHaveLength(2);
    for (const l of legs) await stack.sim.actions.hangup(l.originator!);
    await stack.sim.actions.idle();
    await settle(stack);
    await waitFor(async () => (await operator.locator('[data-testid="live-banner"]').count()) === 0, 'banners gone', 10_000);
  });

  test('an unknown caller: the banner offers "создать клиента"; created, the banner names them and the call is linked', async () => {
    expect((await api(stack, `/customers/c-romashka/phones/${encodeURIComponent('+79161234567')}`, { method: 'DELETE' })).status).toBe(204);
    const callId = (await liveCall(stack, RINGING)).callId;
    const banner = operator.locator(`[data-testid="live-banner"][data-call-id="${callId}"]`);
    await banner.waitFor({ timeout: 10_000 });
    expect(await banner.locator('[data-testid="live-banner-name"]').innerText()).toBe('+7 916 123-45-67');
    await banner.locator('[data-testid="live-banner-create"]').click();
    await operator.locator('[data-testid="live-create-name"]').fill('ИП Новиков');
    await operator.locator('.ant-modal-footer .ant-btn-primary').click();
    await operator.locator(`[data-testid="live-banner"][data-call-id="${callId}"] [data-testid="live-banner-name"]`).filter({ hasText: 'ИП Новиков' }).waitFor({ timeout: 10_000 });
    await waitFor(async () => (await api(stack, `/calls/${callId}`)).body.customer?.name === 'ИП Новиков', 'call linked in the journal');
    await stack.sim.actions.hangup(callId);
    await stack.sim.actions.idle();
    await settle(stack);
  });

  test('an unknown caller: "Привязать" finds a contact person by part of the name; bound, the banner names them', async () => {
    const sync = await api(stack, '/directory/sync', json({ customers: [{ id: 'c-lutik', name: 'ООО «Лютик»', phones: [], contacts: [{ id: 'c-lutik-k1', name: 'Смирнова Ольга', phones: [] }] }] }));
    expect(sync.status).toBe(200);
    const owner = (await api(stack, `/directory/lookup?number=${encodeURIComponent('+79161234567')}`)).body.customer?.id;
    if (owner) expect((await api(stack, `/customers/${owner}/phones/${encodeURIComponent('+79161234567')}`, { method: 'DELETE' })).status).toBe(204);
    const callId = (await liveCall(stack, RINGING)).callId;
    const banner = operator.locator(`[data-testid="live-banner"][data-call-id="${callId}"]`);
    await banner.waitFor({ timeout: 10_000 });
    await banner.locator('[data-testid="live-banner-bind"]').click();
    await operator.locator('[data-testid="live-bind-search"]').first().waitFor();
    await operator.locator('input[data-testid="live-bind-search"], [data-testid="live-bind-search"] input').first().fill('смирнов');
    await operator.locator('[data-testid="live-bind-hit"]').filter({ hasText: 'Смирнова Ольга' }).click();
    await operator.locator('[data-testid="live-bind-picked"]').filter({ hasText: 'ООО «Лютик»' }).waitFor();
    await operator.locator('[data-testid="live-bind-ok"]').click();
    await operator.locator(`[data-testid="live-banner"][data-call-id="${callId}"] [data-testid="live-banner-name"]`).filter({ hasText: 'Смирнова Ольга' }).waitFor({ timeout: 10_000 });
    const who = (await api(stack, `/directory/lookup?number=${encodeURIComponent('+79161234567')}`)).body;
    expect(who).toMatchObject({ kind: 'contact', customer: { id: 'c-lutik' }, contact: { id: 'c-lutik-k1' } });
    await stack.sim.actions.hangup(callId);
    await stack.sim.actions.idle();
    await settle(stack);
  });

  test('the open journal and call detail follow the event stream: a new call\'s row appears, the detail updates when it ends', async () => {
    const storageState = await operator.context().storageState();
    const journal = await browser.newPage({ baseURL: proxy.url, storageState });
    await journal.goto('/');
    await journal.locator('[data-testid="journal-table"]').waitFor({ timeout: 15_000 });
    await journal.waitForTimeout(800); // the first page is in and the stream is open
    await journal.evaluate(() => ((globalThis as any).__notReloaded = true));
    // A whole call replayed through the simulator: rings, talks, ends.
    const known = new Set(((await api(stack, '/calls?limit=500')).body.items as Array<{ id: string }>).map((c) => c.id));
    await stack.sim.play(CAPTURE, { rewrite: true });
    await settle(stack);
    const fresh = ((await api(stack, '/calls?limit=500')).body.items as Array<{ id: string; endedAt: string | null }>).filter((c) => !known.has(c.id));
    expect(fresh).toHaveLength(1);
    expect(fresh[0].endedAt).toBeTruthy();
    const ended = fresh[0].id;
    const row = journal.locator(`tr[data-call-id="${ended}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.innerText()).toContain('Отвечен');
    // A call in progress: the detail opened while it talks shows no end; the hang-up fills it in, no reload.
    const c = await liveCallTalking();
    const detail = await browser.newPage({ baseURL: proxy.url, storageState });
    await detail.goto(`/calls/${c.callId}`);
    const params = detail.locator('[data-testid="call-parameters"]');
    await params.waitFor({ timeout: 15_000 });
    await detail.evaluate(() => ((globalThis as any).__notReloaded = true));
    const endedAt = params.locator('.ant-descriptions-item').filter({ hasText: 'Конец' }).locator('.ant-descriptions-item-content');
    expect((await endedAt.innerText()).trim()).toBe('—');
    expect(await detail.locator('[data-testid="call-detail"] h4').innerText()).toContain('Идёт разговор');
    await journal.locator(`tr[data-call-id="${c.callId}"]`).waitFor({ timeout: 10_000 });
    await stack.sim.actions.hangup(c.callId);
    await stack.sim.actions.idle();
    await settle(stack);
    await waitFor(async () => (await endedAt.innerText()).trim() !== '—', 'the detail shows the end', 10_000);
    expect(await detail.locator('[data-testid="call-detail"] h4').innerText()).toContain('Отвечен');
    expect(await detail.evaluate(() => (globalThis as any).__notReloaded)).toBe(true);
    await waitFor(async () => (await journal.locator(`tr[data-call-id="${c.callId}"]`).innerText()).includes('Отвечен'), 'the journal row ended', 10_000);
    expect(await journal.evaluate(() => (globalThis as any).__notReloaded)).toBe(true);
    await detail.close();
    await journal.close();
  });

  test('the panel says it is offline, reconnects after a lost network and a server restart, and shows the calls it missed', async () => {
    await operator.goto('/recent');
    await operator.locator('[data-testid="live-link"][data-status="online"]').waitFor({ timeout: 15_000 });
    const before = await operator.locator('[data-testid="live-recent-item"]').count();
    proxy.cut();
    await operator.locator('[data-testid="live-link"][data-status="offline"]').waitFor({ timeout: 15_000 });
    expect(await operator.locator('[data-testid="live-link"]').innerText()).toContain('нет связи');
    // A call rings 1001 and the caller gives up while the panel is away: missed.
    await stack.sim.play('10_did_inbound_caller_hung_up_ringing', { rewrite: true });
    await settle(stack);
    // The server restarts meanwhile (a new port behind the same origin); another call comes after it.
    await stack.restart();
    proxy.setTarget(stack.app.port);
    const second = await liveCallTalking();
    proxy.restore();
    await operator.locator('[data-testid="live-link"][data-status="online"]').waitFor({ timeout: 20_000 });
    await operator.locator('[data-testid="live-recent-item"][data-state="missed"]').waitFor({ timeout: 10_000 });
    await operator.locator(`[data-testid="live-recent-item"][data-call-id="${second.callId}"]`).waitFor({ timeout: 10_000 });
    expect(await operator.locator('[data-testid="live-recent-item"]').count()).toBeGreaterThanOrEqual(before + 2);
    await operator.locator(`[data-testid="live-active-call"][data-call-id="${second.callId}"]`).waitFor();
    // A full reload: the stream resumes after the last id (sessionStorage), the live call is read back once.
    await operator.reload();
    await operator.locator(`[data-testid="live-active-call"][data-call-id="${second.callId}"]`).waitFor({ timeout: 10_000 });
    await operator.locator('[data-testid="live-link"][data-status="online"]').waitFor({ timeout: 10_000 });
    await stack.sim.actions.hangup(second.callId);
    await stack.sim.actions.idle();
    await settle(stack);
  });
});
