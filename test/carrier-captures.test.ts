/**
 * Captures 09–17 (a PBX with a carrier, DIDs, stereo recording of every call): the real bytes through the
 * simulator's socket, the journal and the event stream read back over HTTP, checked against FreeSWITCH's own
 * CDR (each leg's CHANNEL_HANGUP_COMPLETE variables) and the `.truth.json` of each scenario.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { header } from '../src/esl/event';
import { FIXTURES_DIR, loadFixtureEvents } from '../src/esl/fixtures';
import { ADMIN_TOKEN, api, DB_KINDS, playAndSettle, SseClient, Stack, startStack, waitFor } from './helpers';

interface Cdr {
  start: number;
  answer?: number;
  end: number;
  /** Talk time, s (variable_billusec). */
  billsec: number;
  cause: string;
}

/** FreeSWITCH's CDR of a leg: its CHANNEL_HANGUP_COMPLETE variables, times in ms. */
function cdr(capture: string, uuid: string): Cdr {
  const ev = loadFixtureEvents(capture).find((e) => e.event.name === 'CHANNEL_HANGUP_COMPLETE' && header(e.event, 'Unique-ID') === uuid)!.event;
  const ms = (k: string) => Math.floor(Number(header(ev, k)) / 1000);
  return {
    start: ms('variable_start_uepoch'),
    answer: header(ev, 'variable_answer_uepoch') !== '0' ? ms('variable_answer_uepoch') : undefined,
    end: ms('variable_end_uepoch'),
    billsec: Number(header(ev, 'variable_billusec')) / 1e6,
    cause: header(ev, 'variable_hangup_cause')!,
  };
}

function truth(capture: string): any {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, `${capture}.truth.json`), 'utf8'));
}

const t = (iso: string | null) => (iso ? Date.parse(iso) : undefined);

describe.each(DB_KINDS)('captures 09–17 against FreeSWITCH\'s CDR (%s)', (kind) => {
  let stack: Stack;
  let sse: SseClient;
  beforeAll(async () => {
    stack = await startStack(kind);
    sse = await SseClient.open(`${stack.base}/events/stream`, { Authorization: `Bearer ${ADMIN_TOKEN}` });
  });
  afterAll(async () => {
    sse?.close();
    await stack?.stop();
  });

  async function call(id: string) {
    const r = await api(stack, `/calls/${id}`);
    expect(r.status).toBe(200);
    return r.body;
  }
  const eventsOf = (id: string) => sse.events.filter((e) => e.data.callId === id).map((e) => e.event);

  test('09 DID call answered: late RECORD_STOP lands, recording length from the recorder, times from the CDR', async () => {
    await playAndSettle(stack, '09_did_inbound_answered');
    const { uuids } = truth('09_did_inbound_answered');
    const a = cdr('09_did_inbound_answered', uuids.pbxA);
    const c = await call(uuids.pbxA);
    expect(c).toMatchObject({
      direction: 'inbound', status: 'answered', callerNumber: '+79161234567', destinationNumber: '74950000000',
      employees: ['1001'], hasRecording: true, hangupCause: 'NORMAL_CLEARING', transferRoute: [],
    });
    expect(Math.abs(t(c.startedAt)! - a.start)).toBeLessThan(50);
    expect(Math.abs(t(c.answeredAt)! - a.answer!)).toBeLessThan(50);
    expect(Math.abs(t(c.endedAt)! - a.end)).toBeLessThan(50);
    expect(Math.abs(c.talkSeconds - a.billsec)).toBeLessThan(0.11);
    expect(c.recordings).toHaveLength(1);
    const rec = c.recordings[0];
    expect(rec.seconds).toBeCloseTo(5.04, 2); // variable_record_ms of the late RECORD_STOP
    expect(rec.stoppedAt).not.toBeNull();
    // The file starts when audio does (stop − record_ms), not at the early RECORD_START while ringing.
    expect(t(rec.startedAt)! - t(c.answeredAt)!).toBeGreaterThanOrEqual(0);
    expect(c.timeline.map((x: any) => x.kind)).toContain('recording_stopped');
    expect(eventsOf(uuids.pbxA)).toEqual(['call.incoming', 'call.ringing', 'call.answered', 'call.ended']);
  });

  test('10, 11, 16: a recording FreeSWITCH discarded (empty-file) is not a recording', async () => {
    for (const [capture, status, cause] of [
      ['10_did_inbound_caller_hung_up_ringing', 'abandoned', 'ORIGINATOR_CANCEL'],
      ['11_did_inbound_busy', 'busy', 'USER_BUSY'],
      ['16_no_answer_timeout', 'missed', 'NO_ANSWER'],
    ]) {
      await playAndSettle(stack, capture);
      const id = truth(capture).uuids.pbxA;
      const c = await call(id);
      expect(c).toMatchObject({ direction: 'inbound', status, hangupCause: cause, hasRecording: false, recordings: [], answeredAt: null });
      expect(c.timeline.map((x: any) => x.kind)).toContain('recording_discarded');
      expect(t(c.endedAt)).toBe(cdr(capture, id).end);
      expect((await api(stack, `/calls/${id}/recordings/0`)).status).toBe(404);
      expect(eventsOf(id)).not.toContain('call.answered');
    }
    const withRec = await api(stack, '/calls?hasRecording=true&limit=100');
    expect(withRec.body.items.map((i: any) => i.id)).toEqual([truth('09_did_inbound_answered').uuids.pbxA]);
  });

  test('12 blind transfer after DID routing: one transfer 1001 → 1002, not the routing bl_xfer', async () => {
    await playAndSettle(stack, '12_did_blind_transfer');
    const { uuids } = truth('12_did_blind_transfer');
    const c = await call(uuids.pbxA);
    expect(c).toMatchObject({ status: 'answered', employees: ['1001', '1002'], destinationNumber: '74950000000', hasRecording: true });
    expect(c.transferRoute).toEqual([expect.objectContaining({ type: 'blind', from: expect.objectContaining({ employee: '1001' }), to: { number: '1002' } })]);
    expect(Math.abs(c.talkSeconds - cdr('12_did_blind_transfer', uuids.pbxA).billsec)).toBeLessThan(0.11);
    expect(c.recordings[0].stoppedAt).not.toBeNull();
  });

  test('13 click-to-call: outbound to the customer from the first event, answered when the customer answers, told once', async () => {
    await playAndSettle(stack, '13_click_to_call_to_customer');
    const { uuids } = truth('13_click_to_call_to_customer');
    const carrier = cdr('13_click_to_call_to_customer', uuids.pbxCarrier);
    const c = await call(uuids.pbx1001);
    expect(c).toMatchObject({ direction: 'outbound', status: 'answered', callerNumber: '1001', destinationNumber: '+79161234567', externalNumber: '+79161234567' });
    expect(Math.abs(t(c.answeredAt)! - carrier.answer!)).toBeLessThan(50);
    expect(Math.abs(c.talkSeconds - carrier.billsec)).toBeLessThan(0.11);
    expect(c.timeline[0]).toMatchObject({ kind: 'ringing', destination: '+79161234567', clickToCall: true });
    // The employee's phone rings first, as its own entry: on the employee's leg, named, at the leg's CDR start.
    const employeeRinging = c.timeline.filter((x: any) => x.leg === uuids.pbx1001 && (x.kind === 'ringing' || x.kind === 'leg_ringing'));
    expect(employeeRinging).toEqual([c.timeline[0]]);
    expect(employeeRinging[0].party).toMatchObject({ leg: uuids.pbx1001, employee: '1001' });
    expect(Math.abs(t(employeeRinging[0].at)! - cdr('13_click_to_call_to_customer', uuids.pbx1001).start)).toBeLessThan(50);
    const employeePickedUp = c.timeline.find((x: any) => x.kind === 'answered' && x.leg === uuids.pbx1001);
    expect(t(employeePickedUp.at)).toBeLessThan(t(c.answeredAt)!);
    // The customer's ringing is another entry, after the employee picked up (the dialplan dials then).
    const customerRinging = c.timeline.filter((x: any) => x.leg === uuids.pbxCarrier && x.kind === 'leg_ringing');
    expect(customerRinging).toHaveLength(1);
    expect(t(customerRinging[0].at)).toBeGreaterThanOrEqual(t(employeePickedUp.at)!);
    expect(eventsOf(uuids.pbx1001)).toEqual(['call.ringing', 'call.answered', 'call.ended']);
    const first = sse.events.find((e) => e.data.callId === uuids.pbx1001)!;
    expect(first.data.data).toMatchObject({ direction: 'outbound', number: '+79161234567' });
    expect(c.recordings[0]).toMatchObject({ seconds: 6.52 });
  });

  test('14 hold: the held leg and nobody as holder; the recording is shorter than the talk', async () => {
    await playAndSettle(stack, '14_hold_unhold');
    const { uuids } = truth('14_hold_unhold');
    const c = await call(uuids.pbxA);
    const held = c.timeline.find((x: any) => x.kind === 'held');
    expect(held).toMatchObject({ held: { leg: uuids.pbxA, number: '+79161234567' }, by: null });
    expect(c.timeline.find((x: any) => x.kind === 'resumed')).toBeDefined();
    expect(c.recordings[0].seconds).toBeLessThan(c.talkSeconds - 2); // nothing is written while held
  });

  test('15 desk phone dials a national number: outbound from the first event, told once', async () => {
    await playAndSettle(stack, '15_outbound_from_desk_phone');
    const { uuids } = truth('15_outbound_from_desk_phone');
    const r = await api(stack, '/calls?direction=outbound&employee=1002');
    expect(r.body.items).toHaveLength(1);
    const c = await call(r.body.items[0].id);
    const carrier = cdr('15_outbound_from_desk_phone', uuids.pbxCarrier);
    expect(c).toMatchObject({ status: 'answered', callerNumber: '1002', destinationNumber: '89161234567', externalNumber: '89161234567' });
    expect(Math.abs(t(c.answeredAt)! - carrier.answer!)).toBeLessThan(50);
    expect(eventsOf(c.id)).toEqual(['call.ringing', 'call.answered', 'call.ended']);
    expect(sse.events.find((e) => e.data.callId === c.id)!.data.data).toMatchObject({ direction: 'outbound', number: '89161234567' });
  });

  test('17 click-to-call failures: busy, unregistered and unknown employees keep the number; the extension call is answered', async () => {
    await playAndSettle(stack, '17_click_to_call_failures');
    const tr = truth('17_click_to_call_failures');
    const idOf = (k: string) => JSON.parse(tr[k].replace(/ HTTP\d+$/, '')).callId;
    const busy = await call(idOf('postBusy'));
    expect(busy).toMatchObject({ direction: 'outbound', status: 'busy', hangupCause: 'USER_BUSY', employees: ['1002'], destinationNumber: '+79161234567', externalNumber: '+79161234567', originJob: idOf('postBusy') });
    const unreg = await call(idOf('postUnreg'));
    expect(unreg).toMatchObject({ direction: 'outbound', status: 'failed', hangupCause: 'USER_NOT_REGISTERED', employees: ['1010'], externalNumber: '+79161234567' });
    const noUser = await call(idOf('postNoUser'));
    expect(noUser).toMatchObject({ direction: 'outbound', status: 'failed', hangupCause: 'SUBSCRIBER_ABSENT', employees: ['1999'] });
    const ext = await call(idOf('postExt'));
    expect(ext).toMatchObject({ direction: 'internal', status: 'answered', callerNumber: '1001', destinationNumber: '1003', employees: ['1001', '1003'] });
    expect(eventsOf(idOf('postBusy'))).toEqual(['call.ringing', 'call.ended']);
    expect(sse.events.find((e) => e.data.callId === idOf('postBusy'))!.data.data).toMatchObject({ direction: 'outbound', number: '+79161234567' });
  });

  test('every call of 09–17 ends with startedAt ≤ answeredAt ≤ endedAt and is closed', async () => {
    const r = await api(stack, '/calls?limit=100');
    expect(r.body.items.length).toBe(12); // 09–16, and 17's four click-to-calls
    for (const i of r.body.items) {
      expect(['ringing', 'active']).not.toContain(i.status);
      const s = t(i.startedAt)!;
      const e = t(i.endedAt)!;
      expect(e).toBeGreaterThanOrEqual(s);
      if (i.answeredAt) expect(t(i.answeredAt)!).toBeGreaterThanOrEqual(s);
      if (i.answeredAt) expect(e).toBeGreaterThanOrEqual(t(i.answeredAt)!);
    }
  });
});

describe('discarded recordings and transcription (sqlite)', () => {
  // Transcription on (an engine nobody answers: only whether a job exists matters here).
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('sqlite', {
      env: { TRANSCRIPTION_ENGINE: 'openai', TRANSCRIPTION_URL: 'http://127.0.0.1:9/v1' },
      start: { transcription: { baseDelayMs: 60_000, scanEveryMs: 100, maxAttempts: 1 } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('10, 11, 16: no transcription job for a recording FreeSWITCH discarded; 09\'s kept recording gets one', async () => {
    const discarded = ['10_did_inbound_caller_hung_up_ringing', '11_did_inbound_busy', '16_no_answer_timeout'];
    for (const capture of discarded) await playAndSettle(stack, capture);
    // 09 last: once its job exists, the transcriber has looked at every call committed before it.
    await playAndSettle(stack, '09_did_inbound_answered');
    const kept = truth('09_did_inbound_answered').uuids.pbxA;
    let transcript: any;
    await waitFor(async () => (transcript = (await api(stack, `/calls/${kept}/transcript`)).body).items.length === 1, 'the job of 09\'s recording');
    expect(transcript.status).not.toBe('none');
    for (const capture of discarded) {
      const id = truth(capture).uuids.pbxA;
      expect((await api(stack, `/calls/${id}/transcript`)).body).toMatchObject({ callId: id, status: 'none', items: [] });
      // Nor on demand: there is no recording to transcribe.
      const rerun = await api(stack, `/calls/${id}/transcript`, { method: 'POST' });
      expect(rerun.status).toBe(409);
      expect(rerun.body.error.code).toBe('no_recording');
    }
  });
});
