/**
 * Click-to-call from 1C over real HTTP: the exact originate that reaches the FreeSWITCH socket, strict
 * validation of everything that goes into it, and the journal and events of a call that failed to ring.
 */
import { registrationEvent } from '../src/esl/sim-registrations';
import { api, DB_KINDS, settle, Stack, startStack, waitFor } from './helpers';

const dial = (stack: Stack, body: unknown) =>
  api(stack, '/calls', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe.each(DB_KINDS)('click-to-call (%s)', (kind) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(kind);
    // The employees 1C synced: an extension that is neither one of them nor registered is refused (422).
    for (const ext of ['1001', '1002']) {
      await api(stack, `/employees/${ext}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `Сотрудник ${ext}` }) });
    }
    await api(stack, '/directory/sync', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ customers: [{ id: 'c-1', name: 'ООО «Ромашка»; DROP', phones: ['8 (495) 123-45-67'] }] }),
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('the employee\'s phone is originated with the customer\'s number and name; a phone that is not registered ends the call as failed', async () => {
    const after = (await api(stack, '/events?wait=0')).body.cursor;
    const r = await dial(stack, { employee: '1001', number: '8 (495) 123-45-67' });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ employee: '1001', dial: '+74951234567', number: { e164: '+74951234567', customer: { id: 'c-1' } } });
    const id = r.body.callId;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.jobUuid).toBe(id);
    expect(stack.sim.commands).toContain(
      `bgapi originate {origination_uuid=${id},origination_caller_id_number=+74951234567,origination_caller_id_name='ООО Ромашка DROP',telefonist_click_to_call=true,telefonist_dial=+74951234567}user/1001 +74951234567 XML default`,
    );
    // The simulator's 1001 is not registered: FreeSWITCH answers the job with -ERR SUBSCRIBER_ABSENT.
    await waitFor(async () => (await api(stack, `/calls/${id}`)).status === 200, 'failed click-to-call in the journal');
    await settle(stack);
    const call = (await api(stack, `/calls/${id}`)).body;
    expect(call).toMatchObject({
      direction: 'outbound', status: 'failed', hangupCause: 'SUBSCRIBER_ABSENT', employees: ['1001'], externalNumber: '+74951234567',
      identification: 'customer', customer: { id: 'c-1' }, originJob: id,
    });
    await waitFor(async () => (await api(stack, `/events?after=${after}&wait=0&employee=1001`)).body.events.length >= 2, 'call.ended and call.action');
    const ended = (await api(stack, `/events?after=${after}&wait=0&employee=1001`)).body.events;
    // The call's end, and who asked for it (the audit, once the failed call is in the journal).
    expect(ended.map((e: any) => [e.type, e.data.status ?? e.data.action])).toEqual([['call.ended', 'failed'], ['call.action', 'click_to_call']]);
    expect(ended[1].data.by).toMatchObject({ role: 'admin' });
    expect(call.timeline.map((x: any) => x.kind)).toEqual(expect.arrayContaining(['originate_failed']));
  });

  test('only digits and a normalised number ever reach the command', async () => {
    const before = stack.sim.commands.length;
    const bad: Array<[unknown, string, string?]> = [
      [{ employee: '1001 &park', number: '84951234567' }, 'employee'],
      [{ employee: '1001\nuuid_kill all', number: '84951234567' }, 'employee'],
      [{ employee: 'abc', number: '84951234567' }, 'employee'],
      [{ employee: '1001', number: 'позвони мне' }, 'number', 'invalid_phone'],
      [{ employee: '1001', number: '1001' }, 'number'],
      [{ employee: '1001' }, 'number'],
      [{ employee: '1001', number: '84951234567', gateway: 'evil' }, 'gateway'],
    ];
    for (const [body, field, code] of bad) {
      const r = await dial(stack, body);
      expect({ body, status: r.status, field: r.body.error?.field }).toEqual({ body, status: 400, field });
      if (code) expect(r.body.error.code).toBe(code);
    }
    expect(stack.sim.commands.length).toBe(before);
    // A number with anything but digits and phone punctuation is refused whole, never cleaned into digits.
    const injections = ['+7916&foo', '79161234567;hangup', '79161234567\napi uuid_kill all', '79161234567\r', '+7 (495) 123-45-67 &bridge(sofia/gateway/evil/1)',
      '84951234567|1002', '84951234567,1002', "84951234567'", '{x=1}84951234567', '[x=1]84951234567', '^^:84951234567', '${sip_from_user}',
      '84951234567\n\nbgapi originate user/1 &park', '$${domain}', 'user/84951234567', '84951234567\0', '8\u00a0495 123 45 67', '+', '9'.repeat(33)];
    for (const number of injections) {
      const r = await dial(stack, { employee: '1002', number });
      expect({ number, status: r.status, field: r.body.error?.field }).toEqual({ number, status: 400, field: 'number' });
      // (Control characters are refused by the body's own check before the number is looked at.)
      if (!/[\0-\x1f]/.test(number)) expect(r.body.error.code).toBe('invalid_phone');
    }
    expect(stack.sim.commands.length).toBe(before);
    // Phone punctuation is fine: only the normalised digits are dialled.
    for (const number of ['+7 (495) 123-45-67', '8.495.123.45.67']) {
      const r = await dial(stack, { employee: '1002', number });
      expect(r.status).toBe(202);
      expect(stack.sim.commands[stack.sim.commands.length - 1]).toMatch(/user\/1002 \+74951234567 XML default$/);
    }
    const internal = await dial(stack, { employee: '1002', number: '1003' });
    expect(internal.status).toBe(202);
    expect(stack.sim.commands[stack.sim.commands.length - 1]).toMatch(/origination_caller_id_name='1003',telefonist_click_to_call=true,telefonist_dial=1003}user\/1002 1003 XML default$/);
  });

  test('an extension that is neither an employee nor registered is a 422 unknown_employee and nothing reaches FreeSWITCH; a registered one is fine', async () => {
    const before = stack.sim.commands.length;
    const r = await dial(stack, { employee: '9999', number: '+74951234567' });
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({ code: 'unknown_employee', field: 'employee' });
    expect(r.body.error.message).toMatch(/9999/);
    expect(r.body.error.message).toMatch(/не найден/);
    expect(stack.sim.commands.length).toBe(before);
    expect(stack.sim.commands.some((c) => c.includes('user/9999'))).toBe(false);
    // No failed call with employee 9999 in the journal.
    await settle(stack);
    expect((await api(stack, '/calls?employee=9999')).body.items).toEqual([]);
    // Installations without synced employees: a registered phone is someone's, configured or not.
    await waitFor(() => stack.app.presence.stats.snapshots > 0, 'first registrations snapshot');
    stack.sim.emitEvent(registrationEvent('register', { ext: '1077', callId: 'desk@1077', expires: 300 }));
    await waitFor(() => stack.app.presence.get('1077').registrations > 0, '1077 registered');
    const ok = await dial(stack, { employee: '1077', number: '+74951234567' });
    expect(ok.status).toBe(202);
    expect(stack.sim.commands[stack.sim.commands.length - 1]).toMatch(/user\/1077 \+74951234567 XML default$/);
  });

  test('FreeSWITCH not connected → 503', async () => {
    const down = await startStack(kind, { password: 'not-the-password' });
    try {
      const r = await dial(down, { employee: '1001', number: '84951234567' });
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('freeswitch_unavailable');
    } finally {
      await down.stop();
    }
  });
});
