/**
 * Call control, the audit's second pass (issue 11) over real HTTP against the FreeSWITCH simulator: a silent
 * FreeSWITCH answers 504 `freeswitch_timeout` (never 502, never a hang); a blind transfer stays pending
 * until the new leg answers and ends `failed` with FreeSWITCH's cause (busy: capture 11's events); final
 * transfer / supervision states are published after the call has closed; click-to-call is audited (who
 * asked) on the call's timeline and as `call.action`.
 */
import { api, settle, Stack, startStack, waitFor } from './helpers';
import { loadFixtureEvents } from '../src/esl/fixtures';

const CAPTURE = '09_did_inbound_answered';
const events09 = loadFixtureEvents(CAPTURE);
/** 09 up to the bridge: the customer talks to 1001. */
const TALKING = events09.findIndex((e) => e.event.name === 'CHANNEL_BRIDGE') + 1;
const json = (body: unknown, method = 'POST') => ({ method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

interface Live { callId: string; customer: string; agent: string }

/** A customer call to DID → 1001, live in the simulator and the journal. */
async function liveCall(stack: Stack, limit = TALKING): Promise<Live> {
  const before = new Set(stack.sim.actions.legsOf('1001').map((l) => l.uuid));
  await stack.sim.play(CAPTURE, { rewrite: true, limit });
  await settle(stack);
  const agent = stack.sim.actions.legsOf('1001').find((l) => !before.has(l.uuid))!;
  const customer = agent.originator!;
  await waitFor(async () => (await api(stack, `/calls/${customer}`)).status === 200, 'call in the journal');
  return { callId: customer, customer, agent: agent.uuid };
}
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
