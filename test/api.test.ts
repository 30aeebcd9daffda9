/** The REST API for 1C over real HTTP: auth and roles, bad input, filters, cursor pagination, OpenAPI. */
import { api, ADMIN_TOKEN, playAndSettle, Stack, startStack } from './helpers';
import { CALL_LIST_PARAMS } from '../src/routes/calls-query';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('sqlite');
  for (const s of ['02_inbound_call_bridge', '04_blind_transfer', '06_eavesdrop', '07_stereo_recording', '08_errors']) {
    await playAndSettle(stack, s);
  }
});
afterAll(async () => {
  await stack?.stop();
});

describe('authentication and roles', () => {
  test('no token, malformed header, unknown token → 401 naming Authorization', async () => {
    const variants: Record<string, string>[] = [{}, { Authorization: 'Basic abc' }, { Authorization: 'Bearer nope' }];
    for (const headers of variants) {
      const r = await api(stack, '/calls', { token: null, headers });
      expect(r.status).toBe(401);
      expect(r.body.error).toMatchObject({ code: 'unauthorized', field: 'Authorization' });
    }
    const raw = await fetch(`${stack.base}/calls`);
    expect(raw.headers.get('www-authenticate')).toMatch(/^Bearer /); // RFC 6750 §3
  });

  test('admin creates tokens per role; operator reads calls but may not manage tokens; revoked token stops working', async () => {
    const created = await api(stack, '/tokens', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: '1C integration', role: 'operator', employee: '1001' }),
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: '1C integration', role: 'operator', employee: '1001' });
    const token = created.body.token as string;
    expect(token).toMatch(/^tf_[A-Za-z0-9_-]{40,}$/);
    expect((await api(stack, '/calls', { token })).status).toBe(200);
    const forbidden = await api(stack, '/tokens', { token });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('forbidden');

    const list = await api(stack, '/tokens');
    expect(list.body.items.map((t: any) => t.name)).toContain('1C integration');
    expect(JSON.stringify(list.body)).not.toContain(token);
    expect(JSON.stringify(list.body)).not.toContain('tokenHash');

    expect((await api(stack, `/tokens/${created.body.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(stack, '/calls', { token })).status).toBe(401);
    expect((await api(stack, '/tokens/00000000-0000-0000-0000-000000000000', { method: 'DELETE' })).status).toBe(404);
  });

  test('bad token bodies → 400/415 naming the field', async () => {
    const post = (body: string, type = 'application/json') =>
      api(stack, '/tokens', { method: 'POST', headers: { 'Content-Type': type }, body });
    let r = await post(JSON.stringify({ name: 'x', role: 'god' }));
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe('role');
    r = await post(JSON.stringify({ role: 'admin' }));
    expect(r.body.error.field).toBe('name');
    r = await post(JSON.stringify({ name: 'op', role: 'operator' }));
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe('employee');
    r = await post(JSON.stringify({ name: 'op', role: 'operator', employee: '10 01' }));
    expect(r.body.error.field).toBe('employee');
    r = await post('{"name": ');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_json', field: 'body' });
    r = await post('{"name": supersecret-1234}'); // the parser's message quotes the body: never echoed
    expect(r.body.error.code).toBe('invalid_json');
    expect(JSON.stringify(r.body)).not.toContain('supersecret');
    r = await post(JSON.stringify({ name: 'x', role: 'admin', extra: 1 }));
    expect(r.status).toBe(400);
    r = await post('name=x', 'application/x-www-form-urlencoded');
    expect(r.status).toBe(415);
  });
});

describe('GET /calls parameters', () => {
  test.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['direction=sideways', 'direction'],
    ['status=answered,lost', 'status'],
    ['from=yesterday', 'from'],
    ['from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z', 'to'],
    ['number=abc', 'number'],
    ['employee=10%2001', 'employee'],
    ['hasRecording=maybe', 'hasRecording'],
    ['sort=random', 'sort'],
    ['cursor=garbage', 'cursor'],
    ['limit=5&limit=6', 'limit'],
    ['colour=red', 'colour'],
  ])('%s → 400 naming %s', async (qs, field) => {
    const r = await api(stack, `/calls?${qs}`);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_parameter', field });
    expect(typeof r.body.error.message).toBe('string');
  });

  test('filters', async () => {
    const ids = async (qs: string) => (await api(stack, `/calls?${qs}`)).body.items.map((i: any) => i.id).sort();
    expect(await ids('employee=1002')).toEqual(['19616c02-9bde-43b5-83cc-79e406b66cc4', '6d9e0497-77e5-45c7-9888-201957ac2312']);
    expect(await ids('status=busy')).toEqual(['ee9364c9-9b27-4629-a678-ea8ec866d527']);
    expect(await ids('number=99')).toEqual(['7b3882a3-d7a9-474e-b30f-32c0e3d461b7']);
    expect(await ids('hasRecording=true')).toEqual(['d8ea1442-a514-43f2-b408-3f9af36de73f']);
    expect(await ids('q=ALICE')).toHaveLength(4);
    expect(await ids('direction=inbound')).toEqual([]);
    expect(await ids('direction=internal&status=answered')).toHaveLength(4);
    expect(await ids('from=2026-11-23T23:29:00Z&to=2026-11-23T23:30:00Z')).toEqual(['19616c02-9bde-43b5-83cc-79e406b66cc4', 'd8ea1442-a514-43f2-b408-3f9af36de73f']);
    expect(await ids('from=2026-11-24')).toEqual([]);
  });

  test('cursor pagination walks every call once, and stays stable while new calls arrive', async () => {
    const all = (await api(stack, '/calls?limit=500')).body.items.map((i: any) => i.id);
    expect(all).toHaveLength(6);
    const seen: string[] = [];
    let r = await api(stack, '/calls?limit=2');
    seen.push(...r.body.items.map((i: any) => i.id));
    // A new call lands between pages (newer than everything): the walk neither repeats nor skips.
    await playAndSettle(stack, '05_attended_transfer', { rewrite: true });
    while (r.body.nextCursor) {
      r = await api(stack, `/calls?limit=2&cursor=${r.body.nextCursor}`);
      expect(r.status).toBe(200);
      seen.push(...r.body.items.map((i: any) => i.id));
    }
    expect(seen).toEqual(all);
    const starts = (await api(stack, '/calls?limit=500')).body.items.map((i: any) => Date.parse(i.startedAt));
    expect([...starts].sort((a, b) => b - a)).toEqual(starts);
    // Ascending and by talk time, both walk the same set.
    for (const sort of ['startedAt', '-talk', 'duration']) {
      const got: string[] = [];
      let p = await api(stack, `/calls?limit=3&sort=${sort}`);
      got.push(...p.body.items.map((i: any) => i.id));
      while (p.body.nextCursor) {
        p = await api(stack, `/calls?limit=3&sort=${sort}&cursor=${p.body.nextCursor}`);
        got.push(...p.body.items.map((i: any) => i.id));
      }
      expect(got).toHaveLength(all.length + 1);
      expect(new Set(got).size).toBe(got.length);
      expect(got).toEqual(expect.arrayContaining(all));
    }
    // A cursor of one sort order is refused by another.
    const c = (await api(stack, '/calls?limit=1')).body.nextCursor;
    const wrong = await api(stack, `/calls?sort=talk&cursor=${c}`);
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.field).toBe('cursor');
  });

  test('unknown call → 404, malformed id → 400, unknown endpoint → 404 JSON', async () => {
    expect((await api(stack, '/calls/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    const bad = await api(stack, '/calls/not%20a%20uuid');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('id');
    const none = await api(stack, '/nothing');
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('not_found');
  });
});

describe('health and OpenAPI', () => {
  test('health reports FreeSWITCH and database state without a token', async () => {
    const r = await api(stack, '/health', { token: null });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok', freeswitch: { connected: true, state: 'ready' }, database: { ok: true, kind: 'sqlite' } });
  });

  test('health takes no parameters: an unknown one is a 400 naming it, as on /calls', async () => {
    for (const qs of ['foo=1', 'foo=', 'verbose']) {
      const r = await api(stack, `/health?${qs}`, { token: null });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_parameter', field: qs.replace(/=.*/, '') });
      expect(r.body.error.message).toMatch(/unknown parameter .*this endpoint takes none/);
    }
    const calls = await api(stack, '/calls?foo=');
    expect(calls.body.error).toMatchObject({ code: 'invalid_parameter', field: 'foo' });
  });

  test('the OpenAPI document matches the implementation', async () => {
    const doc = (await api(stack, '/openapi.json', { token: null })).body;
    expect(doc.openapi).toMatch(/^3\./);
    // Every documented operation answers (not the catch-all 404), and undocumented neighbours do not exist.
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const method of Object.keys(ops)) {
        const concrete = path.replace('{id}', '00000000-0000-0000-0000-000000000000').replace('{number}', '84951234567').replace('{n}', '0');
        if (ops[method].responses['200']?.content?.['text/event-stream']) {
          // An endless stream: it must open as one, then we hang up.
          const ac = new AbortController();
          const res = await fetch(`${stack.base}${concrete}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }, signal: ac.signal });
          expect(res.status).toBe(200);
          expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
          ac.abort();
          continue;
        }
        const query = path === '/events' ? '?wait=0' : '';
        const body = method === 'post' || method === 'put' ? '{}' : undefined;
        const r = await api(stack, concrete + query, { method: method.toUpperCase(), headers: { 'Content-Type': 'application/json' }, body });
        expect(r.body?.error?.message ?? '').not.toMatch(/no such endpoint/);
        expect(Object.keys(ops[method].responses)).toContain(String(r.status));
        for (const code of Object.keys(ops[method].responses)) expect(Number(code)).toBeGreaterThanOrEqual(200);
      }
    }
    // The list parameters are exactly what the validator accepts.
    const params = doc.paths['/calls'].get.parameters.map((p: any) => p.name);
    expect(params).toEqual(CALL_LIST_PARAMS.map((p) => p.name));
    // Real responses carry every required field and nothing undocumented.
    const summary = doc.components.schemas.CallSummary;
    const list = (await api(stack, '/calls?limit=500')).body;
    for (const item of list.items) {
      for (const req of summary.required) expect(item).toHaveProperty(req);
      for (const key of Object.keys(item)) expect(Object.keys(summary.properties)).toContain(key);
      expect(summary.properties.status.enum).toContain(item.status);
    }
    const detailSchema = doc.components.schemas.CallDetail.allOf[1];
    const detail = (await api(stack, `/calls/${list.items[0].id}`)).body;
    for (const req of detailSchema.required) expect(detail).toHaveProperty(req);
    for (const key of Object.keys(detail)) {
      expect([...Object.keys(summary.properties), ...Object.keys(detailSchema.properties)]).toContain(key);
    }
    const kinds = doc.components.schemas.TimelineEntry.properties.kind.enum;
    for (const t of detail.timeline) expect(kinds).toContain(t.kind);
    expect(ADMIN_TOKEN).toBeTruthy();
  });
});
