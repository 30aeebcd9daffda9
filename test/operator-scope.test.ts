/**
 * Tokens bound to an employee: an operator sees only the calls and events of their own extension and
 * dials only from it; supervisors and 1C see everything. Real HTTP over calls replayed on the socket.
 */
import { api, playAndSettle, registerPhones, SseClient, Stack, startStack, waitFor } from './helpers';

const json = (body: unknown) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('operator scope (sqlite)', () => {
  let stack: Stack;
  let op1001: string;
  let op1003: string;
  let supervisor: string;
  beforeAll(async () => {
    stack = await startStack('sqlite');
    op1001 = (await api(stack, '/tokens', json({ name: 'Оператор 1001', role: 'operator', employee: '1001' }))).body.token;
    op1003 = (await api(stack, '/tokens', json({ name: 'Оператор 1003', role: 'operator', employee: '1003' }))).body.token;
    supervisor = (await api(stack, '/tokens', json({ name: 'Старший смены', role: 'supervisor' }))).body.token;
    await playAndSettle(stack, '02_inbound_call_bridge', { rewrite: true, outside: { extension: '1000', number: '84951234567' } }); // to 1001
    await playAndSettle(stack, '08_errors', { rewrite: true }); // originates to other phones
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('the journal: an operator lists and opens only calls they took part in', async () => {
    const all = (await api(stack, '/calls?limit=500', { token: supervisor })).body.items;
    const mine = (await api(stack, '/calls?limit=500', { token: op1001 })).body.items;
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.length).toBeLessThan(all.length);
    for (const c of mine) expect(c.employees).toContain('1001');
    const other = all.find((c: any) => !c.employees.includes('1001'));
    expect(other).toBeDefined();
    const denied = await api(stack, `/calls/${other.id}`, { token: op1001 });
    expect(denied.status).toBe(403);
    expect((await api(stack, `/calls/${mine[0].id}`, { token: op1001 })).status).toBe(200);
    const asked = await api(stack, '/calls?employee=1002', { token: op1001 });
    expect(asked.status).toBe(403);
    expect(asked.body.error.field).toBe('employee');
    expect((await api(stack, '/calls?employee=1002', { token: supervisor })).status).toBe(200);
  });

  test('events: an operator\'s long-poll and stream carry only their own extension\'s events', async () => {
    const cursor = (await api(stack, '/events?wait=0', { token: supervisor })).body.cursor;
    const sse1003 = await SseClient.open(`${stack.base}/events/stream?access_token=${op1003}`);
    await playAndSettle(stack, '02_inbound_call_bridge', { rewrite: true, outside: { extension: '1000', number: '84951234567' } });
    const forOp = (await api(stack, `/events?after=${cursor}&wait=0`, { token: op1001 })).body.events;
    expect(forOp.map((e: any) => e.type)).toEqual(['call.ringing', 'call.answered', 'call.ended']);
    for (const e of forOp) expect(e.employees).toContain('1001');
    const everything = (await api(stack, `/events?after=${cursor}&wait=0`, { token: supervisor })).body.events;
    expect(everything.length).toBeGreaterThan(forOp.length);
    expect((await api(stack, `/events?after=${cursor}&wait=0&employee=1003`, { token: op1001 })).status).toBe(403);
    await new Promise((r) => setTimeout(r, 200));
    expect(sse1003.events).toEqual([]); // 1003 took no part in this call
    sse1003.close();
  });

  test('click-to-call: an operator dials only from their own phone', async () => {
    await registerPhones(stack, '1001', '1002');
    const before = stack.sim.commands.length;
    const other = await api(stack, '/calls', { token: op1001, ...json({ employee: '1002', number: '84951234567' }) });
    expect(other.status).toBe(403);
    expect(other.body.error.field).toBe('employee');
    expect(stack.sim.commands.length).toBe(before);
    const own = await api(stack, '/calls', { token: op1001, ...json({ employee: '1001', number: '84951234567' }) });
    expect(own.status).toBe(202);
    await waitFor(async () => (await api(stack, `/calls/${own.body.callId}`, { token: op1001 })).status === 200, 'own click-to-call visible');
  });
});
