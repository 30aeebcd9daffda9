/**
 * GET /directory/search (smart search, T7) over real HTTP on SQLite and PostgreSQL: parts of Cyrillic
 * names in any case, INN, contact persons, a number in several notations, partial digits, limit, 400s,
 * and the trigram indexes following later edits (rename, new phone, delete).
 */
import { api, DB_KINDS, Stack, startStack } from './helpers';

const json = (body: unknown, method = 'POST') => ({ method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

const ROMASHKA = 'a1b2c3d4-0000-0000-0000-0000000000a1';
const LUTIK = 'a1b2c3d4-0000-0000-0000-0000000000a2';
const PETROVA = 'a1b2c3d4-0000-0000-0000-0000000000c1';

describe.each(DB_KINDS)('directory search (%s)', (kind) => {
  let stack: Stack;
  let operator: string;
  const search = async (q: string, extra = '') => api(stack, `/directory/search?q=${encodeURIComponent(q)}${extra}`, { token: operator });
  const ids = (body: any) => body.items.map((i: any) => `${i.kind}:${i.id}`);

  beforeAll(async () => {
    stack = await startStack(kind);
    operator = (await api(stack, '/tokens', json({ name: 'Оператор 1001', role: 'operator', employee: '1001' }))).body.token;
    const customers = [
      {
        id: ROMASHKA, name: 'ООО «Ромашка-Плюс»', inn: '7701234567', phones: ['8 (495) 123-45-67'],
        contacts: [{ id: PETROVA, name: 'Петрова Анна Сергеевна', position: 'бухгалтер', phones: ['+7 916 123-45-67'] }],
      },
      { id: LUTIK, name: 'ИП Лютиков', inn: '500100732259', phones: ['+7 812 765 43 21'] },
    ];
    for (let i = 0; i < 30; i++) customers.push({ id: `bulk-${i}`, name: `Ромашковое поле ${i}`, inn: '', phones: [] } as any);
    const r = await api(stack, '/directory/sync', json({ customers }));
    expect(r.status).toBe(200);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('part of a Cyrillic name in any case finds the customer, with its company phones', async () => {
    for (const q of ['ромашка-п', 'РОМАШКА-П', 'Ромашка-плюс', 'шка-плю']) {
      const r = await search(q);
      expect(r.status).toBe(200);
      expect(r.body.items).toEqual([
        { kind: 'customer', id: ROMASHKA, name: 'ООО «Ромашка-Плюс»', inn: '7701234567', phones: [{ number: '+74951234567', extension: null, kind: 'company', raw: '8 (495) 123-45-67' }] },
      ]);
    }
    expect(ids((await search('лютик')).body)).toEqual([`customer:${LUTIK}`]);
  });

  test('part of a contact person\'s name finds them with their customer and their own phones', async () => {
    const r = await search('петров');
    expect(r.status).toBe(200);
    expect(r.body.items).toEqual([
      {
        kind: 'contact', id: PETROVA, name: 'Петрова Анна Сергеевна', position: 'бухгалтер',
        customer: { id: ROMASHKA, name: 'ООО «Ромашка-Плюс»' },
        phones: [{ number: '+79161234567', extension: null, kind: 'contact', raw: '+7 916 123-45-67' }],
      },
    ]);
    expect(ids((await search('АННА СЕРГ')).body)).toEqual([`contact:${PETROVA}`]);
  });

  test('INN, whole or in part', async () => {
    expect(ids((await search('7701234567')).body)).toEqual([`customer:${ROMASHKA}`]);
    expect(ids((await search('00732')).body)).toEqual([`customer:${LUTIK}`]);
  });

  test('a number in any notation finds its owner; partial digits find numbers holding them', async () => {
    for (const q of ['+7 916 123-45-67', '8 (916) 123-45-67', '916 123 45 67', '89161234567']) {
      expect(ids((await search(q)).body)).toEqual([`contact:${PETROVA}`]);
    }
    for (const q of ['8 495 123-45-67', '+74951234567']) expect(ids((await search(q)).body)).toEqual([`customer:${ROMASHKA}`]);
    expect(ids((await search('765 43')).body)).toEqual([`customer:${LUTIK}`]);
    // 1234567 ends both Romashka's company number and Petrova's.
    expect(ids((await search('123-45-67')).body).sort()).toEqual([`contact:${PETROVA}`, `customer:${ROMASHKA}`].sort());
    expect((await search('0000000')).body.items).toEqual([]);
  });

  test('limit caps the answer; names starting with the text come first', async () => {
    const r = await search('ромаш', '&limit=5');
    expect(r.status).toBe(200);
    expect(r.body.items).toHaveLength(5);
    const all = await search('ромаш', '&limit=50');
    expect(all.body.items.length).toBe(31);
    expect(all.body.items[0].name).toMatch(/^Ромашковое поле/);
    expect((await search('ромаш')).body.items).toHaveLength(20);
  });

  test('the index follows edits: a renamed customer, an added phone, a deleted customer', async () => {
    const put = await api(stack, `/customers/${LUTIK}`, json({ name: 'ИП Васильков', inn: '500100732259', phones: ['+7 812 765 43 21'] }, 'PUT'));
    expect([200, 201]).toContain(put.status);
    expect((await search('лютик')).body.items).toEqual([]);
    expect(ids((await search('василь')).body)).toEqual([`customer:${LUTIK}`]);
    const add = await api(stack, `/customers/${LUTIK}/phones`, json({ number: '+7 999 888-77-66' }));
    expect(add.status).toBe(201);
    expect(ids((await search('8877')).body)).toEqual([`customer:${LUTIK}`]);
    expect((await api(stack, '/directory/sync', json({ deleted: [LUTIK] }))).status).toBe(200);
    expect((await search('василь')).body.items).toEqual([]);
    expect((await search('8877')).body.items).toEqual([]);
  });

  test('field-level 400s', async () => {
    const cases: Array<[string, string]> = [
      ['', 'q'],
      ['?q=ab', 'q'],
      ['?q=%20%20ab%20', 'q'],
      ['?q=123', 'q'],
      [`?q=${'я'.repeat(101)}`, 'q'],
      ['?q=ромашка&limit=0', 'limit'],
      ['?q=ромашка&limit=51', 'limit'],
      ['?q=ромашка&limit=x', 'limit'],
      ['?q=ромашка&sort=name', 'sort'],
      ['?q=a&q=b', 'q'],
    ];
    for (const [query, field] of cases) {
      const r = await api(stack, `/directory/search${query}`, { token: operator });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ field });
    }
    expect((await api(stack, '/directory/search?q=ромашка', { token: null })).status).toBe(401);
  });
});
