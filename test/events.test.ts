/**
 * Caller identification and the event log, end to end: captured FreeSWITCH bytes on a real socket,
 * events read over real HTTP as 1C and the panel read them (SSE, long-poll, signed webhooks to a real
 * receiver), on SQLite and PostgreSQL.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { signWebhook } from '../src/events/webhooks';
import { ADMIN_TOKEN, api, DB_KINDS, playAndSettle, SseClient, Stack, startStack, waitFor, webhookReceiver } from './helpers';

const post = (stack: Stack, path: string, body: unknown) =>
  api(stack, path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/** The 02 capture (1000 calls 1001) with 1000 turned into an outside caller: an inbound customer call to 1001. */
const fromOutside = (number: string) => ({ rewrite: true, outside: { extension: '1000', number } });

describe.each(DB_KINDS)('caller identification and events (%s)', (kind) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(kind, { start: { webhooks: { baseDelayMs: 30, maxDelayMs: 150, timeoutMs: 2000 } } });
    const r = await post(stack, '/directory/sync', {
      customers: [
        { id: 'c-romashka', name: 'ООО «Ромашка»', phones: ['8 (495) 123-45-67'], contacts: [{ id: 'c-romashka-ivan', name: 'Иван Смирнов', phones: ['+7 916 555-44-33'] }] },
      ],
    });
    expect(r.status).toBe(200);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function cursorNow(): Promise<string> {
    const r = await api(stack, '/events?wait=0');
    expect(r.status).toBe(200);
    return r.body.cursor;
  }

  test('an inbound call from a known number: ringing names the customer on SSE, long-poll and a signed webhook', async () => {
    const receiver = await webhookReceiver();
    const secret = 'telefonist-webhook-secret-0001';
    const hook = await post(stack, '/webhooks', { url: receiver.url, secret, employees: ['1001'] });
    expect(hook.status).toBe(201);
    const sse = await SseClient.open(`${stack.base}/events/stream?employee=1001&access_token=${ADMIN_TOKEN}`);
    expect(sse.status).toBe(200);
    expect(sse.contentType).toMatch(/^text\/event-stream/);
    const after = await cursorNow();
    const poll = api(stack, `/events?after=${after}&wait=20&employee=1001`);
    try {
      await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('84951234567'));
      const polled = await poll;
      expect(polled.status).toBe(200);
      const ringing = polled.body.events.find((e: any) => e.type === 'call.ringing');
      expect(ringing).toBeDefined();
      expect(ringing.employees).toEqual(['1001']);
      expect(ringing.data).toMatchObject({
        direction: 'inbound',
        numberE164: '+74951234567',
        identification: 'customer',
        customer: { id: 'c-romashka', name: 'ООО «Ромашка»' },
        contact: null,
        role: 'callee',
      });
      const callId = ringing.callId;

      // The rest of the loop: 1C continues from the cursor and gets answered (with the card to open) and ended.
      const rest = await api(stack, `/events?after=${after}&wait=0&employee=1001`);
      expect(rest.body.events.map((e: any) => e.type)).toEqual(['call.ringing', 'call.answered', 'call.ended']);
      expect(rest.body.events[1].data.screenPop).toEqual({ action: 'open_customer', customerId: 'c-romashka', contactId: null });
      expect(rest.body.cursor).toBe(rest.body.events[2].id);

      // SSE: the same events, same ids, in order.
      await waitFor(() => sse.events.length >= 3, 'three SSE events');
      expect(sse.events.map((e) => [e.id, e.event])).toEqual(rest.body.events.map((e: any) => [e.id, e.type]));
      expect(sse.events[0].data).toEqual(ringing);

      // Webhook: POSTed in order, each signed over timestamp + body.
      await waitFor(() => receiver.received.length >= 3, 'three webhook deliveries');
      const bodies = receiver.received.map((d) => JSON.parse(d.body));
      expect(bodies.map((b) => b.id)).toEqual(rest.body.events.map((e: any) => e.id));
      expect(bodies[0]).toEqual(ringing);
      for (const d of receiver.received) {
        const ts = String(d.headers['x-telefonist-timestamp']);
        expect(Math.abs(Date.now() / 1000 - Number(ts))).toBeLessThan(60);
        expect(d.headers['x-telefonist-signature']).toBe(signWebhook(secret, ts, d.body));
        expect(d.headers['x-telefonist-signature']).not.toBe(signWebhook('another-secret-of-16+', ts, d.body));
        expect(d.headers['x-telefonist-event']).toBe(JSON.parse(d.body).type);
        expect(d.headers['x-telefonist-event-id']).toBe(JSON.parse(d.body).id);
        expect(d.headers['content-type']).toMatch(/^application\/json/);
      }

      // The journal carries the identification too.
      const call = (await api(stack, `/calls/${callId}`)).body;
      expect(call).toMatchObject({ identification: 'customer', customer: { id: 'c-romashka', name: 'ООО «Ромашка»' }, externalNumber: '84951234567' });
      const byCustomer = (await api(stack, '/calls?customer=c-romashka')).body.items.map((c: any) => c.id);
      expect(byCustomer).toContain(callId);
      const history = (await api(stack, '/customers/c-romashka/history')).body;
      expect(history.items[0]).toMatchObject({ kind: 'call', id: callId });
    } finally {
      sse.close();
      await api(stack, `/webhooks/${hook.body.id}`, { method: 'DELETE' });
      await receiver.close();
    }
  });

  test('a contact person\'s phone identifies the contact and the customer', async () => {
    const after = await cursorNow();
    await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('89165554433'));
    const events = (await api(stack, `/events?after=${after}&wait=0&types=call.ringing,call.answered`)).body.events;
    expect(events.map((e: any) => e.type)).toEqual(['call.ringing', 'call.answered']);
    expect(events[0].data).toMatchObject({ identification: 'contact', customer: { id: 'c-romashka' }, contact: { id: 'c-romashka-ivan', name: 'Иван Смирнов' } });
    expect(events[1].data.screenPop).toEqual({ action: 'open_customer', customerId: 'c-romashka', contactId: 'c-romashka-ivan' });
  });

  test('unknown number → "create customer" → created from the journal → earlier calls linked, later calls identified', async () => {
    const after = await cursorNow();
    await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('84957654321'));
    await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('+7 495 765-43-21'.replace(/[^+0-9]/g, '')));
    const events = (await api(stack, `/events?after=${after}&wait=0&types=call.ringing,call.answered`)).body.events;
    expect(events).toHaveLength(4);
    expect(events[0].data).toMatchObject({ identification: 'unknown', customer: null, numberE164: '+74957654321' });
    expect(events[1].data.screenPop).toEqual({ action: 'create_customer', number: '+74957654321' });
    const calls = (await api(stack, '/calls?number=7654321')).body.items;
    expect(calls).toHaveLength(2);
    expect(calls.map((c: any) => c.identification)).toEqual(['unknown', 'unknown']);

    const created = await post(stack, '/customers', { callId: calls[1].id, name: 'Новый клиент из журнала' });
    expect(created.status).toBe(201);
    expect(created.body.linkedCalls).toBe(2);
    const id = created.body.customer.id;
    expect(created.body.customer.phones).toEqual([{ number: '+74957654321', extension: null, kind: 'company', raw: '84957654321' }]);
    for (const c of calls) {
      expect((await api(stack, `/calls/${c.id}`)).body).toMatchObject({ identification: 'customer', customer: { id, name: 'Новый клиент из журнала' } });
    }
    expect((await api(stack, `/calls?customer=${id}`)).body.items).toHaveLength(2);
    expect((await api(stack, `/calls?q=${encodeURIComponent('новый клиент')}`)).body.items.map((c: any) => c.id).sort()).toEqual(calls.map((c: any) => c.id).sort());
    const history = (await api(stack, `/customers/${id}/history?limit=1`)).body;
    expect(history.items).toHaveLength(1);
    expect(history.items[0].id).toBe(calls[0].id);
    const page2 = (await api(stack, `/customers/${id}/history?limit=1&cursor=${encodeURIComponent(history.nextCursor)}`)).body;
    expect(page2.items[0].id).toBe(calls[1].id);

    // The cache held "unknown" for this number; creating the customer invalidated it.
    const later = await cursorNow();
    await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('84957654321'));
    const ringing = (await api(stack, `/events?after=${later}&wait=0&types=call.ringing`)).body.events[0];
    expect(ringing.data).toMatchObject({ identification: 'customer', customer: { id, name: 'Новый клиент из журнала' } });

    // A second number bound to the customer identifies it from the next call on.
    const bound = await post(stack, `/customers/${id}/phones`, { number: '8 (812) 333-22-11' });
    expect(bound.status).toBe(201);
    const again = await cursorNow();
    await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('88123332211'));
    expect((await api(stack, `/events?after=${again}&wait=0&types=call.ringing`)).body.events[0].data.customer).toEqual({ id, name: 'Новый клиент из журнала' });
  });

  test('a receiver that is down for a while gets every event later, in order, once each, across a restart', async () => {
    let down = true;
    const receiver = await webhookReceiver((n) => (down ? (n % 2 ? 503 : 0) : 200));
    const hook = await post(stack, '/webhooks', { url: receiver.url, secret: 'second-webhook-secret-0002' });
    expect(hook.status).toBe(201);
    const from = hook.body.cursor;
    try {
      await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('84951234567'));
      await playAndSettle(stack, '03_click_to_call', { rewrite: true });
      await waitFor(() => receiver.received.length >= 4, 'failed delivery attempts');
      const state = (await api(stack, `/webhooks/${hook.body.id}`)).body;
      expect(state.failures).toBeGreaterThan(0);
      expect(state.lastError).toBeTruthy();
      expect(state.cursor).toBe(from);

      // Restart while the receiver is still down: the outbox is the log plus the cursor in the database.
      await stack.restart();
      await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('84957654321'));
      const expected = (await api(stack, `/events?after=${from}&wait=0&limit=500`)).body.events.map((e: any) => e.id);
      expect(expected.length).toBeGreaterThanOrEqual(6);
      down = false;
      await waitFor(() => receiver.received.filter((d) => d.status === 200).length >= expected.length, 'all events delivered', 20_000);
      await new Promise((r) => setTimeout(r, 200));
      const delivered = receiver.received.filter((d) => d.status === 200).map((d) => JSON.parse(d.body).id);
      expect(delivered).toEqual(expected);
      const after = (await api(stack, `/webhooks/${hook.body.id}`)).body;
      expect(after).toMatchObject({ cursor: expected[expected.length - 1], failures: 0, lastError: null });
    } finally {
      await api(stack, `/webhooks/${hook.body.id}`, { method: 'DELETE' });
      await receiver.close();
    }
  });

  test('SSE resumes after Last-Event-ID without gaps or repeats; long-poll times out empty', async () => {
    const first = await SseClient.open(`${stack.base}/events/stream`, { Authorization: `Bearer ${ADMIN_TOKEN}` });
    await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('84951234567'));
    await waitFor(() => first.events.some((e) => e.event === 'call.ended'), 'first call on SSE');
    first.close();
    const lastId = first.events[first.events.length - 1].id;
    await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('84957654321'));
    const missed = (await api(stack, `/events?after=${lastId}&wait=0`)).body.events.map((e: any) => e.id);
    expect(missed.length).toBeGreaterThan(0);
    const resumed = await SseClient.open(`${stack.base}/events/stream`, { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Last-Event-ID': lastId });
    await waitFor(() => resumed.events.length >= missed.length, 'missed events on SSE');
    await playAndSettle(stack, '03_click_to_call', { rewrite: true });
    const total = (await api(stack, `/events?after=${lastId}&wait=0`)).body.events.map((e: any) => e.id);
    await waitFor(() => resumed.events.length >= total.length, 'live events on SSE');
    await new Promise((r) => setTimeout(r, 100));
    expect(resumed.events.map((e) => e.id)).toEqual(total);
    resumed.close();

    const cursor = await cursorNow();
    const t0 = Date.now();
    const empty = await api(stack, `/events?after=${cursor}&wait=1`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(empty.body).toEqual({ events: [], cursor });
  });

  test('replaying the same call (or resyncing after a reconnect) logs no event twice', async () => {
    const after = await cursorNow();
    const same = { outside: { extension: '1000', number: '84951234567' } };
    await playAndSettle(stack, '02_inbound_call_bridge', same);
    const once = (await api(stack, `/events?after=${after}&wait=0`)).body.events;
    expect(once.map((e: any) => e.type)).toEqual(['call.incoming', 'call.ringing', 'call.answered', 'call.ended']);
    await playAndSettle(stack, '02_inbound_call_bridge', same);
    const resyncs = stack.app.calls.stats.resyncs;
    stack.sim.dropClients();
    await waitFor(() => stack.app.calls.stats.resyncs > resyncs, 'resync after reconnect', 15_000);
    await playAndSettle(stack, '02_inbound_call_bridge', same);
    expect((await api(stack, `/events?after=${after}&wait=0`)).body.events).toEqual(once);
  });

  test('bad event parameters → 400 naming the field; no token → 401', async () => {
    for (const [q, field] of [
      ['after=abc', 'after'], ['wait=61', 'wait'], ['wait=soon', 'wait'], ['limit=0', 'limit'], ['types=call.exploded', 'types'],
      ['employee=10%2001', 'employee'], ['since=1', 'since'], ['after=1&after=2', 'after'],
    ]) {
      const r = await api(stack, `/events?${q}`);
      expect({ q, status: r.status, field: r.body.error?.field }).toEqual({ q, status: 400, field });
    }
    expect((await api(stack, '/events/stream?after=x')).status).toBe(400);
    expect((await api(stack, '/events?wait=0', { token: null })).status).toBe(401);
    expect((await api(stack, `/events?wait=0&access_token=${ADMIN_TOKEN}`, { token: null })).status).toBe(401);
    const badHooks: Array<[unknown, string]> = [
      [{ url: 'ftp://1c.local/hook' }, 'url'], [{ url: 'http://1c.local/hs', secret: 'short' }, 'secret'],
      [{ url: 'http://1c.local/hs', types: ['call.boom'] }, 'types[0]'], [{ url: 'http://1c.local/hs', employees: ['1 2'] }, 'employees[0]'],
    ];
    for (const [body, field] of badHooks) {
      const r = await post(stack, '/webhooks', body);
      expect({ status: r.status, field: r.body.error?.field }).toEqual({ status: 400, field });
    }
  });
});

describe('webhook from the environment (TELEFONIST_WEBHOOK_URL)', () => {
  test('delivers signed with the configured secret; a changed secret takes effect on restart without losing the cursor', async () => {
    const receiver = await webhookReceiver();
    const env = { TELEFONIST_WEBHOOK_URL: receiver.url, TELEFONIST_WEBHOOK_SECRET: 'env-secret-0123456789' };
    let stack = await startStack('sqlite', { env, start: { webhooks: { baseDelayMs: 30, maxDelayMs: 150 } } });
    try {
      await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('84951234567'));
      await waitFor(() => receiver.received.length >= 4, 'deliveries');
      const first = receiver.received[0];
      expect(first.headers['x-telefonist-signature']).toBe(signWebhook(env.TELEFONIST_WEBHOOK_SECRET, String(first.headers['x-telefonist-timestamp']), first.body));
      const delivered = receiver.received.length;
      const dbUrl = stack.dbUrl;
      await stack.app.close();
      const env2 = { ...env, TELEFONIST_WEBHOOK_SECRET: 'rotated-secret-9876543210' };
      stack = await startStack('sqlite', { dbUrl, sim: stack.sim, env: env2, start: { webhooks: { baseDelayMs: 30, maxDelayMs: 150 } } });
      await playAndSettle(stack, '02_inbound_call_bridge', fromOutside('84957654321'));
      await waitFor(() => receiver.received.length >= delivered + 4, 'deliveries after restart');
      await new Promise((r) => setTimeout(r, 100));
      const later = receiver.received.slice(delivered);
      expect(later).toHaveLength(4); // nothing from before the restart again
      for (const d of later) {
        expect(d.headers['x-telefonist-signature']).toBe(signWebhook(env2.TELEFONIST_WEBHOOK_SECRET, String(d.headers['x-telefonist-timestamp']), d.body));
      }
    } finally {
      await stack.stop();
      await stack.sim.close();
      await receiver.close();
      rmSync(dirname(stack.dbUrl.replace(/^file:/, '')), { recursive: true, force: true });
    }
  });
});
