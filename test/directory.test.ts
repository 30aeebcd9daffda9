/**
 * The customer directory mirror over real HTTP: phone normalisation, bulk sync from 1C, single records,
 * contact persons, lookups and the cache behind them, on SQLite and PostgreSQL.
 */
import { api, DB_KINDS, Stack, startStack } from './helpers';

const post = (stack: Stack, path: string, body: unknown, method = 'POST') =>
  api(stack, path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe.each(DB_KINDS)('customer directory (%s)', (kind) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(kind);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('every common way of writing a number finds the same customer', async () => {
    const r = await post(stack, '/directory/sync', {
      customers: [
        { id: 'a1b2c3d4-0000-0000-0000-000000000001', name: 'ООО «Ромашка»', inn: '7701234567', phones: ['8 (495) 123-45-67', { number: '+7 812 765 43 21 доб. 305' }] },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ upserted: 1, deleted: 0 });
    for (const written of ['8 (495) 123-45-67', '+7 495 1234567', '74951234567', '84951234567', 'Звоните: +7 (495) 123-45-67, спросите Ивана', '+74951234567']) {
      const l = await api(stack, `/directory/lookup?number=${encodeURIComponent(written)}`);
      expect(l.status).toBe(200);
      expect(l.body).toMatchObject({ kind: 'customer', number: '+74951234567', customer: { id: 'a1b2c3d4-0000-0000-0000-000000000001', name: 'ООО «Ромашка»' } });
    }
    const ext = await api(stack, `/directory/lookup?number=${encodeURIComponent('8-812-765-43-21')}`);
    expect(ext.body).toMatchObject({ kind: 'customer', number: '+78127654321' });
    const card = await api(stack, '/customers/a1b2c3d4-0000-0000-0000-000000000001');
    expect(card.status).toBe(200);
    expect(card.body.phones).toEqual([
      { number: '+74951234567', extension: null, kind: 'company', raw: '8 (495) 123-45-67' },
      { number: '+78127654321', extension: '305', kind: 'company', raw: '+7 812 765 43 21 доб. 305' },
    ]);
    const unknown = await api(stack, '/directory/lookup?number=%2B74990000000');
    expect(unknown.body).toEqual({ kind: 'unknown', number: '+74990000000', matches: 0 });
  });

  test('a value that is not a phone number is rejected naming its field, and nothing of the batch is stored', async () => {
    const before = (await api(stack, '/directory/stats')).body;
    const r = await post(stack, '/directory/sync', {
      customers: [
        { id: 'good-1', name: 'Хороший', phones: ['+7 495 111-11-11'] },
        { id: 'bad-1', name: 'Плохой', phones: ['84951112233'], contacts: [{ id: 'bad-1-c', name: 'Иван', phones: ['+7 495 111-22-33', 'позвонить завтра'] }] },
      ],
    });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_phone', field: 'customers[1].contacts[0].phones[1]' });
    expect(r.body.error.message).toMatch(/customers\[1\]\.contacts\[0\]\.phones\[1\]/);
    expect((await api(stack, '/directory/stats')).body).toMatchObject({ customers: before.customers, phones: before.phones });
    expect((await api(stack, '/customers/good-1')).status).toBe(404);

    const cases: Array<[string, unknown, string, string?]> = [
      ['/directory/sync', { customers: [{ id: 'x', name: 'X', phones: ['12'] }] }, 'customers[0].phones[0]', 'invalid_phone'],
      ['/directory/sync', { customers: [{ id: 'x', phones: [] }] }, 'customers[0].name'],
      ['/directory/sync', { customers: [{ id: 'a/b', name: 'X' }] }, 'customers[0].id'],
      ['/directory/sync', { customers: [{ id: 'x', name: 'X', phone: '1' }] }, 'customers[0].phone'],
      ['/directory/sync', { customers: 'all' }, 'customers'],
      ['/directory/sync', { customers: [{ id: 'x', name: 'X' }, { id: 'x', name: 'Y' }] }, 'customers[1].id'],
      ['/directory/sync', { deleted: [42] }, 'deleted[0]'],
      ['/directory/sync/finish', {}, 'run'],
      ['/customers', { name: 'Новый', number: 'не знаю' }, 'number', 'invalid_phone'],
      ['/customers', { name: 'Новый' }, 'number'],
      ['/customers', { number: '+74951112233' }, 'name'],
      ['/customers/a1b2c3d4-0000-0000-0000-000000000001/phones', { number: 'ext 12' }, 'number', 'invalid_phone'],
      ['/customers/a1b2c3d4-0000-0000-0000-000000000001/phones', { number: '+74951112233', contactId: 'nobody' }, 'contactId'],
    ];
    for (const [path, body, field, code] of cases) {
      const res = await post(stack, path, body);
      expect({ path, field, status: res.status }).toEqual({ path, field, status: 400 });
      expect(res.body.error.field).toBe(field);
      if (code) expect(res.body.error.code).toBe(code);
    }
    const put = await post(stack, '/customers/x-1', { name: 'X', phones: ['+7 (495) 12'] }, 'PUT');
    expect(put.status).toBe(400);
    expect(put.body.error).toMatchObject({ code: 'invalid_phone', field: 'phones[0]' });
    const lookup = await api(stack, '/directory/lookup?number=hello');
    expect(lookup.status).toBe(400);
    expect(lookup.body.error).toMatchObject({ code: 'invalid_phone', field: 'number' });
    expect((await api(stack, '/directory/lookup')).body.error.field).toBe('number');
    const notJson = await api(stack, '/directory/sync', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'id;name' });
    expect(notJson.status).toBe(415);
    const operator = await post(stack, '/tokens', { name: 'op', role: 'operator', employee: '1001' });
    const denied = await api(stack, '/directory/sync', { method: 'POST', token: operator.body.token, headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(denied.status).toBe(403);
  });

  test('bulk sync is idempotent, replaces phones and contacts, deletes by reference, and a full run drops what 1C no longer has', async () => {
    const batch = Array.from({ length: 1200 }, (_, i) => ({
      id: `p-${i}`,
      name: `Партнёр ${i}`,
      phones: [`+7 495 2${String(i).padStart(6, '0')}`],
      contacts: i % 10 === 0 ? [{ id: `p-${i}-c`, name: `Контакт ${i}`, position: 'бухгалтер', phones: [`8 916 3${String(i).padStart(6, '0')}`] }] : [],
    }));
    const first = await post(stack, '/directory/sync', { run: 'run-1', customers: batch });
    expect(first.body).toMatchObject({ upserted: 1200 });
    const stats1 = (await api(stack, '/directory/stats')).body;
    const again = await post(stack, '/directory/sync', { run: 'run-1', customers: batch });
    expect(again.status).toBe(200);
    expect((await api(stack, '/directory/stats')).body).toMatchObject({ customers: stats1.customers, contacts: stats1.contacts, phones: stats1.phones });

    const contact = await api(stack, '/directory/lookup?number=89163000010');
    expect(contact.body).toMatchObject({ kind: 'contact', customer: { id: 'p-10', name: 'Партнёр 10' }, contact: { id: 'p-10-c', name: 'Контакт 10' } });

    // 1C changed p-10: new phone, the contact is gone. The old numbers stop identifying it at once.
    const changed = await post(stack, '/directory/sync', { customers: [{ id: 'p-10', name: 'Партнёр 10 (новый)', phones: ['+7 495 999-00-10'] }] });
    expect(changed.status).toBe(200);
    expect((await api(stack, '/directory/lookup?number=89163000010')).body.kind).toBe('unknown');
    expect((await api(stack, '/directory/lookup?number=84952000010')).body.kind).toBe('unknown');
    expect((await api(stack, '/directory/lookup?number=84959990010')).body.customer.name).toBe('Партнёр 10 (новый)');

    const del = await post(stack, '/directory/sync', { deleted: ['p-1', 'p-2', 'no-such'] });
    expect(del.body).toMatchObject({ deleted: 2 });
    expect((await api(stack, '/customers/p-1')).status).toBe(404);
    expect((await api(stack, '/directory/lookup?number=84952000001')).body.kind).toBe('unknown');

    // A full run that sends only the first 100 (minus the deleted): the rest from 1C go, ours stay.
    const ours = await post(stack, '/customers', { name: 'Создан в Телефонисте', number: '+7 (495) 700-00-01' });
    expect(ours.status).toBe(201);
    expect(ours.body.customer.source).toBe('telefonist');
    await post(stack, '/directory/sync', { run: 'run-2', customers: batch.slice(3, 100) });
    const fin = await post(stack, '/directory/sync/finish', { run: 'run-2' });
    expect(fin.status).toBe(200);
    expect(fin.body.deleted).toBeGreaterThanOrEqual(1100);
    expect((await api(stack, '/customers/p-50')).status).toBe(200);
    expect((await api(stack, '/customers/p-500')).status).toBe(404);
    expect((await api(stack, `/customers/${ours.body.customer.id}`)).status).toBe(200);
    expect((await api(stack, '/directory/lookup?number=84957000001')).body.customer.name).toBe('Создан в Телефонисте');
  });

  test('single records: PUT creates then replaces, DELETE removes; numbers bind to a customer or a contact person', async () => {
    const created = await post(stack, '/customers/single-1', { name: 'ИП Петров', phones: ['+7 343 200-00-01'], contacts: [{ id: 'single-1-c', name: 'Пётр Петров' }] }, 'PUT');
    expect(created.status).toBe(201);
    expect((await post(stack, '/customers/single-1', { name: 'ИП Петров П.П.', phones: ['+7 343 200-00-01'], contacts: [{ id: 'single-1-c', name: 'Пётр Петров' }] }, 'PUT')).status).toBe(200);

    // An unknown number is looked up (and cached as unknown), then bound: the cache must not keep "unknown".
    expect((await api(stack, '/directory/lookup?number=89220000002')).body.kind).toBe('unknown');
    const bound = await post(stack, '/customers/single-1/phones', { number: '8 922 000-00-02', contactId: 'single-1-c' });
    expect(bound.status).toBe(201);
    expect(bound.body.phone).toMatchObject({ number: '+79220000002', kind: 'contact' });
    expect((await api(stack, '/directory/lookup?number=89220000002')).body).toMatchObject({ kind: 'contact', customer: { name: 'ИП Петров П.П.' }, contact: { name: 'Пётр Петров' } });
    const company = await post(stack, '/customers/single-1/phones', { number: '+7 343 200-00-03' });
    expect(company.body.phone.kind).toBe('company');
    const card = (await api(stack, '/customers/single-1')).body;
    expect(card.phones.map((p: any) => p.number)).toEqual(['+73432000001', '+73432000003']);
    expect(card.contacts[0].phones.map((p: any) => p.number)).toEqual(['+79220000002']);

    expect((await post(stack, '/customers/nobody/phones', { number: '+7 343 200-00-04' })).status).toBe(404);
    expect((await api(stack, `/customers/single-1/phones/${encodeURIComponent('+7 343 200-00-03')}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(stack, '/directory/lookup?number=83432000003')).body.kind).toBe('unknown');
    expect((await api(stack, '/customers/single-1', { method: 'DELETE' })).status).toBe(204);
    expect((await api(stack, '/customers/single-1', { method: 'DELETE' })).status).toBe(404);
    expect((await api(stack, '/directory/lookup?number=89220000002')).body.kind).toBe('unknown');
    const dup = await post(stack, '/customers', { id: 'p-50', name: 'Уже есть', number: '+7 495 700-00-09' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.field).toBe('id');
  });
});
