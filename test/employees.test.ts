/**
 * Employees and presence (issue 11, T10) over real HTTP and the simulator's socket, on SQLite and
 * PostgreSQL: bulk sync from 1C (all or nothing, field-level 400s), single records, groups and the
 * supervisor right, operator tokens bound to employees; presence from sofia registrations (built on the
 * captured sofia::register bytes), their expiry, `show registrations as json` after a reconnect, and calls
 * replayed from real captures; `employee.presence` on SSE and long-poll; names on calls, events and transcripts.
 */
import { loadFixtureEvents } from '../src/esl/fixtures';
import { encodeJsonEventBody } from '../src/esl/event';
import { eventFrame } from '../src/esl/sim-protocol';
import { registrationEvent } from '../src/esl/sim-registrations';
import { ADMIN_TOKEN, api, DB_KINDS, playAndSettle, settle, SseClient, Stack, startStack, waitFor } from './helpers';

const send = (stack: Stack, path: string, body: unknown, method = 'POST', token?: string) =>
  api(stack, path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), token });

const OFFLINE_DELAY_MS = 150;

describe.each(DB_KINDS)('employees and presence (%s)', (kind) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(kind, { start: { presence: { offlineDelayMs: OFFLINE_DELAY_MS, expiryMarginMs: 0, sweepMs: 50 } } });
    await waitFor(() => stack.app.presence.stats.snapshots > 0, 'first registrations snapshot');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const reg = (ext: string, callId: string, expires = 300) => stack.sim.emitEvent(registrationEvent('register', { ext, callId, expires }));
  const unreg = (ext: string, callId: string) => stack.sim.emitEvent(registrationEvent('unregister', { ext, callId }));
  const presenceEvents = async (after: string, ext?: string) =>
    (await api(stack, `/events?after=${after}&wait=0&limit=500&types=employee.presence${ext ? `&employee=${ext}` : ''}`)).body.events
      .filter((e: any) => !ext || e.data.extension === ext);
  const cursorNow = async () => (await api(stack, '/events?wait=0')).body.cursor as string;
  const settled = async () => {
    await settle(stack);
    await stack.app.presence.idle();
  };

  test('bulk sync from 1C: idempotent, all or nothing, field-level 400s; groups grant the supervisor right', async () => {
    const batch = {
      groups: [{ id: 'grp-sales', name: 'Отдел продаж', rights: [] }, { id: 'grp-leads', name: 'Старшие', rights: ['supervisor'] }],
      employees: [
        { extension: '1000', name: 'Анна Смирнова', userRef: 'a0000000-0000-0000-0000-000000001000', groups: ['grp-sales'] },
        { extension: '1001', name: 'Иван Петров', userRef: 'a0000000-0000-0000-0000-000000001001', groups: ['grp-sales'] },
        { extension: '1002', name: 'Ольга Старшая', groups: ['grp-sales', 'grp-leads'] },
        { extension: '1003', name: 'Пётр Контролёр', rights: ['supervisor'] },
      ],
    };
    const r = await send(stack, '/employees/sync', batch);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ upserted: 4, deleted: 0, groups: 2, deletedGroups: 0 });
    const first = (await api(stack, '/employees')).body;
    expect(first.items.map((e: any) => [e.extension, e.name, e.supervisor])).toEqual([
      ['1000', 'Анна Смирнова', false], ['1001', 'Иван Петров', false], ['1002', 'Ольга Старшая', true], ['1003', 'Пётр Контролёр', true],
    ]);
    expect(first.items[2]).toMatchObject({ rights: [], effectiveRights: ['supervisor'], groups: ['grp-sales', 'grp-leads'], presence: 'offline', reason: null, registrations: 0 });
    expect(stack.app.employees.isSupervisor('1002')).toBe(true);
    expect(stack.app.employees.isSupervisor('1001')).toBe(false);
    expect(stack.app.employees.isSupervisor('9999')).toBe(false);

    // The same batch again: the same state, and nobody is told anything changed.
    const changed: string[][] = [];
    const onChanged = (x: string[]) => changed.push(x);
    stack.app.employees.on('changed', onChanged);
    expect((await send(stack, '/employees/sync', batch)).status).toBe(200);
    const again = (await api(stack, '/employees')).body;
    expect(again.items.map((e: any) => ({ ...e, updatedAt: 0 }))).toEqual(first.items.map((e: any) => ({ ...e, updatedAt: 0 })));
    expect(changed).toEqual([]);

    // A group losing its right takes it from its members at once ('changed' names them).
    expect((await send(stack, '/employee-groups/grp-leads', { name: 'Старшие', rights: [] }, 'PUT')).status).toBe(200);
    expect(stack.app.employees.isSupervisor('1002')).toBe(false);
    expect(changed).toEqual([['1002']]);
    expect((await send(stack, '/employee-groups/grp-leads', { name: 'Старшие', rights: ['supervisor'] }, 'PUT')).status).toBe(200);
    expect(stack.app.employees.isSupervisor('1002')).toBe(true);
    stack.app.employees.off('changed', onChanged);
    const groups = (await api(stack, '/employee-groups')).body.items;
    expect(groups).toEqual([
      { id: 'grp-leads', name: 'Старшие', rights: ['supervisor'], members: ['1002'] },
      { id: 'grp-sales', name: 'Отдел продаж', rights: [], members: ['1000', '1001', '1002'] },
    ]);

    // One bad field refuses the whole batch, naming it; nothing of the batch is stored.
    const bad = await send(stack, '/employees/sync', {
      employees: [
        { extension: '1010', name: 'Новый' },
        { extension: '1011', name: 'Новый 2' },
        { extension: '1012', name: 'Новый 3' },
        { extension: '10 13', name: 'Пробел' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('employees[3].extension');
    expect((await api(stack, '/employees/1010')).status).toBe(404);
    const cases: Array<[unknown, string]> = [
      [{ employees: [{ extension: '1010' }] }, 'employees[0].name'],
      [{ employees: [{ extension: '1010', name: 'X', rights: ['god'] }] }, 'employees[0].rights[0]'],
      [{ employees: [{ extension: '1010', name: 'X', userRef: 'a/b' }] }, 'employees[0].userRef'],
      [{ employees: [{ extension: '1010', name: 'X', phone: '1' }] }, 'employees[0].phone'],
      [{ employees: [{ extension: '1010', name: 'X' }, { extension: '1010', name: 'Y' }] }, 'employees[1].extension'],
      [{ employees: [{ extension: "1010'; DROP TABLE employees; --", name: 'X' }] }, 'employees[0].extension'],
      [{ groups: [{ id: 'g', name: 'G', rights: ['supervisor', 'root'] }] }, 'groups[0].rights[1]'],
      [{ employees: 'all' }, 'employees'],
      [{ deleted: ['abc'] }, 'deleted[0]'],
      [{ everything: true }, 'everything'],
    ];
    for (const [body, field] of cases) {
      const res = await send(stack, '/employees/sync', body);
      expect({ field, status: res.status }).toEqual({ field, status: 400 });
      expect(res.body.error.field).toBe(field);
    }
    expect((await api(stack, '/employees')).body.items).toHaveLength(4);
  });

  test('single records: PUT creates then replaces, GET, DELETE; a full run deletes what 1C no longer has; roles', async () => {
    const created = await send(stack, '/employees/1020', { name: 'Временный', groups: ['grp-sales'] }, 'PUT');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ extension: '1020', name: 'Временный', presence: 'offline' });
    const replaced = await send(stack, '/employees/1020', { name: 'Временный Сотрудник' }, 'PUT');
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ name: 'Временный Сотрудник', groups: [] });
    expect((await api(stack, '/employees/1020')).body.name).toBe('Временный Сотрудник');
    expect((await send(stack, '/employees/1020', {}, 'PUT')).body.error.field).toBe('name');
    expect((await api(stack, '/employees/abc')).body.error.field).toBe('extension');
    expect((await api(stack, '/employees/1020', { method: 'DELETE' })).status).toBe(204);
    expect((await api(stack, '/employees/1020', { method: 'DELETE' })).status).toBe(404);
    expect((await api(stack, '/employees/1020')).status).toBe(404);

    // A full sync run: 1099 (not in the run) goes at finish.
    await send(stack, '/employees/1099', { name: 'Уволенный' }, 'PUT');
    const all = (await api(stack, '/employees')).body.items.filter((e: any) => e.extension !== '1099')
      .map((e: any) => ({ extension: e.extension, name: e.name, userRef: e.userRef, groups: e.groups, rights: e.rights }));
    expect((await send(stack, '/employees/sync', { run: 'run-1', employees: all })).status).toBe(200);
    expect((await send(stack, '/employees/sync/finish', { run: 'run-1' })).body).toEqual({ deleted: 1 });
    expect((await api(stack, '/employees/1099')).status).toBe(404);
    expect((await api(stack, '/employees')).body.items).toHaveLength(4);

    // Operators read (presence of colleagues), only admin and 1C write.
    const op = await send(stack, '/tokens', { name: 'op', role: 'operator', employee: '1001' });
    expect(op.status).toBe(201);
    expect((await api(stack, '/employees', { token: op.body.token })).status).toBe(200);
    expect((await send(stack, '/employees/1001', { name: 'Хакер' }, 'PUT', op.body.token)).status).toBe(403);
    expect((await send(stack, '/employees/sync', { employees: [] }, 'POST', op.body.token)).status).toBe(403);
    // Operator tokens point at their employee: an extension no employee has is refused while employees exist.
    const ghost = await send(stack, '/tokens', { name: 'ghost', role: 'operator', employee: '7777' });
    expect(ghost.status).toBe(400);
    expect(ghost.body.error.field).toBe('employee');
  });

  test('registrations: several phones and re-registrations do not flip presence; the last one leaving does, after the delay', async () => {
    const after = await cursorNow();
    const sse = await SseClient.open(`${stack.base}/events/stream?types=employee.presence&employee=1001&access_token=${ADMIN_TOKEN}`);
    try {
      reg('1001', 'phone-a@1001');
      await waitFor(async () => (await api(stack, '/employees/1001')).body.presence === 'online', '1001 online');
      reg('1001', 'phone-b@1001'); // a second phone
      reg('1001', 'phone-a@1001'); // a refresh (same Call-ID, as captures 10 and 15 show)
      await waitFor(async () => (await api(stack, '/employees/1001')).body.registrations === 2, 'two phones');
      unreg('1001', 'phone-a@1001');
      await waitFor(async () => (await api(stack, '/employees/1001')).body.registrations === 1, 'one phone left');
      // A phone that unregisters and registers again at once (a reboot) does not flip.
      // Both events in one TCP write, so a loaded machine cannot handle them more than the delay apart.
      // (The simulator's registration table ends where it was: phone-b registered.)
      stack.sim.sendRaw(Buffer.concat([
        eventFrame('json', encodeJsonEventBody(registrationEvent('unregister', { ext: '1001', callId: 'phone-b@1001' }))),
        eventFrame('json', encodeJsonEventBody(registrationEvent('register', { ext: '1001', callId: 'phone-b@1001', expires: 300 }))),
      ]));
      await new Promise((r) => setTimeout(r, OFFLINE_DELAY_MS * 3));
      await settled();
      let events = await presenceEvents(after, '1001');
      expect(events.map((e: any) => e.data.presence)).toEqual(['online']);
      expect(events[0]).toMatchObject({ type: 'employee.presence', callId: null, data: { extension: '1001', name: 'Иван Петров', reason: null, previous: null, registrations: 1 } });
      // Addressed to the employee and every supervisor.
      expect(events[0].employees).toEqual(['1001', '1002', '1003']);
      unreg('1001', 'phone-b@1001');
      await waitFor(async () => (await api(stack, '/employees/1001')).body.presence === 'offline', '1001 offline');
      await settled();
      events = await presenceEvents(after, '1001');
      expect(events.map((e: any) => e.data.presence)).toEqual(['online', 'offline']);
      expect(events[1].data.previous).toMatchObject({ presence: 'online', reason: null });
      await waitFor(() => sse.events.length >= 2, 'two SSE presence events');
      expect(sse.events.map((e) => [e.id, e.event])).toEqual(events.map((e: any) => [e.id, 'employee.presence']));
    } finally {
      sse.close();
    }
  });

  test('a registration not refreshed by its expiry goes offline; sofia::expire too; other profiles are not employees', async () => {
    const after = await cursorNow();
    reg('1000', 'short@1000', 1); // expires in 1 s (margin 0 in this test)
    await waitFor(async () => (await api(stack, '/employees/1000')).body.presence === 'online', '1000 online');
    await waitFor(async () => (await api(stack, '/employees/1000')).body.presence === 'offline', '1000 lapsed', 5000);
    reg('1000', 'long@1000', 300);
    await waitFor(async () => (await api(stack, '/employees/1000')).body.presence === 'online', '1000 online again');
    stack.sim.emitEvent(registrationEvent('expire', { ext: '1000', callId: 'long@1000' }));
    await waitFor(async () => (await api(stack, '/employees/1000')).body.presence === 'offline', '1000 expired by FreeSWITCH');
    stack.sim.emitEvent(registrationEvent('register', { ext: '1000', callId: 'gw@1000', profile: 'external' }));
    await settled();
    await new Promise((r) => setTimeout(r, 100));
    expect((await api(stack, '/employees/1000')).body).toMatchObject({ presence: 'offline', registrations: 0 });
    expect((await presenceEvents(after, '1000')).map((e: any) => e.data.presence)).toEqual(['online', 'offline', 'online', 'offline']);
  });

  test('calls make employees busy (ringing, talking, held, supervising) and name them on calls, events and the call detail', async () => {
    reg('1001', 'desk@1001');
    reg('1002', 'desk@1002');
    await waitFor(async () => (await api(stack, '/employees/1002')).body.presence === 'online', '1002 online');
    await settled();
    const after = await cursorNow();
    // 02: the customer (capture's 1000 as an outside caller) calls 1001, who answers; the customer hangs up.
    await playAndSettle(stack, '02_inbound_call_bridge', { rewrite: true, outside: { extension: '1000', number: '+79161234567' } });
    await waitFor(async () => (await api(stack, '/employees/1001')).body.presence === 'online', '1001 back online');
    await settled();
    const p1001 = await presenceEvents(after, '1001');
    expect(p1001.map((e: any) => [e.data.presence, e.data.reason])).toEqual([['busy', 'ringing'], ['busy', 'talking'], ['online', null]]);
    expect(p1001[0].data.callIds).toHaveLength(1);
    const callId = p1001[0].data.callIds[0];
    const callEvents = (await api(stack, `/events?after=${after}&wait=0&types=call.ringing,call.answered,call.ended`)).body.events;
    expect(callEvents.length).toBeGreaterThanOrEqual(3);
    for (const e of callEvents) expect(e.data.employeeNames).toEqual({ 1001: 'Иван Петров' });
    const detail = (await api(stack, `/calls/${callId}`)).body;
    expect(detail.employeeDetails).toEqual([{ extension: '1001', name: 'Иван Петров', role: 'callee', answered: true }]);

    // 14: held while the customer's leg is on hold.
    const holdAfter = await cursorNow();
    await playAndSettle(stack, '14_hold_unhold', { rewrite: true });
    await waitFor(async () => (await api(stack, '/employees/1001')).body.presence === 'online', '1001 online after 14');
    await settled();
    const reasons = (await presenceEvents(holdAfter, '1001')).map((e: any) => e.data.reason);
    expect(reasons).toEqual(expect.arrayContaining(['talking', 'held']));
    expect(reasons.indexOf('held')).toBeGreaterThan(reasons.indexOf('talking'));
    expect(reasons[reasons.indexOf('held') + 1]).toBe('talking');

    // 06: 1002 eavesdrops on 1000 ↔ 1001: supervising.
    const supAfter = await cursorNow();
    await playAndSettle(stack, '06_eavesdrop', { rewrite: true });
    await waitFor(async () => (await api(stack, '/employees/1002')).body.presence === 'online', '1002 online after 06');
    await settled();
    const sup = (await presenceEvents(supAfter, '1002')).map((e: any) => e.data.reason);
    expect(sup).toContain('supervising');
  });

  test('an operator sees a colleague busy but not the ids of calls he is not on; he sees his own; admin sees all', async () => {
    reg('1001', 'desk@1001');
    await waitFor(async () => (await api(stack, '/employees/1001')).body.presence === 'online', '1001 online');
    // 09 up to the bridge: a customer talks to 1001.
    const events09 = loadFixtureEvents('09_did_inbound_answered');
    await stack.sim.play('09_did_inbound_answered', { rewrite: true, limit: events09.findIndex((e) => e.event.name === 'CHANNEL_BRIDGE') + 1 });
    await waitFor(async () => (await api(stack, '/employees/1001')).body.reason === 'talking', '1001 talking');
    const callId = (await api(stack, '/employees/1001')).body.callIds[0];
    expect(callId).toMatch(/^[0-9a-f-]{36}$/);
    const as = async (ext: string) => (await send(stack, '/tokens', { name: `op ${ext}`, role: 'operator', employee: ext })).body.token as string;
    const [own, colleague] = [await as('1001'), await as('1002')];
    const seenBy = async (token?: string) => {
      const list = (await api(stack, '/employees', { token })).body.items.find((e: any) => e.extension === '1001');
      const one = (await api(stack, '/employees/1001', { token })).body;
      expect(one.callIds).toEqual(list.callIds);
      return one;
    };
    expect(await seenBy(colleague)).toMatchObject({ presence: 'busy', reason: 'talking', callIds: [] });
    expect(await seenBy(own)).toMatchObject({ presence: 'busy', callIds: [callId] });
    expect(await seenBy()).toMatchObject({ presence: 'busy', callIds: [callId] });
    expect((await api(stack, `/calls/${callId}/hangup`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(200);
    await waitFor(async () => (await api(stack, '/employees/1001')).body.presence !== 'busy', '1001 free again');
    await settled();
  });

  test('after a reconnect, show registrations as json corrects presence; a restart publishes nothing that did not change', async () => {
    reg('1003', 'desk@1003');
    await waitFor(async () => (await api(stack, '/employees/1003')).body.presence === 'online', '1003 online');
    await settled();
    const after = await cursorNow();
    const snapshots = stack.app.presence.stats.snapshots;
    stack.sim.dropClients();
    // While Telefonist cannot hear: 1003's phone goes away, 1000's phone registers.
    await waitFor(() => stack.app.calls.esl.state !== 'ready', 'link down');
    stack.sim.emitEvent(registrationEvent('unregister', { ext: '1003', callId: 'desk@1003' }));
    stack.sim.emitEvent(registrationEvent('register', { ext: '1000', callId: 'desk@1000' }));
    await waitFor(() => stack.app.presence.stats.snapshots > snapshots, 'snapshot after reconnect', 15_000);
    expect(stack.sim.commands).toContain('api show registrations as json');
    await waitFor(async () => (await api(stack, '/employees/1003')).body.presence === 'offline', '1003 offline from the snapshot');
    await waitFor(async () => (await api(stack, '/employees/1000')).body.presence === 'online', '1000 online from the snapshot');
    await settled();
    const changes = (await presenceEvents(after)).map((e: any) => [e.data.extension, e.data.presence]);
    expect(changes).toEqual(expect.arrayContaining([['1003', 'offline'], ['1000', 'online']]));
    expect(changes).toHaveLength(2);

    // A restart: presence comes back from the database and the snapshot; nothing changed, nothing is published.
    const before = (await api(stack, '/employees')).body.items.map((e: any) => [e.extension, e.presence, e.since]);
    const cursor = await cursorNow();
    await stack.restart();
    await waitFor(() => stack.app.presence.stats.snapshots > 0, 'snapshot after restart');
    await new Promise((r) => setTimeout(r, OFFLINE_DELAY_MS * 2));
    await stack.app.presence.idle();
    expect((await api(stack, '/employees')).body.items.map((e: any) => [e.extension, e.presence, e.since])).toEqual(before);
    expect(await presenceEvents(cursor)).toEqual([]);
  });
});
