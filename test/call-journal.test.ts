/**
 * Every captured FreeSWITCH scenario, as real bytes through a real socket into the server, read back over
 * real HTTP from the journal, on SQLite and on PostgreSQL.
 */
import { api, DB_KINDS, playAndSettle, Stack, startStack } from './helpers';

function kinds(call: any): string[] {
  return call.timeline.map((t: any) => t.kind);
}

describe.each(DB_KINDS)('call journal from captured calls (%s)', (kind) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(kind);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function only(id: string) {
    const r = await api(stack, `/calls/${id}`);
    expect(r.status).toBe(200);
    return r.body;
  }

  test('02 inbound call bridged to an extension: one answered call with its timeline', async () => {
    await playAndSettle(stack, '02_inbound_call_bridge');
    const c = await only('0eb295fd-0f4b-4701-8c3d-fc437f4ad7c4');
    expect(c).toMatchObject({
      direction: 'internal',
      status: 'answered',
      callerNumber: '1000',
      callerName: 'Alice',
      destinationNumber: '1001',
      hangupCause: 'NORMAL_CLEARING',
      employees: ['1000', '1001'],
      hasRecording: false,
    });
    expect(c.ringSeconds).toBeCloseTo(1.6, 0);
    expect(c.talkSeconds).toBeGreaterThan(2);
    expect(c.legs.map((l: any) => [l.direction, l.employee])).toEqual([
      ['inbound', '1000'],
      ['outbound', '1001'],
    ]);
    expect(kinds(c)).toEqual(['ringing', 'leg_ringing', 'answered', 'answered', 'bridged', 'leg_hangup', 'leg_hangup', 'ended']);
    const bridged = c.timeline.find((t: any) => t.kind === 'bridged');
    expect(bridged.a.employee).toBe('1000');
    expect(bridged.b.employee).toBe('1001');
    expect(c.transferRoute).toEqual([]);
  });

  test('03 click-to-call, both variants: two answered calls, each started by its originate job', async () => {
    await playAndSettle(stack, '03_click_to_call');
    const a = await only('d07fab75-8f3a-454c-9e2f-7e4cdf4a58ae');
    const b = await only('92ca2365-aeb9-4cc7-a43e-77932c575a5c');
    expect(a).toMatchObject({ status: 'answered', callerNumber: '1000', destinationNumber: '1001', originJob: '3c51a436-6c84-4aed-84f2-0256bb1d5c39' });
    expect(b).toMatchObject({ status: 'answered', callerNumber: '1000', destinationNumber: '1001', originJob: '89818a78-d728-4895-b8a6-122fb6089cae' });
    // Variant B routes through the dialplan after answer: that is not a transfer by a person.
    expect(b.transferRoute).toEqual([]);
    expect(a.legs).toHaveLength(2);
  });

  test('04 blind transfer: one call, route 1001 → 1002 (blind), three employees', async () => {
    await playAndSettle(stack, '04_blind_transfer');
    const c = await only('6d9e0497-77e5-45c7-9888-201957ac2312');
    expect(c.status).toBe('answered');
    expect(c.employees).toEqual(['1000', '1001', '1002']);
    expect(c.transferRoute).toHaveLength(1);
    expect(c.transferRoute[0]).toMatchObject({ type: 'blind', from: { employee: '1001' }, to: { number: '1002' } });
    const k = kinds(c);
    expect(k.indexOf('transfer')).toBeLessThan(k.lastIndexOf('bridged'));
    expect(c.legs).toHaveLength(3);
  });

  test('05 attended transfer via hold + uuid_bridge: the consult call joins the customer call', async () => {
    await playAndSettle(stack, '05_attended_transfer');
    const c = await only('0e39dc36-5cf7-471d-af4f-3a897a8211f6');
    expect(c.status).toBe('answered');
    expect(c.transferRoute).toHaveLength(1);
    expect(c.transferRoute[0]).toMatchObject({ type: 'attended', from: { employee: '1001' }, to: { employee: '1002' } });
    expect(kinds(c)).toEqual(expect.arrayContaining(['held', 'resumed']));
    expect(c.timeline.find((t: any) => t.kind === 'held').by.employee).toBe('1001');
    expect(c.legs.map((l: any) => l.employee)).toEqual(['1000', '1001', '1002']);
    // The consult leg's own call id now leads to the customer's call; the journal has no separate entry.
    const consult = await only('f647dd6e-a2b2-4a41-99b5-13068d9b349c');
    expect(consult.id).toBe(c.id);
    expect(consult.requestedId).toBe('f647dd6e-a2b2-4a41-99b5-13068d9b349c');
    const list = await api(stack, '/calls?employee=1002&limit=500');
    expect(list.body.items.map((i: any) => i.id)).not.toContain('f647dd6e-a2b2-4a41-99b5-13068d9b349c');
  });

  test('05b att_xfer: consultation, then attended transfer 1001 → 1002 in one call', async () => {
    await playAndSettle(stack, '05b_att_xfer_app');
    const c = await only('0b7a9a4b-3479-49fe-b196-4646dc372aaf');
    expect(c.status).toBe('answered');
    expect(kinds(c).filter((k: string) => k === 'consultation').length).toBeGreaterThanOrEqual(1);
    expect(c.transferRoute).toEqual([expect.objectContaining({ type: 'attended', from: expect.objectContaining({ employee: '1001' }), to: expect.objectContaining({ employee: '1002' }) })]);
    expect(c.employees).toEqual(['1000', '1001', '1002']);
  });

  test('06 eavesdrop with DTMF mode changes and three_way: supervisors on the same call', async () => {
    await playAndSettle(stack, '06_eavesdrop');
    const c = await only('19616c02-9bde-43b5-83cc-79e406b66cc4');
    const started = c.timeline.filter((t: any) => t.kind === 'eavesdrop_started');
    expect(started.map((t: any) => [t.supervisor.employee, t.mode])).toEqual([
      ['1002', 'listen'],
      ['1003', 'barge'],
    ]);
    const modes = c.timeline.filter((t: any) => t.kind === 'eavesdrop_mode').map((t: any) => t.mode);
    expect(modes).toEqual(['whisper', 'barge', 'whisper_other', 'listen']); // DTMF 2, 3, 1, 0
    expect(kinds(c).filter((k: string) => k === 'eavesdrop_stopped')).toHaveLength(2);
    expect(c.employeeDetails).toEqual(
      expect.arrayContaining([
        { extension: '1002', role: 'supervisor', answered: true },
        { extension: '1003', role: 'supervisor', answered: true },
      ]),
    );
    expect(c.legs.filter((l: any) => l.role === 'supervisor')).toHaveLength(2);
    expect(c.status).toBe('answered');
  });

  test('07 stereo recording: attached to the call with its path and length', async () => {
    await playAndSettle(stack, '07_stereo_recording');
    const c = await only('d8ea1442-a514-43f2-b408-3f9af36de73f');
    expect(c.hasRecording).toBe(true);
    expect(c.recordings).toEqual([
      expect.objectContaining({ path: '/var/lib/freeswitch/recordings/07_stereo.wav', stereo: true, seconds: 3 }),
    ]);
    expect(kinds(c)).toEqual(expect.arrayContaining(['recording_started', 'recording_stopped']));
    const withRec = await api(stack, '/calls?hasRecording=true');
    expect(withRec.body.items.map((i: any) => i.id)).toEqual(['d8ea1442-a514-43f2-b408-3f9af36de73f']);
  });

  test('08 failed and busy originates', async () => {
    await playAndSettle(stack, '08_errors');
    const failed = await only('7b3882a3-d7a9-474e-b30f-32c0e3d461b7');
    expect(failed).toMatchObject({ status: 'failed', hangupCause: 'SUBSCRIBER_ABSENT', destinationNumber: '9999' });
    expect(kinds(failed)).toEqual(['originate_failed']);
    const busy = await only('ee9364c9-9b27-4629-a678-ea8ec866d527');
    expect(busy).toMatchObject({ status: 'busy', hangupCause: 'USER_BUSY', originJob: '267e9728-eda0-4308-815c-986a86cebec6' });
    const r = await api(stack, '/calls?status=busy,failed');
    expect(r.body.items.map((i: any) => i.id).sort()).toEqual(['7b3882a3-d7a9-474e-b30f-32c0e3d461b7', 'ee9364c9-9b27-4629-a678-ea8ec866d527']);
  });

  test('the journal holds exactly one entry per conversation', async () => {
    const r = await api(stack, '/calls?limit=500');
    expect(r.status).toBe(200);
    // 02, 03 ×2, 04, 05, 05b, 06, 07, 08 ×2
    expect(r.body.items).toHaveLength(10);
    expect(r.body.items.every((i: any) => !['ringing', 'active'].includes(i.status))).toBe(true);
  });
});
