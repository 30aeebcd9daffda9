import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { callerIdMap, ConfigError, loadConfig } from '../src/config';

describe('configuration', () => {
  test('defaults', () => {
    const c = loadConfig({}, { dotenv: false });
    expect(c).toMatchObject({
      PORT: 8080,
      DATABASE_URL: 'file:./data/telefonist.db',
      FREESWITCH_ESL_HOST: '127.0.0.1',
      FREESWITCH_ESL_PORT: 8021,
      FREESWITCH_ESL_PASSWORD: 'ClueCon',
    });
  });

  test('every invalid value is named in one error', () => {
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', TELEFONIST_ADMIN_TOKEN: 'short' }, { dotenv: false });
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const m = (e as Error).message;
      expect(m).toMatch(/PORT/);
      expect(m).toMatch(/DATABASE_URL/);
      expect(m).toMatch(/TELEFONIST_ADMIN_TOKEN/);
    }
  });

  test('click-to-call caller ids: a DID default and extension=number pairs, nothing else', () => {
    const ok = loadConfig({ TELEFONIST_CALLER_ID_DEFAULT: '+74950000000', TELEFONIST_CALLER_IDS: '1001=+74950001001,1002=74950001002' }, { dotenv: false });
    expect(callerIdMap(ok)).toEqual(new Map([['1001', '+74950001001'], ['1002', '74950001002']]));
    for (const env of [
      { TELEFONIST_CALLER_ID_DEFAULT: '+7 495 000-00-00' },
      { TELEFONIST_CALLER_ID_DEFAULT: '74950000000,user/1' },
      { TELEFONIST_CALLER_IDS: '1001=+7495&park' },
      { TELEFONIST_CALLER_IDS: '1001:+74950001001' },
      { TELEFONIST_CALLER_IDS: '1001=74950001001;1002=1' },
    ]) {
      expect(() => loadConfig(env, { dotenv: false })).toThrow(new RegExp(Object.keys(env)[0]));
    }
  });

  test('npm start with a bad setting exits non-zero with one clear message', () => {
    const r = spawnSync(process.execPath, [join(__dirname, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(__dirname, '..', 'src', 'main.ts')], {
      env: { ...process.env, FREESWITCH_ESL_PORT: '99999' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^Invalid configuration:\n\s+FREESWITCH_ESL_PORT: /);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(2);
  });
});
