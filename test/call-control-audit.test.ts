/**
 * Call control, the audit's second pass (issue 11) over real HTTP against the FreeSWITCH simulator: a silent
 * FreeSWITCH answers 504 `freeswitch_timeout` (never 502, never a hang); a blind transfer stays pending
 * until the new leg answers and ends `failed` with FreeSWITCH's cause (busy: capture 11's events); final
 * transfer / supervision states are published after the call has closed; click-to-call is audited (who
 * asked) on the call's timeline and as `call.action`.
 */
import { Live, liveCall } from './live-call';
import { api, registerPhones, settle, Stack, startStack, waitFor } from './helpers';

const json = (body: unknown, method = 'POST') => ({ method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const quiet = async (stack: Stack) => {
  for (let i = 0; i < 2; i++) {
    await stack.sim.actions.idle();
    await settle(stack);
  }
};
const cursor = async (stack: Stack) => (await api(stack, '/events?wait=0')).body.cursor as string;
async function eventsOf(stack: Stack, after: string, types: string): Promise<any[]> {
  return (await api(stack, `/events?after=${after}&wait=0&limit=500&types=${types}`)).body.events;
}

describe('a connected FreeSWITCH that never answers', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('sqlite', { start: { esl: { commandTimeoutMs: 400, initialBackoffMs: 50, maxBackoffMs: 200 } } });
    stack.sim.actions.phone('1001', 'auto');
    await registerPhones(stack, '1001');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const expectTimeout = (r: { status: number; body: any }) => {
    expect(r.status).toBe(504);
    expect(r.body.error.code).toBe('freeswitch_timeout');
    expect(r.body.error.message).toMatch(/FreeSWITCH не ответил на команду за 0\.4 с/);
    expect(r.body.error.message).toMatch(/FreeSWITCH did not answer the command within 0\.4 s/);
  };

  test('an action whose command gets no reply → 504 freeswitch_timeout (Russian and English), in about the timeout; the link comes back', async () => {
    const c = await liveCall(stack);
    stack.sim.apiHandlers.set('uuid_hold', () => new Promise<string>(() => undefined));
    try {
      const t0 = Date.now();
      const r = await api(stack, `/calls/${c.callId}/hold`, json({}));
      expectTimeout(r);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(stack.sim.commands).toContain(`api uuid_hold ${c.agent}`);
    } finally {
      stack.sim.apiHandlers.delete('uuid_hold');
    }
    // The reply FIFO was out of step: the link was dropped and is re-established.
    await waitFor(() => stack.app.calls.esl.state === 'ready' && stack.app.calls.stats.resyncs > 1, 'reconnected');
  });

  test('click-to-call whose bgapi gets no reply → 504; the OpenAPI document names the 504 wherever a command is sent', async () => {
    await waitFor(() => stack.app.calls.esl.state === 'ready', 'connected');
    stack.sim.mute = (line) => line.startsWith('bgapi originate');
    try {
      expectTimeout(await api(stack, '/calls', json({ employee: '1001', number: '+79161234567' })));
    } finally {
      stack.sim.mute = null;
    }
    const doc = (await api(stack, '/openapi.json')).body;
    for (const [path, method] of [['/calls', 'post'], ['/transfers', 'post'], ['/transfers/{id}/complete', 'put'], ['/transfers/{id}', 'delete'],
      ['/calls/{id}/hold', 'post'], ['/calls/{id}/resume', 'post'], ['/calls/{id}/hangup', 'post'], ['/calls/{id}/supervision', 'post'],
      ['/calls/{id}/supervision/{sid}', 'put'], ['/calls/{id}/supervision/{sid}', 'delete']]) {
      expect({ path, method, has: !!doc.paths[path][method].responses['504'] }).toEqual({ path, method, has: true });
    }
  });
});

describe('call control: final states, blind transfers, click-to-call audit', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('sqlite');
    for (const ext of ['1001', '1002']) stack.sim.actions.phone(ext, 'auto');
    stack.sim.actions.phone('1003', 'manual');
    stack.sim.actions.phone('1005', 'busy');
    expect((await api(stack, '/employees/1009', json({ name: 'Старший смены', rights: ['supervisor'] }, 'PUT'))).status).toBe(201);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const closed = (c: Live) => waitFor(async () => {
    const call = (await api(stack, `/calls/${c.callId}`)).body;
    return call.status !== 'active' && call.status !== 'ringing' && !stack.app.calls.tracker.liveCall(c.callId);
  }, 'call closed');

  test('an attended transfer abandoned as the call closes: the final state is still on the stream and the timeline', async () => {
    const c = await liveCall(stack);
    const after = await cursor(stack);
    const t = (await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1003' }))).body;
    await waitFor(async () => (await api(stack, `/transfers/${t.id}`)).body.state === 'ringback', 'ringback');
    await quiet(stack);
    // The customer hangs up: every leg goes (the colleague's ringing one with the operator's), the call closes.
    await stack.sim.actions.hangup(c.customer);
    await waitFor(async () => (await api(stack, `/transfers/${t.id}`)).body.state === 'abandoned', 'abandoned');
    await closed(c);
    await quiet(stack);
    await waitFor(async () => (await eventsOf(stack, after, 'transfer.updated')).some((e) => e.data.transfer.state === 'abandoned'), 'abandoned published');
    const evs = (await eventsOf(stack, after, 'transfer.updated')).filter((e) => e.data.transfer.id === t.id);
    expect(evs.map((e) => e.data.transfer.state)).toEqual(['starting', 'ringback', 'abandoned']);
    expect(evs.every((e) => e.callId === c.callId)).toBe(true);
    const call = (await api(stack, `/calls/${c.callId}`)).body;
    expect(call.timeline.filter((x: any) => x.kind === 'action' && x.transfer?.id === t.id).map((x: any) => x.transfer.state)).toEqual(['starting', 'ringback', 'abandoned']);
  });

  test('a blind transfer to a busy phone (capture 11) is not completed: it ends failed USER_BUSY, on GET and on the stream', async () => {
    const c = await liveCall(stack);
    const after = await cursor(stack);
    const n = stack.sim.commands.length;
    const r = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1005', flow: 'blind' }));
    expect(r.status).toBe(201);
    expect(r.body.state).not.toBe('completed');
    expect(stack.sim.commands.slice(n)).toEqual([
      `api uuid_setvar_multi ${c.customer} recording_follow_transfer=true;recording_follow_attxfer=true`,
      `api uuid_transfer ${c.customer} 1005 XML default`,
    ]);
    await waitFor(async () => (await api(stack, `/transfers/${r.body.id}`)).body.state === 'failed', 'transfer failed');
    const t = (await api(stack, `/transfers/${r.body.id}`)).body;
    expect(t).toMatchObject({ state: 'failed', cause: 'USER_BUSY', blind: true });
    // The busy leg was the dialplan's bridge from the customer's leg: it is the transfer's target leg.
    expect(t.targetLeg).toMatch(/^[0-9a-f-]{36}$/);
    await quiet(stack);
    await waitFor(async () => (await eventsOf(stack, after, 'transfer.updated')).some((e) => e.data.transfer.state === 'failed'), 'failed published');
    const states = (await eventsOf(stack, after, 'transfer.updated')).map((e) => [e.data.transfer.state, e.data.transfer.cause]);
    expect(states).toEqual([['starting', null], ['ringback', null], ['failed', 'USER_BUSY']]);
    const call = (await api(stack, `/calls/${c.callId}`)).body;
    expect(call.legs.find((l: any) => l.uuid === t.targetLeg)).toMatchObject({ hangupCause: 'USER_BUSY', answeredAt: null });
    expect(call.timeline.filter((x: any) => x.kind === 'action').map((x: any) => x.transfer.state)).toEqual(['starting', 'ringback', 'failed']);
    // The dialplan then hung the customer up with the same cause (capture 11): the call is over.
    await waitFor(() => !stack.app.calls.tracker.liveCall(c.callId), 'call closed');
    expect((await api(stack, `/calls/${c.callId}`)).body.legs.find((l: any) => l.uuid === c.customer)).toMatchObject({ hangupCause: 'USER_BUSY' });
  });

  test('a blind transfer to a phone that is not registered (no channel at all) ends failed USER_NOT_REGISTERED', async () => {
    stack.sim.actions.phone('1004', 'unregistered');
    const c = await liveCall(stack);
    const r = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1004', flow: 'blind' }));
    expect(r.status).toBe(201);
    await waitFor(async () => (await api(stack, `/transfers/${r.body.id}`)).body.state === 'failed', 'transfer failed');
    expect((await api(stack, `/transfers/${r.body.id}`)).body).toMatchObject({ state: 'failed', cause: 'USER_NOT_REGISTERED', targetLeg: null });
    await quiet(stack);
  });

  test('a blind transfer whose target does not answer stays ringback; the customer hanging up meanwhile → abandoned', async () => {
    const c = await liveCall(stack);
    const r = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1003', flow: 'blind' }));
    expect(r.status).toBe(201);
    await waitFor(async () => (await api(stack, `/transfers/${r.body.id}`)).body.state === 'ringback', 'ringback');
    await quiet(stack);
    expect((await api(stack, `/transfers/${r.body.id}`)).body.state).toBe('ringback');
    // One transfer per call while it rings.
    expect((await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1002', flow: 'blind' }))).status).toBe(409);
    await stack.sim.actions.hangup(c.customer);
    await waitFor(async () => (await api(stack, `/transfers/${r.body.id}`)).body.state === 'abandoned', 'abandoned');
    expect((await api(stack, `/transfers/${r.body.id}`)).body.cause).toMatch(/customer hung up/);
    await quiet(stack);
  });

  test('click-to-call is audited: who asked is an action on the call\'s timeline and a call.action event (also for an originate that made no channel)', async () => {
    expect((await api(stack, '/employees/1002', json({ name: 'Оператор Два', rights: [] }, 'PUT'))).status).toBeLessThan(300);
    const tok = (await api(stack, '/tokens', json({ name: 'op 1002', role: 'operator', employee: '1002' }))).body.token as string;
    await registerPhones(stack, '1010'); // not an employee, but its phone is registered: click-to-call accepts it
    const after = await cursor(stack);
    const mine = await api(stack, '/calls', { ...json({ employee: '1002', number: '8 (916) 123-45-67', origin: { kind: 'panel', label: 'Карточка' } }), token: tok });
    expect(mine.status).toBe(202);
    const admin = await api(stack, '/calls', json({ employee: '1010', number: '+79161234567' }));
    expect(admin.status).toBe(202);
    const actionOf = async (id: string) => (await api(stack, `/calls/${id}`)).body?.timeline?.find((x: any) => x.kind === 'action' && x.action === 'click_to_call');
    for (const id of [mine.body.callId, admin.body.callId]) await waitFor(async () => !!(await actionOf(id)), `click-to-call audited on ${id}`);
    expect(await actionOf(mine.body.callId)).toMatchObject({
      leg: mine.body.callId, employee: '1002', number: '+79161234567', e164: '+79161234567', origin: { kind: 'panel', label: 'Карточка' },
      by: { name: 'op 1002', role: 'operator', employee: '1002', tokenId: expect.any(String) },
    });
    // 1010 is no phone here: FreeSWITCH made no channel (SUBSCRIBER_ABSENT), the failed call still carries who asked.
    expect((await api(stack, `/calls/${admin.body.callId}`)).body).toMatchObject({ status: 'failed', hangupCause: 'SUBSCRIBER_ABSENT' });
    expect(await actionOf(admin.body.callId)).toMatchObject({ employee: '1010', by: { role: 'admin' } });
    const evs = (await eventsOf(stack, after, 'call.action')).filter((e) => e.data.action === 'click_to_call');
    expect(evs.map((e) => [e.callId, e.employees, e.data.by.role])).toEqual(expect.arrayContaining([
      [mine.body.callId, ['1002'], 'operator'], [admin.body.callId, ['1010'], 'admin'],
    ]));
    expect(evs).toHaveLength(2);
    // The operator sees their own audit on their stream.
    const own = (await api(stack, `/events?after=${after}&wait=0&types=call.action`, { token: tok })).body.events;
    expect(own.map((e: any) => e.callId)).toEqual([mine.body.callId]);
    for (const l of stack.sim.actions.legsOf('1002')) await stack.sim.actions.hangup(l.uuid);
    await quiet(stack);
  });

  test('a supervision that fails after the call closed (the originate\'s result comes late): failed is still published and on the timeline', async () => {
    const c = await liveCall(stack);
    let finish: (body: string) => void = () => undefined;
    stack.sim.apiHandlers.set('originate', () => new Promise<string>((resolve) => {
      finish = resolve;
    }));
    try {
      const after = await cursor(stack);
      const r = await api(stack, `/calls/${c.callId}/supervision`, json({ supervisor: '1009', mode: 'listen' }));
      expect(r.status).toBe(201);
      await stack.sim.actions.hangup(c.customer);
      await closed(c);
      finish('-ERR USER_NOT_REGISTERED\n');
      await waitFor(async () => (await api(stack, `/calls/${c.callId}/supervision/${r.body.id}`)).body.state === 'failed', 'supervision failed');
      await quiet(stack);
      await waitFor(async () => (await eventsOf(stack, after, 'supervision.updated')).some((e) => e.data.step === 'failed'), 'failed published');
      const evs = await eventsOf(stack, after, 'supervision.updated');
      expect(evs.map((e) => [e.callId, e.data.step, e.data.supervision.cause])).toEqual([[c.callId, 'requested', null], [c.callId, 'failed', 'USER_NOT_REGISTERED']]);
      const call = (await api(stack, `/calls/${c.callId}`)).body;
      expect(call.timeline.filter((x: any) => x.kind === 'supervision').map((x: any) => x.step)).toEqual(['requested', 'failed']);
    } finally {
      stack.sim.apiHandlers.delete('originate');
    }
  });
});
