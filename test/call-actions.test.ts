/**
 * Call control over real HTTP against the FreeSWITCH simulator (src/esl/sim-actions.ts answers each command
 * with the events of its capture): blind and attended transfers (att_xfer, capture 05b), hold / resume, hang-up, supervision, and
 * click-to-call's origin and caller id. Each test asserts the exact ESL command lines on the socket, the
 * resulting call state, the journal and the events; 409, 403, 400 (injection strings in every field, nothing
 * written to the socket), FreeSWITCH down (503) or refusing (502), and a party hanging up at each step of an
 * attended transfer.
 */
import { Live, liveCall, RINGING } from './live-call';
import { api, DbKind, registerPhones, settle, Stack, startStack, waitFor } from './helpers';

const CUSTOMER = '+79161234567';
const GUID = '8F2A51C0-1B2C-4D3E-8F40-0123456789AB';
const json = (body: unknown, method = 'POST') => ({ method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });


/** The commands written to the socket since `from` (the simulator records each command's line). */
const sentSince = (stack: Stack, from: number) => stack.sim.commands.slice(from);
const quiet = async (stack: Stack) => {
  await stack.sim.actions.idle();
  await settle(stack);
  await stack.sim.actions.idle();
  await settle(stack);
};
async function transferState(stack: Stack, id: string, state: string, ms = 5000): Promise<any> {
  let t: any;
  await waitFor(async () => (t = (await api(stack, `/transfers/${id}`)).body).state === state, `transfer ${state} (is ${t?.state})`, ms);
  return t;
}
async function eventsOf(stack: Stack, after: string, types: string): Promise<any[]> {
  return (await api(stack, `/events?after=${after}&wait=0&limit=500&types=${types}`)).body.events;
}

describe.each<DbKind>(['sqlite', 'postgres'])('call actions (%s)', (kind) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(kind, { env: { TELEFONIST_CALLER_ID_DEFAULT: '74950000000', TELEFONIST_CALLER_IDS: '1001=+74950001001' } });
    for (const ext of ['1001', '1002', '1009']) stack.sim.actions.phone(ext, 'auto');
    // Registered phones: click-to-call refuses an extension that is neither an employee nor registered.
    await registerPhones(stack, '1001', '1002');
    stack.sim.actions.phone('1003', 'manual');
    stack.sim.actions.phone('1005', 'busy');
    expect((await api(stack, '/employees/1009', json({ name: 'Старший смены', rights: ['supervisor'] }, 'PUT'))).status).toBe(201);
    expect((await api(stack, '/employees/1008', json({ name: 'Оператор', rights: [] }, 'PUT'))).status).toBe(201);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('blind transfer of an answered call: uuid_transfer of the customer leg (capture 12); one call, the route 1001 → 1002', async () => {
    const c = await liveCall(stack);
    const after = (await api(stack, '/events?wait=0')).body.cursor;
    const n = stack.sim.commands.length;
    const r = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1002', flow: 'blind' }));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ blind: true, flow: 'blind', transferredLeg: c.customer, initiatorLeg: c.agent, dial: '1002' });
    // Accepted by FreeSWITCH is not done: completed once 1002's new leg answers.
    expect(['starting', 'ringback']).toContain(r.body.state);
    expect(sentSince(stack, n)).toEqual([
      `api uuid_setvar_multi ${c.customer} recording_follow_transfer=true;recording_follow_attxfer=true`,
      `api uuid_transfer ${c.customer} 1002 XML default`,
    ]);
    const done = await transferState(stack, r.body.id, 'completed');
    await quiet(stack);
    expect(done.targetLeg).toBe(stack.sim.actions.legsOf('1002').find((l) => l.originator === c.customer)!.uuid);
    const call = (await api(stack, `/calls/${c.callId}`)).body;
    expect(call).toMatchObject({ status: 'active', direction: 'inbound', externalNumber: CUSTOMER });
    expect(call.employees).toEqual(expect.arrayContaining(['1001', '1002']));
    expect(call.transferRoute).toEqual([expect.objectContaining({ kind: 'transfer', type: 'blind', from: expect.objectContaining({ employee: '1001' }), to: { number: '1002' } })]);
    expect(call.legs.find((l: any) => l.uuid === c.agent)).toMatchObject({ hangupCause: 'NORMAL_CLEARING' });
    const evs = await eventsOf(stack, after, 'transfer.updated,call.transferred,call.answered');
    expect(evs.filter((e) => e.type === 'transfer.updated').map((e) => e.data.transfer.state)).toEqual(['starting', 'ringback', 'completed']);
    expect(evs.some((e) => e.type === 'call.transferred' && e.data.to === '1002')).toBe(true);
    expect(evs.some((e) => e.type === 'call.answered' && e.data.answeredBy === '1002')).toBe(true);
    // The audit names who asked.
    expect(call.timeline.filter((t: any) => t.kind === 'action').map((t: any) => t.transfer.state)).toEqual(['starting', 'ringback', 'completed']);
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
    expect((await api(stack, `/calls/${c.callId}`)).body.status).toBe('answered');
  });

  test('blind transfer of a ringing call (the operator sends it on without picking up): the ringing leg is cancelled', async () => {
    const c = await liveCall(stack, RINGING);
    const n = stack.sim.commands.length;
    const r = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1002', flow: 'blind' }));
    expect(r.status).toBe(201);
    expect(sentSince(stack, n)).toEqual([
      `api uuid_setvar_multi ${c.customer} recording_follow_transfer=true;recording_follow_attxfer=true`,
      `api uuid_transfer ${c.customer} 1002 XML default`,
    ]);
    await quiet(stack);
    const call = (await api(stack, `/calls/${c.callId}`)).body;
    expect(call.status).toBe('active');
    expect(call.legs.find((l: any) => l.uuid === c.agent)).toMatchObject({ hangupCause: 'ORIGINATOR_CANCEL', answeredAt: null });
    expect(call.transferRoute).toEqual([expect.objectContaining({ type: 'blind', whileRinging: true, to: { number: '1002' } })]);
    expect(call.employeeDetails).toEqual(expect.arrayContaining([{ extension: '1002', role: 'callee', answered: true }]));
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
  });

  test('blind transfer to an outside number: normalised and dialled in TELEFONIST_DIAL_FORMAT; attended needs an extension', async () => {
    const c = await liveCall(stack);
    const n = stack.sim.commands.length;
    const attended = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '8 (495) 123-45-67' }));
    expect(attended.status).toBe(400);
    expect(attended.body.error.field).toBe('target');
    expect(sentSince(stack, n)).toEqual([]);
    const r = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '8 (495) 123-45-67', flow: 'blind' }));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ dial: '+74951234567' });
    expect(sentSince(stack, n).pop()).toBe(`api uuid_transfer ${c.customer} +74951234567 XML default`);
    await transferState(stack, r.body.id, 'completed');
    await quiet(stack);
    const call = (await api(stack, `/calls/${c.callId}`)).body;
    expect(call.transferRoute).toEqual([expect.objectContaining({ type: 'blind', to: { number: '+74951234567' } })]);
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
  });

  test('blind transfer of a second incoming call while the operator stays in the first', async () => {
    const first = await liveCall(stack);
    const second = await liveCall(stack, RINGING);
    const n = stack.sim.commands.length;
    const r = await api(stack, '/transfers', json({ callId: second.callId, initiator: '1001', target: '1002', flow: 'blind' }));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ transferredLeg: second.customer, initiatorLeg: second.agent });
    expect(sentSince(stack, n).join('\n')).not.toContain(first.customer);
    expect(sentSince(stack, n).join('\n')).not.toContain(first.agent);
    await quiet(stack);
    const one = (await api(stack, `/calls/${first.callId}`)).body;
    expect(one).toMatchObject({ status: 'active', transferRoute: [] });
    expect(one.legs.every((l: any) => l.endedAt === null)).toBe(true);
    expect((await api(stack, `/calls/${second.callId}`)).body.transferRoute).toHaveLength(1);
    for (const c of [first, second]) await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
  });

  /** The attended start as it goes on the socket (capture 05b's uuid_broadcast; our variables in the braces). */
  const attendedStart = (c: Live, t: any, target = '1003', timeout = 30) => [
    `api uuid_setvar_multi ${c.customer} recording_follow_transfer=true;recording_follow_attxfer=true`,
    `api uuid_setvar_multi ${c.agent} recording_follow_transfer=true;recording_follow_attxfer=true`,
    `api uuid_broadcast ${c.agent} att_xfer::{origination_uuid=${t.targetLeg},origination_caller_id_number=1001,telefonist_transfer=${t.id},`
      + `recording_follow_transfer=true,originate_timeout=${timeout}}user/${target} aleg`,
  ];
  /** The operator talks to the customer again (att_xfer returned): bridged to each other in the simulator, call active. */
  async function operatorBack(c: Live): Promise<void> {
    await quiet(stack);
    expect(stack.sim.actions.legs.get(c.agent)).toMatchObject({ hungUp: false, partner: c.customer });
    expect(stack.sim.actions.legs.get(c.customer)).toMatchObject({ hungUp: false, partner: c.agent });
    expect((await api(stack, `/calls/${c.callId}`)).body.status).toBe('active');
  }
  /** The journal after an attended transfer: ONE call, the route 1001 → colleague (attended), the colleague not a call of its own. */
  async function attendedRoute(c: Live, consult: string, colleague = '1003'): Promise<any> {
    const call = (await api(stack, `/calls/${c.callId}`)).body;
    expect(call.legs.map((l: any) => l.uuid)).toEqual(expect.arrayContaining([c.customer, c.agent, consult]));
    expect(call.transferRoute).toEqual([expect.objectContaining({
      type: 'attended', from: expect.objectContaining({ employee: '1001' }), to: expect.objectContaining({ employee: colleague }),
    })]);
    expect(call.employees).toEqual(expect.arrayContaining(['1001', colleague]));
    const mine = (await api(stack, `/calls?employee=${colleague}&limit=500`)).body.items.map((i: any) => i.id);
    expect(mine).toContain(c.callId);
    expect(mine).not.toContain(consult);
    return call;
  }

  test('attended transfer (att_xfer, capture 05b): the operator talks to the colleague, completes with uuid_kill of their leg; one call with the route', async () => {
    const c = await liveCall(stack);
    const after = (await api(stack, '/events?wait=0')).body.cursor;
    const n = stack.sim.commands.length;
    const r = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1003', timeoutSeconds: 20 }));
    expect(r.status).toBe(201);
    const t = r.body;
    expect(t).toMatchObject({ flow: 'attended', blind: false, initiatorLeg: c.agent, transferredLeg: c.customer });
    expect(['starting', 'ringback']).toContain(t.state);
    const consult = t.targetLeg;
    expect(sentSince(stack, n)).toEqual(attendedStart(c, t, '1003', 20));
    // One transfer per call.
    const again = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1002' }));
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'transfer_in_progress', field: 'callId' });
    expect(again.body.error.message).toContain(t.id);
    // The colleague's phone rings from the operator's leg (att_xfer's CHANNEL_EXECUTE, the consult leg's CREATE).
    await transferState(stack, t.id, 'ringback');
    await quiet(stack);
    const [ringing] = stack.sim.actions.legsOf('1003');
    expect(ringing).toMatchObject({ uuid: consult, originator: c.agent });
    expect(ringing.identity['Caller-Caller-ID-Number']).toBe('1001');
    // The colleague answers: the operator and the colleague talk (att_xfer's inner bridge), the customer waits.
    stack.sim.actions.answer(consult);
    await transferState(stack, t.id, 'answered');
    await quiet(stack);
    expect(stack.sim.actions.legs.get(c.agent)!.partner).toBe(consult);
    expect(stack.sim.actions.legs.get(c.customer)!.hungUp).toBe(false);
    const consulting = (await api(stack, `/calls/${c.callId}`)).body;
    expect(consulting.timeline.filter((x: any) => x.kind === 'consultation').length).toBeGreaterThanOrEqual(1);
    expect(consulting.transferRoute).toEqual([]);
    // Complete: the operator's leg goes, att_xfer bridges the customer to the colleague (confirmed by that bridge).
    const m = stack.sim.commands.length;
    const done = await api(stack, `/transfers/${t.id}/complete`, { method: 'PUT' });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ state: 'completed', blind: false, cause: null });
    expect(sentSince(stack, m)).toEqual([`api uuid_kill ${c.agent}`]);
    await quiet(stack);
    expect(stack.sim.actions.legs.get(c.customer)!.partner).toBe(consult);
    const call = await attendedRoute(c, consult);
    expect(call.status).toBe('active');
    expect(call.legs.find((l: any) => l.uuid === c.agent).endedAt).not.toBeNull();
    expect(call.timeline.map((x: any) => x.kind)).toEqual(expect.arrayContaining(['leg_ringing', 'consultation', 'transfer']));
    const states = (await eventsOf(stack, after, 'transfer.updated')).map((e) => e.data.transfer.state);
    expect(states).toEqual(['starting', 'ringback', 'answered', 'completed']);
    // The recording stays with the customer's leg to the end (one file for the call).
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
    const ended = (await api(stack, `/calls/${c.callId}`)).body;
    expect(ended).toMatchObject({ status: 'answered', hasRecording: true });
    expect(ended.recordings).toHaveLength(1);
    expect((await api(stack, `/transfers/${t.id}/complete`, { method: 'PUT' })).body.error.code).toBe('transfer_ended');
  });

  test('attended transfer completed while the colleague still rings becomes blind', async () => {
    const c = await liveCall(stack);
    const t = (await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1003' }))).body;
    await transferState(stack, t.id, 'ringback');
    await quiet(stack);
    const n = stack.sim.commands.length;
    const done = await api(stack, `/transfers/${t.id}/complete`, { method: 'PUT' });
    // Handed over blind: ringback until the colleague's new leg answers.
    expect(done.body).toMatchObject({ state: 'ringback', blind: true });
    expect(sentSince(stack, n)).toEqual([`api uuid_kill ${t.targetLeg} ORIGINATOR_CANCEL`, `api uuid_transfer ${c.customer} 1003 XML default`]);
    await quiet(stack);
    expect((await api(stack, `/transfers/${t.id}/complete`, { method: 'PUT' })).body.error.code).toBe('transfer_handed_over');
    expect((await api(stack, `/transfers/${t.id}`, { method: 'DELETE' })).body.error.code).toBe('transfer_handed_over');
    const fresh = stack.sim.actions.legsOf('1003').find((l) => l.originator === c.customer)!;
    expect((await api(stack, `/transfers/${t.id}`)).body).toMatchObject({ state: 'ringback', targetLeg: fresh.uuid });
    stack.sim.actions.answer(fresh.uuid);
    expect(await transferState(stack, t.id, 'completed')).toMatchObject({ blind: true, targetLeg: fresh.uuid, cause: null });
    await quiet(stack);
    const call = (await api(stack, `/calls/${c.callId}`)).body;
    expect(call.status).toBe('active');
    expect(call.transferRoute.map((x: any) => x.type)).toEqual(['blind']);
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
  });

  test('cancel while consulting: uuid_kill of the colleague\'s leg; att_xfer returns the operator to the customer', async () => {
    const c = await liveCall(stack);
    const t = (await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1003' }))).body;
    await transferState(stack, t.id, 'ringback');
    await quiet(stack);
    stack.sim.actions.answer(t.targetLeg);
    await transferState(stack, t.id, 'answered');
    const n = stack.sim.commands.length;
    const r = await api(stack, `/transfers/${t.id}`, { method: 'DELETE' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'cancelled', cause: 'cancelled by request' });
    expect(sentSince(stack, n)).toEqual([`api uuid_kill ${t.targetLeg}`]);
    await operatorBack(c);
    const call = (await api(stack, `/calls/${c.callId}`)).body;
    expect(call.transferRoute).toEqual([]);
    // The consultation is on the same call: the colleague answered and left.
    expect(call.legs.find((l: any) => l.uuid === t.targetLeg)).toMatchObject({ employee: '1003' });
    expect(call.legs.find((l: any) => l.uuid === t.targetLeg).endedAt).not.toBeNull();
    expect((await api(stack, `/transfers/${t.id}`, { method: 'DELETE' })).body.error.code).toBe('transfer_ended');
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
  });

  test('cancel while the colleague rings: the ringing leg is cancelled (ORIGINATOR_CANCEL), the operator is back', async () => {
    const c = await liveCall(stack);
    const t = (await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1003' }))).body;
    await transferState(stack, t.id, 'ringback');
    await quiet(stack);
    const n = stack.sim.commands.length;
    const r = await api(stack, `/transfers/${t.id}`, { method: 'DELETE' });
    expect(r.body).toMatchObject({ state: 'cancelled' });
    expect(sentSince(stack, n)).toEqual([`api uuid_kill ${t.targetLeg} ORIGINATOR_CANCEL`]);
    await operatorBack(c);
    expect((await api(stack, `/calls/${c.callId}`)).body.legs.find((l: any) => l.uuid === t.targetLeg)).toMatchObject({ hangupCause: 'ORIGINATOR_CANCEL', answeredAt: null });
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
  });

  describe('a party hangs up at each step of an attended transfer', () => {
    const start = async (target = '1003', timeoutSeconds = 30) => {
      const c = await liveCall(stack);
      const n = stack.sim.commands.length;
      const r = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target, timeoutSeconds }));
      expect(r.status).toBe(201);
      expect(sentSince(stack, n).slice(0, 3)).toEqual(attendedStart(c, r.body, target, timeoutSeconds));
      await quiet(stack);
      return { c, t: r.body };
    };
    const consulting = async () => {
      const s = await start();
      await transferState(stack, s.t.id, 'ringback');
      stack.sim.actions.answer(s.t.targetLeg);
      await transferState(stack, s.t.id, 'answered');
      await quiet(stack);
      return s;
    };

    test('the customer while the colleague rings → abandoned; the ringing colleague is cancelled', async () => {
      const { c, t } = await start();
      await transferState(stack, t.id, 'ringback');
      const n = stack.sim.commands.length;
      await stack.sim.actions.hangup(c.customer);
      const done = await transferState(stack, t.id, 'abandoned');
      expect(done.cause).toMatch(/customer hung up/);
      await quiet(stack);
      expect(sentSince(stack, n)).toEqual([`api uuid_kill ${t.targetLeg} ORIGINATOR_CANCEL`]);
      expect(stack.sim.actions.legs.get(t.targetLeg)?.hungUp ?? true).toBe(true);
      const call = (await api(stack, `/calls/${c.callId}`)).body;
      expect(call.status).toBe('answered');
      expect(call.legs.every((l: any) => l.endedAt !== null)).toBe(true);
    });

    test('the customer at the very start, while Telefonist still gives the commands → abandoned; the colleague\'s phone stops', async () => {
      const c = await liveCall(stack);
      // FreeSWITCH takes the first variables, and the customer hangs up right then.
      stack.sim.apiHandlers.set('uuid_setvar_multi', () => {
        stack.sim.apiHandlers.delete('uuid_setvar_multi');
        void stack.sim.actions.hangup(c.customer);
        return '+OK\n';
      });
      try {
        const r = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1003' }));
        expect([201, 409]).toContain(r.status);
        const id = r.status === 201 ? r.body.id : /transfer (\S+)/.exec(r.body.error.message)![1];
        const done = await transferState(stack, id, 'abandoned');
        expect(done.cause).toMatch(/hung up/);
        await quiet(stack);
        await waitFor(() => stack.sim.actions.legsOf('1003').every((l) => l.uuid !== done.targetLeg), 'colleague leg gone');
      } finally {
        stack.sim.apiHandlers.delete('uuid_setvar_multi');
      }
      expect((await api(stack, `/calls/${c.callId}`)).body.status).toBe('answered');
    });

    test('the customer while the operator consults the colleague → abandoned; the colleague\'s leg goes', async () => {
      const { c, t } = await consulting();
      await stack.sim.actions.hangup(c.customer);
      const done = await transferState(stack, t.id, 'abandoned');
      expect(done.cause).toMatch(/customer hung up/);
      await quiet(stack);
      expect(stack.sim.actions.legs.get(t.targetLeg)?.hungUp ?? true).toBe(true);
      expect((await api(stack, `/calls/${c.callId}`)).body.status).toBe('answered');
    });

    test('the operator while the colleague rings → abandoned (att_xfer\'s originate goes with the operator\'s leg)', async () => {
      const { c, t } = await start();
      await transferState(stack, t.id, 'ringback');
      await stack.sim.actions.hangup(c.agent);
      const done = await transferState(stack, t.id, 'abandoned');
      expect(done.cause).toMatch(/initiator hung up|customer hung up/);
      await quiet(stack);
      expect(stack.sim.actions.legs.get(t.targetLeg)?.hungUp ?? true).toBe(true);
    });

    test('the operator hangs up while talking to the colleague → completed: att_xfer bridges customer↔colleague (capture 05b)', async () => {
      const { c, t } = await consulting();
      const n = stack.sim.commands.length;
      await stack.sim.actions.hangup(c.agent);
      const done = await transferState(stack, t.id, 'completed');
      expect(done).toMatchObject({ blind: false, cause: null });
      await quiet(stack);
      expect(sentSince(stack, n)).toEqual([]);
      expect(stack.sim.actions.legs.get(c.customer)!.partner).toBe(t.targetLeg);
      expect((await attendedRoute(c, t.targetLeg)).status).toBe('active');
      await stack.sim.actions.hangup(t.targetLeg);
      await quiet(stack);
      expect((await api(stack, `/calls/${c.callId}`)).body.status).toBe('answered');
    });

    test('the colleague declines while ringing → failed with the cause; the operator is back with the customer', async () => {
      const { c, t } = await start();
      await transferState(stack, t.id, 'ringback');
      const n = stack.sim.commands.length;
      await stack.sim.actions.hangup(t.targetLeg, 'CALL_REJECTED');
      const done = await transferState(stack, t.id, 'failed');
      expect(done.cause).toBe('CALL_REJECTED');
      await operatorBack(c);
      // (The colleague's leg is already gone: its uuid_kill may or may not go out first, and fails quietly.)
      expect(sentSince(stack, n).filter((x) => !x.startsWith(`api uuid_kill ${t.targetLeg}`))).toEqual([]);
      await stack.sim.actions.hangup(c.customer);
      await quiet(stack);
    });

    test('the colleague hangs up after answering → cancelled; the operator is back with the customer', async () => {
      const { c, t } = await consulting();
      await stack.sim.actions.hangup(t.targetLeg);
      const done = await transferState(stack, t.id, 'cancelled');
      expect(done.cause).toMatch(/target hung up/);
      await operatorBack(c);
      expect((await api(stack, `/calls/${c.callId}`)).body.transferRoute).toEqual([]);
      await stack.sim.actions.hangup(c.customer);
      await quiet(stack);
    });

    test('the colleague is busy → failed USER_BUSY (capture 08\'s failing leg); the operator is back', async () => {
      const { c, t } = await start('1005');
      const done = await transferState(stack, t.id, 'failed');
      expect(done.cause).toBe('USER_BUSY');
      await operatorBack(c);
      await stack.sim.actions.hangup(c.customer);
      await quiet(stack);
    });

    test('the colleague\'s extension is not in the directory → failed with att_xfer\'s originate_disposition', async () => {
      const { c, t } = await start('1004');
      const done = await transferState(stack, t.id, 'failed');
      expect(done.cause).toBe('SUBSCRIBER_ABSENT');
      await operatorBack(c);
      await stack.sim.actions.hangup(c.customer);
      await quiet(stack);
    });

    test('the colleague does not answer within timeoutSeconds → failed NO_ANSWER; the operator is back', async () => {
      const { c, t } = await start('1003', 5);
      await transferState(stack, t.id, 'ringback');
      const done = await transferState(stack, t.id, 'failed', 9000);
      expect(done.cause).toBe('NO_ANSWER');
      await operatorBack(c);
      await stack.sim.actions.hangup(c.customer);
      await quiet(stack);
    }, 20_000);

    test('after completion the parties hang up as in any call; the transfer stays completed', async () => {
      const { c, t } = await consulting();
      await api(stack, `/transfers/${t.id}/complete`, { method: 'PUT' });
      await quiet(stack);
      await stack.sim.actions.hangup(t.targetLeg);
      await quiet(stack);
      expect((await api(stack, `/transfers/${t.id}`)).body.state).toBe('completed');
      expect((await api(stack, `/calls/${c.callId}`)).body.status).toBe('answered');
    });
  });

  test('hold and resume the customer: uuid_hold on the operator\'s leg (capture 05/14); hang up one leg, then the call', async () => {
    const c = await liveCall(stack);
    const after = (await api(stack, '/events?wait=0')).body.cursor;
    let n = stack.sim.commands.length;
    const held = await api(stack, `/calls/${c.callId}/hold`, json({ employee: '1001' }));
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({ action: 'hold', leg: c.agent, employee: '1001' });
    expect(sentSince(stack, n)).toEqual([`api uuid_hold ${c.agent}`]);
    await quiet(stack);
    expect((await api(stack, `/calls/${c.callId}/hold`, json({ employee: '1001' }))).body.error.code).toBe('already_held');
    n = stack.sim.commands.length;
    // No body: the leg talking to the customer (the operator's).
    expect((await api(stack, `/calls/${c.callId}/resume`, { method: 'POST' })).status).toBe(200);
    expect(sentSince(stack, n)).toEqual([`api uuid_hold off ${c.agent}`]);
    await quiet(stack);
    expect((await api(stack, `/calls/${c.callId}/resume`, json({ employee: '1001' }))).body.error.code).toBe('not_held');
    await quiet(stack);
    const call = (await api(stack, `/calls/${c.callId}`)).body;
    const kinds = call.timeline.map((x: any) => x.kind);
    expect(kinds.indexOf('held')).toBeLessThan(kinds.lastIndexOf('resumed'));
    // The two 409s are audited too (`refused`), after the action each followed.
    expect(call.timeline.filter((x: any) => x.kind === 'action').map((x: any) => [x.action, x.by.role, x.refused?.code ?? null])).toEqual([
      ['hold', 'admin', null], ['hold', 'admin', 'already_held'], ['resume', 'admin', null], ['resume', 'admin', 'not_held'],
    ]);
    expect((await eventsOf(stack, after, 'call.action')).map((e) => [e.data.action, e.data.refused?.status ?? null])).toEqual([['hold', null], ['hold', 409], ['resume', null], ['resume', 409]]);
    n = stack.sim.commands.length;
    const hung = await api(stack, `/calls/${c.callId}/hangup`, json({}));
    expect(hung.status).toBe(200);
    expect(sentSince(stack, n)).toEqual([`api uuid_kill ${c.customer}`, `api uuid_kill ${c.agent}`]);
    await quiet(stack);
    expect((await api(stack, `/calls/${c.callId}`)).body.status).toBe('answered');
    expect((await api(stack, `/calls/${c.callId}/hold`, json({}))).body.error.code).toBe('call_ended');
  });

  test('supervision: only a supervisor; rings, joins in whisper, switches to barge live (uuid_recv_dtmf); audited', async () => {
    const c = await liveCall(stack);
    stack.sim.actions.phone('1009', 'manual');
    const n0 = stack.sim.commands.length;
    const denied = await api(stack, `/calls/${c.callId}/supervision`, json({ supervisor: '1008', mode: 'listen' }));
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'not_a_supervisor', field: 'supervisor' });
    expect(sentSince(stack, n0)).toEqual([]);
    // A typo (neither an employee nor a registered phone) is named as one: 422, nothing sent.
    const typo = await api(stack, `/calls/${c.callId}/supervision`, json({ supervisor: '7777', mode: 'listen' }));
    expect(typo.status).toBe(422);
    expect(typo.body.error).toMatchObject({ code: 'unknown_employee', field: 'supervisor' });
    expect(sentSince(stack, n0)).toEqual([]);
    const after = (await api(stack, '/events?wait=0')).body.cursor;
    const r = await api(stack, `/calls/${c.callId}/supervision`, json({ supervisor: '1009', mode: 'whisper' }));
    expect(r.status).toBe(201);
    const s = r.body;
    expect(s).toMatchObject({ state: 'ringing', supervisor: '1009', employee: '1001', targetLeg: c.agent, mode: 'whisper' });
    expect(sentSince(stack, n0)).toEqual([
      `bgapi originate {origination_uuid=${s.id},origination_caller_id_number=1001,origination_caller_id_name='Supervision',telefonist_supervision=${s.id},`
        + `eavesdrop_enable_dtmf=true,eavesdrop_whisper_aleg=false,eavesdrop_whisper_bleg=true,originate_timeout=30}user/1009 &eavesdrop(${c.agent})`,
    ]);
    // Switching is refused until the supervisor picks up.
    expect((await api(stack, `/calls/${c.callId}/supervision/${s.id}`, json({ mode: 'barge' }, 'PUT'))).body.error.code).toBe('supervision_not_active');
    await quiet(stack);
    stack.sim.actions.answer(s.id);
    await waitFor(async () => (await api(stack, `/calls/${c.callId}/supervision/${s.id}`)).body.state === 'active', 'supervisor joined');
    const n = stack.sim.commands.length;
    const sw = await api(stack, `/calls/${c.callId}/supervision/${s.id}`, json({ mode: 'barge' }, 'PUT'));
    expect(sw.status).toBe(200);
    expect(sw.body.modes.map((m: any) => m.mode)).toEqual(['whisper', 'barge']);
    expect(sentSince(stack, n)).toEqual([`api uuid_recv_dtmf ${s.id} 3`]);
    await quiet(stack);
    const dup = await api(stack, `/calls/${c.callId}/supervision`, json({ supervisor: '1009', mode: 'listen' }));
    expect(dup.status).toBe(409);
    const call = (await api(stack, `/calls/${c.callId}`)).body;
    expect(call.employeeDetails).toEqual(expect.arrayContaining([expect.objectContaining({ extension: '1009', role: 'supervisor' })]));
    const kinds = call.timeline.map((x: any) => x.kind);
    expect(kinds).toEqual(expect.arrayContaining(['eavesdrop_started', 'eavesdrop_mode', 'supervision']));
    expect(call.timeline.find((x: any) => x.kind === 'eavesdrop_mode')).toMatchObject({ mode: 'barge' });
    expect(call.timeline.filter((x: any) => x.kind === 'supervision').map((x: any) => [x.step, x.mode, x.supervisor, x.employee]))
      .toEqual([['requested', 'whisper', '1009', '1001'], ['joined', 'whisper', '1009', '1001'], ['mode', 'barge', '1009', '1001']]);
    expect((await eventsOf(stack, after, 'supervision.updated')).map((e) => [e.data.step, e.employees])).toEqual([
      ['requested', ['1009']], ['joined', ['1009']], ['mode', ['1009']],
    ]);
    // The supervisor leaves when the call ends.
    await stack.sim.actions.hangup(c.customer);
    await waitFor(async () => (await api(stack, `/calls/${c.callId}/supervision/${s.id}`)).body.state === 'ended', 'supervision ended');
    await quiet(stack);
  });

  test('supervision that cannot ring: the supervisor\'s phone is busy → failed USER_BUSY; an operator token supervises only from itself', async () => {
    const c = await liveCall(stack);
    stack.sim.actions.phone('1009', 'busy');
    try {
      const r = await api(stack, `/calls/${c.callId}/supervision`, json({ supervisor: '1009', mode: 'listen' }));
      expect(r.status).toBe(201);
      await waitFor(async () => (await api(stack, `/calls/${c.callId}/supervision/${r.body.id}`)).body.state === 'failed', 'supervision failed');
      expect((await api(stack, `/calls/${c.callId}/supervision/${r.body.id}`)).body.cause).toBe('USER_BUSY');
    } finally {
      stack.sim.actions.phone('1009', 'auto');
    }
    await api(stack, '/employees/1001', json({ name: 'Иван Петров', rights: [] }, 'PUT'));
    const tok = (await api(stack, '/tokens', json({ name: 'op 1001', role: 'operator', employee: '1001' }))).body.token as string;
    const n = stack.sim.commands.length;
    const r = await api(stack, `/calls/${c.callId}/supervision`, { ...json({ supervisor: '1009', mode: 'listen' }), token: tok });
    expect(r.status).toBe(403);
    expect(r.body.error.field).toBe('supervisor');
    expect(sentSince(stack, n)).toEqual([]);
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
  });

  test('click-to-call keeps its origin on the call and its events; the customer sees the employee\'s DID', async () => {
    const after = (await api(stack, '/events?wait=0')).body.cursor;
    const ref = GUID;
    const r = await api(stack, '/calls', json({ employee: '1001', number: '8 916 123-45-67', origin: { kind: 'order', ref, label: 'Заказ №5 <b>{x}</b>' } }));
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ callerId: '+74950001001', origin: { kind: 'order', ref: ref.toLowerCase(), label: 'Заказ 5 b x b' } });
    expect(stack.sim.commands[stack.sim.commands.length - 1]).toBe(
      `bgapi originate {origination_uuid=${r.body.callId},origination_caller_id_number=+79161234567,origination_caller_id_name='79161234567 Заказ 5 b x b',`
        + `telefonist_click_to_call=true,telefonist_dial=+79161234567,effective_caller_id_number=+74950001001,telefonist_caller_id=+74950001001,`
        + `telefonist_origin_kind=order,telefonist_origin_ref=${ref.toLowerCase()},telefonist_origin_label='Заказ 5 b x b'}user/1001 +79161234567 XML default`,
    );
    await waitFor(async () => (await api(stack, `/calls/${r.body.callId}`)).body?.status === 'active', 'customer answered');
    await settle(stack);
    const call = (await api(stack, `/calls/${r.body.callId}`)).body;
    expect(call).toMatchObject({ direction: 'outbound', externalNumber: CUSTOMER, origin: { kind: 'order', ref: ref.toLowerCase(), label: 'Заказ 5 b x b' } });
    const evs = await eventsOf(stack, after, 'call.ringing,call.answered');
    expect(evs.length).toBeGreaterThanOrEqual(2);
    for (const e of evs) expect(e.data.origin).toEqual({ kind: 'order', ref: ref.toLowerCase(), label: 'Заказ 5 b x b' });
    // Without a per-employee DID: the default.
    const other = await api(stack, '/calls', json({ employee: '1002', number: '+7 916 123-45-67' }));
    expect(other.body).toMatchObject({ callerId: '74950000000', origin: null });
    await stack.sim.actions.hangup(r.body.callId);
    await quiet(stack);
    for (const l of stack.sim.actions.legsOf('1002')) await stack.sim.actions.hangup(l.uuid);
    await quiet(stack);
  });

  test('injection strings in every field → 400 naming it, nothing written to the socket', async () => {
    const c = await liveCall(stack);
    const bad = ['1001\napi uuid_kill all', '1001\r', '1001 &park()', '1001&park', '1001|1002', '1001,1002', "1001'", '{x=1}1001', '[x=1]1001',
      '^^:1001', '${sip_from_user}', '1001\n\nbgapi originate user/1 &park', '$${domain}', 'user/1001', '1001\0'];
    const refBad = [...bad, `${GUID}\napi status`, `${GUID} &park`, `${GUID},${GUID}`];
    const uuidBad = [...bad, `${c.customer}\napi status`, `${c.customer} &park`, c.customer.toUpperCase(), `${c.customer},${c.agent}`];
    const n = stack.sim.commands.length;
    const cases: Array<[string, string, Record<string, unknown>, string, string[]]> = [
      ['/transfers', 'POST', { callId: c.callId, initiator: '1001', target: '1002', flow: 'blind' }, 'callId', uuidBad],
      ['/transfers', 'POST', { callId: c.callId, initiator: '1001', target: '1002', flow: 'blind' }, 'initiator', bad],
      ['/transfers', 'POST', { callId: c.callId, initiator: '1001', target: '1002', flow: 'blind' }, 'target', bad],
      ['/transfers', 'POST', { callId: c.callId, initiator: '1001', target: '1002' }, 'target', bad],
      ['/transfers', 'POST', { callId: c.callId, initiator: '1001', target: '1002' }, 'initiator', bad],
      ['/transfers', 'POST', { callId: c.callId, initiator: '1001', target: '1002', flow: 'blind' }, 'flow', ['blind\n', 'att xfer']],
      [`/calls/${c.callId}/hold`, 'POST', { employee: '1001' }, 'employee', bad],
      [`/calls/${c.callId}/hold`, 'POST', { leg: c.agent }, 'leg', uuidBad],
      [`/calls/${c.callId}/hangup`, 'POST', { leg: c.agent }, 'leg', uuidBad],
      [`/calls/${c.callId}/hangup`, 'POST', { cause: 'NORMAL_CLEARING' }, 'cause', ['NORMAL_CLEARING\napi status', 'NORMAL CLEARING', '${x}']],
      [`/calls/${c.callId}/supervision`, 'POST', { supervisor: '1009', mode: 'listen' }, 'supervisor', bad],
      [`/calls/${c.callId}/supervision`, 'POST', { supervisor: '1009', mode: 'listen' }, 'mode', ['listen\n', 'listen,barge']],
      [`/calls/${c.callId}/supervision`, 'POST', { supervisor: '1009', mode: 'listen', employee: '1001' }, 'employee', bad],
      ['/calls', 'POST', { employee: '1001', number: '+79161234567' }, 'employee', bad],
      ['/calls', 'POST', { employee: '1001', number: '+79161234567' }, 'number', [...bad, '+7916&foo', '79161234567;hangup', '79161234567\n']],
      ['/calls', 'POST', { employee: '1001', number: '+79161234567', origin: { kind: 'panel', ref: GUID } }, 'origin.ref', refBad],
      ['/calls', 'POST', { employee: '1001', number: '+79161234567', origin: { kind: 'panel' } }, 'origin.kind', ['panel\n', 'panel,order']],
    ];
    for (const [path, method, good, field, values] of cases) {
      for (const v of values) {
        const body = structuredClone(good);
        const keys = field.split('.');
        let o: any = body;
        for (const k of keys.slice(0, -1)) o = o[k];
        o[keys[keys.length - 1]] = v;
        const r = await api(stack, path, json(body, method));
        expect({ path, field, v, status: r.status }).toEqual({ path, field, v, status: 400 });
        expect(r.body.error.field).toBe(field);
      }
    }
    // Path parameters too.
    for (const v of ['x%0Aapi%20status', `${c.callId}%20%26park`]) {
      expect((await api(stack, `/calls/${v}/hold`, json({}))).status).toBe(400);
      expect((await api(stack, `/transfers/${v}/complete`, { method: 'PUT' })).status).toBe(400);
    }
    expect(sentSince(stack, n)).toEqual([]);
    // A free label is stripped, never refused: only letters, digits, space . - reach the command, as ONE command line.
    const label = `x'\n}api status,^^|\${y}\r\n\nbgapi originate user/1 &park()[a=b]{c=d}$\${domain}"\\:_:;&`;
    const before = stack.sim.commands.length;
    const ok = await api(stack, '/calls', json({ employee: '1002', number: '+79161234567', origin: { kind: 'panel', label } }));
    expect(ok.status).toBe(202);
    const safe = ok.body.origin.label as string;
    expect(safe).toMatch(/^[\p{L}\p{N} .-]+$/u);
    const name = `79161234567 ${safe}`.slice(0, 40).trim();
    expect(sentSince(stack, before)).toEqual([
      `bgapi originate {origination_uuid=${ok.body.callId},origination_caller_id_number=+79161234567,origination_caller_id_name='${name}',`
        + `telefonist_click_to_call=true,telefonist_dial=+79161234567,effective_caller_id_number=74950000000,telefonist_caller_id=74950000000,`
        + `telefonist_origin_kind=panel,telefonist_origin_label='${safe}'}user/1002 +79161234567 XML default`,
    ]);
    await quiet(stack);
    for (const l of stack.sim.actions.legsOf('1002')) await stack.sim.actions.hangup(l.uuid);
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
  });

  test('an operator acts only as their own extension; an unknown call is 404', async () => {
    const c = await liveCall(stack);
    await api(stack, '/employees/1002', json({ name: 'Коллега', rights: [] }, 'PUT'));
    const created = await api(stack, '/tokens', json({ name: 'op 1002', role: 'operator', employee: '1002' }));
    expect(created.status).toBe(201);
    const tok = created.body.token as string;
    // Not on the call: it is not theirs to see (404, like hold); on it as another initiator: 403 (test/outside-policy.test.ts).
    const r = await api(stack, '/transfers', { ...json({ callId: c.callId, initiator: '1001', target: '1003' }), token: tok });
    expect(r.status).toBe(404);
    expect((await api(stack, `/calls/${c.callId}/hold`, { ...json({}), token: tok })).status).toBe(404);
    expect((await api(stack, '/transfers', json({ callId: '00000000-0000-4000-8000-000000000000', initiator: '1001', target: '1002' }))).status).toBe(404);
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
  });

  test('FreeSWITCH refusing → 502 with its reason; the transfer ends failed with the cause', async () => {
    const c = await liveCall(stack);
    stack.sim.apiHandlers.set('uuid_broadcast', () => '-ERR Operation failed\n');
    try {
      const r = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1003' }));
      expect(r.status).toBe(502);
      expect(r.body.error).toMatchObject({ code: 'freeswitch_refused' });
      expect(r.body.error.message).toContain('-ERR Operation failed');
      await settle(stack);
      const evs = await eventsOf(stack, '0', 'transfer.updated');
      const last = evs.filter((e) => e.callId === c.callId).pop();
      expect(last.data.transfer).toMatchObject({ state: 'failed', cause: expect.stringContaining('Operation failed') });
      // The call is free for another transfer.
      stack.sim.apiHandlers.delete('uuid_broadcast');
      expect((await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1002', flow: 'blind' }))).status).toBe(201);
    } finally {
      stack.sim.apiHandlers.delete('uuid_broadcast');
    }
    await quiet(stack);
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
  });
});

test('FreeSWITCH down → 503 for every action, never a hang', async () => {
  const stack = await startStack('sqlite', { start: { esl: { initialBackoffMs: 60_000, maxBackoffMs: 60_000 } } });
  try {
    const c = await liveCall(stack);
    stack.sim.dropClients();
    await waitFor(() => stack.app.calls.esl.state !== 'ready', 'link down');
    const n = stack.sim.commands.length;
    const t0 = Date.now();
    const asks: Array<[string, RequestInit]> = [
      ['/transfers', json({ callId: c.callId, initiator: '1001', target: '1002' })],
      ['/transfers', json({ callId: c.callId, initiator: '1001', target: '1002', flow: 'blind' })],
      [`/calls/${c.callId}/hold`, json({})],
      [`/calls/${c.callId}/hangup`, json({})],
      [`/calls/${c.callId}/supervision`, json({ supervisor: '1009', mode: 'listen' })],
    ];
    await api(stack, '/employees/1009', json({ name: 'S', rights: ['supervisor'] }, 'PUT'));
    for (const [path, init] of asks) {
      const r = await api(stack, path, init);
      expect({ path, status: r.status, code: r.body.error?.code }).toEqual({ path, status: 503, code: 'freeswitch_unavailable' });
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(stack.sim.commands.length).toBe(n);
  } finally {
    await stack.stop();
  }
});
