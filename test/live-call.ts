/**
 * A customer call live in the simulator for call-control tests: capture 09 (+79161234567 calls DID
 * 74950000000 → phone 1001) replayed under fresh UUIDs and stopped at a chosen event, so the call stays in
 * the state it had there (ringing at 1001, or talking).
 */
import { loadFixtureEvents } from '../src/esl/fixtures';
import { api, settle, Stack, waitFor } from './helpers';

export const CAPTURE = '09_did_inbound_answered';
const events09 = loadFixtureEvents(CAPTURE);
/** 09 up to the bridge: the customer talks to 1001. */
export const TALKING = events09.findIndex((e) => e.event.name === 'CHANNEL_BRIDGE') + 1;
/** 09 up to 1001 ringing: nobody answered yet. */
export const RINGING = events09.findIndex((e) => e.event.name === 'CHANNEL_ANSWER');

export interface Live { callId: string; customer: string; agent: string }

/** A customer call to DID → 1001, live in the simulator and the journal (the call id is the customer leg's uuid). */
export async function liveCall(stack: Stack, limit = TALKING): Promise<Live> {
  const before = new Set(stack.sim.actions.legsOf('1001').map((l) => l.uuid));
  await stack.sim.play(CAPTURE, { rewrite: true, limit });
  await settle(stack);
  const agent = stack.sim.actions.legsOf('1001').find((l) => !before.has(l.uuid))!;
  const customer = agent.originator!;
  await waitFor(async () => (await api(stack, `/calls/${customer}`)).status === 200, 'call in the journal');
  return { callId: customer, customer, agent: agent.uuid };
}
