/**
 * Numbers are found however people write them: real captures (a desk phone dialling the national
 * format, a carrier caller in E.164, a dialplan that strips the +) searched over real HTTP in every
 * human notation, on SQLite and PostgreSQL; customer history and the directory by the same numbers; and
 * a journal written before the E.164 forms existed, rewritten by the start-up backfill.
 */
import { NumberBackfill } from '../src/journal/number-backfill';
import { api, DB_KINDS, playAndSettle, Stack, startStack } from './helpers';

/** 15: phone 1002 dials 89161234567 (carrier leg sofia/external/89161234567). */
const DESK_NATIONAL = '74a91a2f-924d-42be-ac18-560a8cec2049';
/** 09: +79161234567 calls DID 74950000000. */
const DID_INBOUND = '0d9a032a-f54b-494d-870b-f513566b0ed8';
/** 13: click-to-call to +79161234567; the dialplan strips the + (carrier leg sofia/external/79161234567). */
const CLICK = '95d02914-ee15-4ee2-9ba7-0f9c63141020';

const FORMS = ['+79161234567', '79161234567', '89161234567', '8 (916) 123-45-67', '+7 916 123-45-67', '916 123-45-67', '9161234567', '1234567', '4567'];
/** Another caller's number, in its notations. */
const OTHERS = ['+79167654321', '79167654321', '89167654321', '916 765-43-21', '7654321'];
/** Numbers nobody called from. */
const NOBODY = ['+74951234567', '89031234567', '+7 916 123-45-68'];

describe.each(DB_KINDS)('number search in every notation (%s)', (kind) => {
  let stack: Stack;
  /** Every call with +79161234567, each reported in another notation. */
  let SAME_NUMBER: string[];
  /** A call from +79167654321. */
  let other: string;
  const all = async () => (await api(stack, '/calls?limit=500')).body.items.map((i: any) => i.id).sort() as string[];
  beforeAll(async () => {
    stack = await startStack(kind);
    for (const s of ['15_outbound_from_desk_phone', '09_did_inbound_answered', '13_click_to_call_to_customer']) await playAndSettle(stack, s);
    // A carrier that sends the caller id without its + (a capture made an outside call).
    await playAndSettle(stack, '02_inbound_call_bridge', { rewrite: true, outside: { extension: '1000', number: '79161234567' } });
    SAME_NUMBER = await all();
    await playAndSettle(stack, '02_inbound_call_bridge', { rewrite: true, outside: { extension: '1000', number: '+79167654321' } });
    [other] = (await all()).filter((id) => !SAME_NUMBER.includes(id));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const ids = async (qs: string) => {
    const r = await api(stack, `/calls?limit=500&${qs}`);
    expect(r.status).toBe(200);
    return r.body.items.map((i: any) => i.id).sort();
  };

  test('the journal keeps the numbers as FreeSWITCH reported them', async () => {
    expect(SAME_NUMBER).toHaveLength(4);
    expect(SAME_NUMBER).toEqual(expect.arrayContaining([DESK_NATIONAL, DID_INBOUND, CLICK]));
    expect((await api(stack, `/calls/${DESK_NATIONAL}`)).body).toMatchObject({ direction: 'outbound', externalNumber: '89161234567', callerNumber: '1002' });
    expect((await api(stack, `/calls/${DID_INBOUND}`)).body).toMatchObject({ direction: 'inbound', externalNumber: '+79161234567' });
    expect((await api(stack, `/calls/${CLICK}`)).body.externalNumber).toMatch(/^\+?79161234567$/);
    const bare = SAME_NUMBER.find((id) => ![DESK_NATIONAL, DID_INBOUND, CLICK].includes(id));
    expect((await api(stack, `/calls/${bare}`)).body).toMatchObject({ direction: 'inbound', externalNumber: '79161234567' });
    expect((await api(stack, `/calls/${other}`)).body).toMatchObject({ direction: 'inbound', externalNumber: '+79167654321' });
  });

  test.each(FORMS)('number=%s finds the call in each notation', async (form) => {
    expect(await ids(`number=${encodeURIComponent(form)}`)).toEqual(SAME_NUMBER);
  });

  test.each(FORMS)('q=%s finds the call in each notation', async (form) => {
    expect(await ids(`q=${encodeURIComponent(form)}`)).toEqual(SAME_NUMBER);
  });

  test.each(OTHERS)('a different number (%s) finds only its own call', async (form) => {
    expect(await ids(`number=${encodeURIComponent(form)}`)).toEqual([other]);
    expect(await ids(`q=${encodeURIComponent(form)}`)).toEqual([other]);
  });

  test.each(NOBODY)('a number nobody called from (%s) finds nothing', async (form) => {
    expect(await ids(`number=${encodeURIComponent(form)}`)).toEqual([]);
    expect(await ids(`q=${encodeURIComponent(form)}`)).toEqual([]);
  });

  test('the DID and extensions are found as before; national partial digits too', async () => {
    expect(await ids('number=74950000000')).toEqual([DID_INBOUND]);
    expect(await ids(`number=${encodeURIComponent('8 (495) 000-00-00')}`)).toEqual([DID_INBOUND]);
    expect(await ids('number=1002')).toEqual([DESK_NATIONAL]);
    // Partial digits typed with separators are digits for the number filter and for q alike.
    expect(await ids(`number=${encodeURIComponent('123-45-67')}`)).toEqual(SAME_NUMBER);
    expect(await ids(`q=${encodeURIComponent('123-45-67')}`)).toEqual(SAME_NUMBER);
    expect(await ids('number=8916123')).toEqual(SAME_NUMBER);
    expect(await ids(`number=${encodeURIComponent('+7 916 12')}`)).toEqual(SAME_NUMBER);
  });

  test('digits typed in q are a number, never a piece of a call id; a call-id fragment with letters finds its call', async () => {
    // DESK_NATIONAL's uuid ends in "2049", a number no call has: digits must not match inside the uuid
    // (a random uuid with "4567" in it once put a stranger's call among the +79161234567 calls).
    expect(DESK_NATIONAL.endsWith('2049')).toBe(true);
    expect(await ids('q=2049')).toEqual([]);
    expect(await ids(`q=${encodeURIComponent('20-49')}`)).toEqual([]);
    expect(await ids('q=8cec2049')).toEqual([DESK_NATIONAL]);
    expect(await ids(`q=${DESK_NATIONAL}`)).toEqual([DESK_NATIONAL]);
    expect(await ids(`q=${DESK_NATIONAL.toUpperCase()}`)).toEqual([DESK_NATIONAL]);
    // The extension of the desk phone is digits, and it is in the search text after the id.
    expect(await ids('q=1002')).toEqual([DESK_NATIONAL]);
  });

  test('a customer created from one notation gets every call of the number in its history; lookup agrees', async () => {
    const created = await api(stack, '/customers', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'ООО Номер', number: '8 (916) 123-45-67' }),
    });
    expect(created.status).toBe(201);
    expect(created.body.linkedCalls).toBe(4);
    const id = created.body.customer.id;
    const history = (await api(stack, `/customers/${id}/history`)).body.items.map((i: any) => i.id).sort();
    expect(history).toEqual(SAME_NUMBER);
    for (const form of ['+79161234567', '79161234567', '89161234567', '916 123-45-67']) {
      expect((await api(stack, `/directory/lookup?number=${encodeURIComponent(form)}`)).body).toMatchObject({ kind: 'customer', customer: { id } });
    }
    // The linked name joins the free text; numbers are still found.
    expect(await ids(`q=${encodeURIComponent('ооо номер')}`)).toEqual(SAME_NUMBER);
    expect(await ids(`q=${encodeURIComponent('+7 916 123 45 67')}`)).toEqual(SAME_NUMBER);
  });

  test('a journal written before the E.164 forms is rewritten at start and found in every notation', async () => {
    const db = stack.app.db;
    // What the old writer stored: raw numbers only, no E.164 beside them, not yet under any phone rules.
    await db.exec(
      `UPDATE calls SET numbers = TRIM(COALESCE(external_number, '') || ' ' || COALESCE(caller_number, '') || ' ' || COALESCE(destination_number, '')),
         search = LOWER(id || ' ' || COALESCE(external_number, '') || ' ' || COALESCE(caller_number, '') || ' ' || COALESCE(destination_number, '') || ' ' || status),
         external_e164 = NULL, caller_e164 = NULL, destination_e164 = NULL, numbers_norm = NULL`,
    );
    // Before the backfill the desk phone's national-format call is invisible to the E.164 form.
    expect(await ids('number=%2B79161234567')).toEqual(SAME_NUMBER.filter((id) => id !== DESK_NATIONAL));
    await stack.restart();
    await stack.app.numberBackfill.run();
    for (const form of FORMS) expect(await ids(`number=${encodeURIComponent(form)}`)).toEqual(SAME_NUMBER);
    for (const form of FORMS) expect(await ids(`q=${encodeURIComponent(form)}`)).toEqual(SAME_NUMBER);
    expect(await ids('number=89167654321')).toEqual([other]);
    const rows = await stack.app.db.query<{ id: string; external_e164: string | null; numbers_norm: string | null }>(
      'SELECT id, external_e164, numbers_norm FROM calls',
    );
    expect(rows).toHaveLength(5);
    for (const r of rows) expect(r).toMatchObject({ external_e164: r.id === other ? '+79167654321' : '+79161234567', numbers_norm: '1:RU' });
    // Nothing left to do: the next start reads one row.
    expect(await new NumberBackfill(stack.app.db, 'RU').run()).toBe(0);
  });

  test('another TELEFONIST_PHONE_REGION rewrites the journal under its rules', async () => {
    await stack.app.calls.writer.idle();
    expect(await new NumberBackfill(stack.app.db, 'KZ').run()).toBe(5);
    const rows = await stack.app.db.query<{ numbers_norm: string }>('SELECT numbers_norm FROM calls');
    expect(new Set(rows.map((r) => r.numbers_norm))).toEqual(new Set(['1:KZ']));
    await stack.restart();
    expect(await stack.app.numberBackfill.run()).toBe(5);
    const back = await stack.app.db.query<{ numbers_norm: string }>('SELECT numbers_norm FROM calls');
    expect(new Set(back.map((r) => r.numbers_norm))).toEqual(new Set(['1:RU']));
    expect(await ids('number=89161234567')).toEqual(SAME_NUMBER);
  });
});
