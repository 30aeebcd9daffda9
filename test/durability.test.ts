/**
 * Idempotency and durability: duplicate replays, a restart of the server, a reconnect with calls that
 * started and ended while Telefonist was not listening.
 */
import { api, DB_KINDS, playAndSettle, settle, Stack, startStack, waitFor } from './helpers';
import { loadFixtureEvents } from '../src/esl/fixtures';

async function snapshot(stack: Stack) {
  const list = await api(stack, '/calls?limit=500&sort=startedAt');
  const details = [];
  for (const c of list.body.items) details.push((await api(stack, `/calls/${c.id}`)).body);
  return details;
}

describe.each(DB_KINDS)('journal durability (%s)', (kind) => {
  let stack: Stack;
  beforeEach(async () => {
    stack = await startStack(kind);
  });
  afterEach(async () => {
    await stack?.stop();
  });

  test('replaying the same events again creates no duplicates', async () => {
    await playAndSettle(stack, '04_blind_transfer');
    await playAndSettle(stack, '05_attended_transfer');
    const first = await snapshot(stack);
    await playAndSettle(stack, '04_blind_transfer');
    await playAndSettle(stack, '05_attended_transfer');
    expect(await snapshot(stack)).toEqual(first);
    expect(first).toHaveLength(2);
  });

  test('a restarted server (fresh memory, same database) replaying old events changes nothing', async () => {
    await playAndSettle(stack, '06_eavesdrop');
    await playAndSettle(stack, '05_attended_transfer');
    const before = await snapshot(stack);
    await stack.restart();
    await playAndSettle(stack, '06_eavesdrop');
    await playAndSettle(stack, '05_attended_transfer');
    expect(await snapshot(stack)).toEqual(before);
  });

  test('a restart in the middle of a call: the call continues from the journal and ends once', async () => {
    const events = loadFixtureEvents('04_blind_transfer');
    // Up to the blind transfer being announced (leg 1001 already hung up), then the server restarts.
    const cut = events.findIndex((e) => e.event.name === 'CHANNEL_UNBRIDGE') + 1;
    await stack.sim.play(events.slice(0, cut));
    await settle(stack);
    const live = await api(stack, '/calls/6d9e0497-77e5-45c7-9888-201957ac2312');
    expect(live.body.status).toBe('active');
    await stack.restart();
    await stack.sim.play(events.slice(cut));
    await settle(stack);
    const c = (await api(stack, '/calls/6d9e0497-77e5-45c7-9888-201957ac2312')).body;
    expect(c.status).toBe('answered');
    expect(c.transferRoute).toEqual([expect.objectContaining({ type: 'blind', from: expect.objectContaining({ employee: '1001' }) })]);
    expect(c.employees).toEqual(['1000', '1001', '1002']);
    expect(c.timeline.filter((t: any) => t.kind === 'ended')).toHaveLength(1);
    const all = await api(stack, '/calls');
    expect(all.body.items).toHaveLength(1);
  });

  test('reconnect: a call that ended and one that started while disconnected are resynced, not lost or doubled', async () => {
    const a = loadFixtureEvents('02_inbound_call_bridge');
    const bridged = a.findIndex((e) => e.event.name === 'CHANNEL_BRIDGE') + 1;
    await stack.sim.play(a.slice(0, bridged));
    await settle(stack);
    expect((await api(stack, '/calls/0eb295fd-0f4b-4701-8c3d-fc437f4ad7c4')).body.status).toBe('active');

    const resyncs = stack.app.calls.stats.resyncs;
    stack.sim.dropClients();
    await waitFor(() => stack.app.calls.esl.state !== 'ready', 'disconnect');
    // While nobody listens: call A ends, call B (07) starts and is bridged.
    await stack.sim.play(a.slice(bridged));
    const b = loadFixtureEvents('07_stereo_recording');
    await stack.sim.play(b.slice(0, b.findIndex((e) => e.event.name === 'CHANNEL_BRIDGE') + 1));
    await waitFor(() => stack.app.calls.stats.resyncs > resyncs, 'resync after reconnect', 15_000);
    await stack.app.calls.writer.idle();

    const callA = (await api(stack, '/calls/0eb295fd-0f4b-4701-8c3d-fc437f4ad7c4')).body;
    expect(callA.status).toBe('answered');
    expect(callA.endedAt).not.toBeNull();
    expect(callA.legs.every((l: any) => l.hangupCause === 'LOST_DURING_DISCONNECT')).toBe(true);
    const callB = (await api(stack, '/calls/d8ea1442-a514-43f2-b408-3f9af36de73f')).body;
    expect(callB).toMatchObject({ status: 'active', employees: ['1000', '1001'] });
    expect(callB.legs).toHaveLength(2);

    // The rest of call B arrives live; a second resync (another reconnect) duplicates nothing.
    await stack.sim.play(b.slice(b.findIndex((e) => e.event.name === 'CHANNEL_BRIDGE') + 1));
    await settle(stack);
    stack.sim.dropClients();
    await waitFor(() => stack.app.calls.stats.resyncs > resyncs + 1, 'second resync', 15_000);
    await stack.app.calls.writer.idle();
    const done = (await api(stack, '/calls/d8ea1442-a514-43f2-b408-3f9af36de73f')).body;
    expect(done.status).toBe('answered');
    expect(done.hasRecording).toBe(true);
    const all = await api(stack, '/calls');
    expect(all.body.items.map((i: any) => i.id).sort()).toEqual(['0eb295fd-0f4b-4701-8c3d-fc437f4ad7c4', 'd8ea1442-a514-43f2-b408-3f9af36de73f']);
  });
});
