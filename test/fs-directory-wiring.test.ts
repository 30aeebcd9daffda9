/**
 * The server keeps FreeSWITCH's directory of its employees (TELEFONIST_FS_DIRECTORY_DIR): a sync from 1C that
 * grants the supervisor right rewrites the file the drop-in's dialplan reads and sends `api reloadxml`.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, Stack, startStack, waitFor } from './helpers';

describe('FreeSWITCH directory written by the server', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'tf-fsdir-'));
  beforeAll(async () => {
    stack = await startStack('sqlite', { env: { TELEFONIST_FS_DIRECTORY_DIR: dir } });
    stack.sim.apiHandlers.set('reloadxml', () => '+OK [Success]\n');
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a synced supervisor appears in the directory file and FreeSWITCH is told to reload', async () => {
    const r = await api(stack, '/employees/sync', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ employees: [{ extension: '1001', name: 'Иван Петров' }, { extension: '1002', name: 'Ольга Старшая', rights: ['supervisor'] }] }),
    });
    expect(r.status).toBe(200);
    const read = () => readdirSync(dir).filter((f) => f.endsWith('.xml')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    await waitFor(() => /id="1002"[\s\S]*telefonist_supervisor" value="true"/.test(read()), 'directory file with the supervisor', 10_000);
    expect(read()).toMatch(/id="1001"[\s\S]*telefonist_supervisor" value="false"/);
    await waitFor(() => stack.sim.commands.includes('api reloadxml'), 'reloadxml', 10_000);
  });
});
