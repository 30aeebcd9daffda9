/**
 * The toll-fraud guard (TELEFONIST_TRANSFER_OUTSIDE, TELEFONIST_OUTSIDE_ALLOW; src/control/outside-policy.ts)
 * and the audit of refused call actions (Control.onCall), over real HTTP against the FreeSWITCH simulator:
 * a refused outside transfer or click-to-call writes nothing to the socket; a 403 / 409 / 502 on an existing
 * call leaves a timeline entry (`action` with `refused` and `by`) and a `call.action` event; a 404 does not.
 */
import { liveCall } from './live-call';
import { api, registerPhones, settle, Stack, startStack } from './helpers';
import { checkOutside } from '../src/control/outside-policy';
import { ActionError } from '../src/control/control';
import { Principal } from '../src/auth/tokens';

const json = (body: unknown, method = 'POST') => ({ method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const quiet = async (stack: Stack) => {
  await stack.sim.actions.idle();
  await settle(stack);
  await stack.sim.actions.idle();
  await settle(stack);
};
async function eventsOf(stack: Stack, after: string, types: string): Promise<any[]> {
  return (await api(stack, `/events?after=${after}&wait=0&limit=500&types=${types}`)).body.events;
}
async function refusals(stack: Stack, callId: string): Promise<any[]> {
  return (await api(stack, `/calls/${callId}`)).body.timeline.filter((x: any) => x.kind === 'action' && x.refused);
}
async function operatorToken(stack: Stack, ext: string): Promise<string> {
  const created = await api(stack, '/tokens', json({ name: `op ${ext} ${Math.random()}`, role: 'operator', employee: ext }));
  expect(created.status).toBe(201);
  return created.body.token as string;
}

describe('outside numbers: supervisor mode, allow list +7495,+7916; refusals audited', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('sqlite', { env: { TELEFONIST_TRANSFER_OUTSIDE: 'supervisor', TELEFONIST_OUTSIDE_ALLOW: '+7495, +7916' } });
    for (const ext of ['1001', '1002']) stack.sim.actions.phone(ext, 'auto');
    await registerPhones(stack, '1001', '1002');
    expect((await api(stack, '/employees/1001', json({ name: 'Оператор', rights: [] }, 'PUT'))).status).toBe(201);
    expect((await api(stack, '/employees/1002', json({ name: 'Коллега', rights: [] }, 'PUT'))).status).toBe(201);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('an operator may not send a call outside (403 outside_transfer_forbidden, target): nothing reaches FreeSWITCH, the refusal is audited', async () => {
    const c = await liveCall(stack);
    const tok = await operatorToken(stack, '1001');
    const after = (await api(stack, '/events?wait=0')).body.cursor;
    const n = stack.sim.commands.length;
    for (const target of ['+7 495 111-22-33', '84951112233']) {
      const r = await api(stack, '/transfers', { ...json({ callId: c.callId, initiator: '1001', target, flow: 'blind' }), token: tok });
      expect(r.status).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'outside_transfer_forbidden', field: 'target' });
    }
    expect(stack.sim.commands.slice(n)).toEqual([]);
    await quiet(stack);
    const rows = await refusals(stack, c.callId);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ action: 'transfer', flow: 'blind', target: '+7 495 111-22-33', refused: { status: 403, code: 'outside_transfer_forbidden' }, by: { role: 'operator', employee: '1001' } });
    const evs = (await eventsOf(stack, after, 'call.action')).filter((e) => e.callId === c.callId);
    expect(evs.map((e) => e.data.refused)).toEqual([{ status: 403, code: 'outside_transfer_forbidden' }, { status: 403, code: 'outside_transfer_forbidden' }]);
    expect(evs[0].data.by).toMatchObject({ role: 'operator', employee: '1001' });
    // An extension is never affected.
    const ok = await api(stack, '/transfers', { ...json({ callId: c.callId, initiator: '1001', target: '1002', flow: 'blind' }), token: tok });
    expect(ok.status).toBe(201);
    await quiet(stack);
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
  });

  test('an employee with the supervisor right and admin may, inside the allow list only (403 outside_number_not_allowed for everyone)', async () => {
    expect((await api(stack, '/employees/1001', json({ name: 'Оператор', rights: ['supervisor'] }, 'PUT'))).status).toBe(200);
    try {
      const tok = await operatorToken(stack, '1001');
      const c = await liveCall(stack);
      let n = stack.sim.commands.length;
      const premium = await api(stack, '/transfers', { ...json({ callId: c.callId, initiator: '1001', target: '+7 809 505-05-05', flow: 'blind' }), token: tok });
      expect(premium.status).toBe(403);
      expect(premium.body.error).toMatchObject({ code: 'outside_number_not_allowed', field: 'target' });
      const admin = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '+78095050505', flow: 'blind' }));
      expect(admin.body.error).toMatchObject({ code: 'outside_number_not_allowed', field: 'target' });
      expect(stack.sim.commands.slice(n)).toEqual([]);
      // Attended to a number stays a 400 (att_xfer dials user/<ext>): not a call action, not audited.
      const attended = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '+74951112233', flow: 'attended' }));
      expect(attended.status).toBe(400);
      await quiet(stack);
      expect((await refusals(stack, c.callId)).map((x) => [x.refused.code, x.by.role])).toEqual([['outside_number_not_allowed', 'operator'], ['outside_number_not_allowed', 'admin']]);
      n = stack.sim.commands.length;
      const ok = await api(stack, '/transfers', { ...json({ callId: c.callId, initiator: '1001', target: '8 (495) 111-22-33', flow: 'blind' }), token: tok });
      expect(ok.status).toBe(201);
      expect(stack.sim.commands.slice(n)).toContain(`api uuid_transfer ${c.customer} +74951112233 XML default`);
      await quiet(stack);
      await stack.sim.actions.hangup(c.customer);
      await quiet(stack);
    } finally {
      await api(stack, '/employees/1001', json({ name: 'Оператор', rights: [] }, 'PUT'));
    }
  });

  test('click-to-call: the allow list covers `number` (403 outside_number_not_allowed, nothing sent); extensions and allowed numbers go', async () => {
    const tok = await operatorToken(stack, '1001');
    const n = stack.sim.commands.length;
    for (const token of [tok, undefined]) {
      const r = await api(stack, '/calls', { ...json({ employee: '1001', number: '+7 809 505-05-05' }), ...(token ? { token } : {}) });
      expect(r.status).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'outside_number_not_allowed', field: 'number' });
    }
    expect(stack.sim.commands.slice(n)).toEqual([]);
    // The transfer mode does not apply to click-to-call: an operator dials customers.
    expect((await api(stack, '/calls', { ...json({ employee: '1001', number: '8 916 123-45-67' }), token: tok })).status).toBe(202);
    await quiet(stack);
    expect((await api(stack, '/calls', { ...json({ employee: '1001', number: '1002' }), token: tok })).status).toBe(202);
    await quiet(stack);
  });

  test('refused hold (409), FreeSWITCH refusing (502) and an operator\'s 403 are audited on the call; a 404 is not', async () => {
    const c = await liveCall(stack);
    const after = (await api(stack, '/events?wait=0')).body.cursor;
    expect((await api(stack, `/calls/${c.callId}/hold`, json({ employee: '1001' }))).status).toBe(200);
    await quiet(stack);
    expect((await api(stack, `/calls/${c.callId}/hold`, json({ employee: '1001' }))).body.error.code).toBe('already_held');
    stack.sim.apiHandlers.set('uuid_hold', () => '-ERR Operation failed\n');
    try {
      expect((await api(stack, `/calls/${c.callId}/resume`, json({ employee: '1001' }))).status).toBe(502);
    } finally {
      stack.sim.apiHandlers.delete('uuid_hold');
    }
    const tok = await operatorToken(stack, '1001');
    expect((await api(stack, '/transfers', { ...json({ callId: c.callId, initiator: '1002', target: '1002', flow: 'blind' }), token: tok })).status).toBe(403);
    expect((await api(stack, '/calls/00000000-0000-4000-8000-000000000000/hold', json({}))).status).toBe(404);
    await quiet(stack);
    const rows = await refusals(stack, c.callId);
    expect(rows.map((x) => [x.action, x.refused, x.by.role])).toEqual([
      ['hold', { status: 409, code: 'already_held' }, 'admin'],
      ['resume', { status: 502, code: 'freeswitch_refused' }, 'admin'],
      ['transfer', { status: 403, code: 'forbidden' }, 'operator'],
    ]);
    const evs = (await eventsOf(stack, after, 'call.action')).filter((e) => e.data.refused);
    expect(evs.map((e) => [e.callId, e.data.action, e.data.refused.code])).toEqual([
      [c.callId, 'hold', 'already_held'], [c.callId, 'resume', 'freeswitch_refused'], [c.callId, 'transfer', 'forbidden'],
    ]);
    // The success path is unchanged: one action entry, no `refused`.
    expect((await api(stack, `/calls/${c.callId}`)).body.timeline.filter((x: any) => x.kind === 'action' && x.action === 'hold' && !x.refused)).toHaveLength(1);
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
    // An ended call: 409 call_ended, audited on the stored call.
    expect((await api(stack, `/calls/${c.callId}/hangup`, json({}))).body.error.code).toBe('call_ended');
    await quiet(stack);
    expect((await refusals(stack, c.callId)).pop()).toMatchObject({ action: 'hangup', refused: { status: 409, code: 'call_ended' } });
  });
});

describe('refusals of supervision and of a transfer by id are audited on their call', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('sqlite');
    for (const ext of ['1001', '1002']) stack.sim.actions.phone(ext, 'auto');
    await registerPhones(stack, '1001', '1002');
    expect((await api(stack, '/employees/1008', json({ name: 'Оператор', rights: [] }, 'PUT'))).status).toBe(201);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('403 not_a_supervisor and 409 transfer_handed_over leave `refused` entries; a 404 transfer does not', async () => {
    const c = await liveCall(stack);
    expect((await api(stack, `/calls/${c.callId}/supervision`, json({ supervisor: '1008', mode: 'listen' }))).body.error.code).toBe('not_a_supervisor');
    const t = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1002', flow: 'blind' }));
    expect(t.status).toBe(201);
    expect((await api(stack, `/transfers/${t.body.id}`, { method: 'DELETE' })).body.error.code).toBe('transfer_handed_over');
    expect((await api(stack, '/transfers/00000000-0000-4000-8000-000000000000', { method: 'DELETE' })).status).toBe(404);
    await quiet(stack);
    expect((await refusals(stack, c.callId)).map((x) => [x.action, x.refused.code, x.supervisor ?? x.transfer])).toEqual([
      ['supervision', 'not_a_supervisor', '1008'], ['transfer_cancel', 'transfer_handed_over', t.body.id],
    ]);
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
  });
});

describe('TELEFONIST_TRANSFER_OUTSIDE=none', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('sqlite', { env: { TELEFONIST_TRANSFER_OUTSIDE: 'none' } });
    for (const ext of ['1001', '1002']) stack.sim.actions.phone(ext, 'auto');
    await registerPhones(stack, '1001', '1002');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('nobody sends a call outside (admin too: 403, nothing sent); extensions go; click-to-call is not limited by the mode', async () => {
    const c = await liveCall(stack);
    const n = stack.sim.commands.length;
    const r = await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '+74951112233', flow: 'blind' }));
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'outside_transfer_forbidden', field: 'target' });
    expect(stack.sim.commands.slice(n)).toEqual([]);
    expect((await api(stack, '/transfers', json({ callId: c.callId, initiator: '1001', target: '1002', flow: 'blind' }))).status).toBe(201);
    await quiet(stack);
    await stack.sim.actions.hangup(c.customer);
    await quiet(stack);
    expect((await api(stack, '/calls', json({ employee: '1001', number: '+78095050505' }))).status).toBe(202);
    await quiet(stack);
  });
});

describe('checkOutside (the one rule)', () => {
  const op: Principal = { tokenId: 't', name: 'op', role: 'operator', employee: '1001' };
  const integration: Principal = { tokenId: 'i', name: '1C', role: 'integration' };
  const refused = async (f: Promise<void>) => f.then(() => null, (e: ActionError) => [e.status, e.code, e.field]);

  test('internal targets are never checked; the mode applies to senders only; the allow list to everyone', async () => {
    const none = { mode: 'none' as const, allow: ['+7495'] };
    expect(await refused(checkOutside(none, null, 'target', op))).toBeNull();
    expect(await refused(checkOutside(none, '+74951112233', 'target', integration))).toEqual([403, 'outside_transfer_forbidden', 'target']);
    expect(await refused(checkOutside(none, '+74951112233', 'number'))).toBeNull();
    expect(await refused(checkOutside(none, '+78095050505', 'number'))).toEqual([403, 'outside_number_not_allowed', 'number']);
    const sup = { mode: 'supervisor' as const, isSupervisor: (ext: string) => ext === '1009' };
    expect(await refused(checkOutside(sup, '+78095050505', 'target', op))).toEqual([403, 'outside_transfer_forbidden', 'target']);
    expect(await refused(checkOutside(sup, '+78095050505', 'target', { ...op, employee: '1009' }))).toBeNull();
    expect(await refused(checkOutside(sup, '+78095050505', 'target', integration))).toBeNull();
    expect(await refused(checkOutside({ mode: 'all' }, '+78095050505', 'target', op))).toBeNull();
  });
});
