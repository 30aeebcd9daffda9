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

  test('each problem is one Russian line by the kind of setting, the variable first; secrets are not echoed', () => {
    const lines = (env: Record<string, string>) => {
      try {
        loadConfig(env, { dotenv: false });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message.split('\n').slice(1).map((l) => l.trim());
      }
      throw new Error('no error');
    };
    expect(lines({ PORT: 'abc' })).toEqual(['PORT: ожидается число (порт 1–65535), получено "abc"']);
    expect(lines({ FREESWITCH_ESL_PORT: '99999' })).toEqual(['FREESWITCH_ESL_PORT: ожидается число (порт 1–65535), получено "99999"']);
    expect(lines({ FREESWITCH_ESL_PORT: '80.5' })).toEqual(['FREESWITCH_ESL_PORT: ожидается число (порт 1–65535), получено "80.5"']);
    expect(lines({ WHISPER_THREADS: 'two' })).toEqual(['WHISPER_THREADS: ожидается целое число от 1 до 64, получено "two"']);
    expect(lines({ TRANSCRIBE_MIN_SECONDS: '-1' })).toEqual(['TRANSCRIBE_MIN_SECONDS: ожидается число не меньше 0, получено "-1"']);
    expect(lines({ TELEFONIST_DIAL_FORMAT: 'intl' })).toEqual(['TELEFONIST_DIAL_FORMAT: ожидается одно из: e164, national, digits, получено "intl"']);
    expect(lines({ HOST: '' })).toEqual(['HOST: не может быть пустой, получено ""']);
    // The explanation written with the setting stays; a secret's value is never printed.
    expect(lines({ TELEFONIST_ADMIN_TOKEN: 'short-secret' })).toEqual(['TELEFONIST_ADMIN_TOKEN: must be at least 24 characters']);
    expect(lines({ FREESWITCH_ESL_PASSWORD: '' }).join('\n')).not.toContain('получено');
    // A URL's credentials are never quoted back, whatever the variable is called.
    for (const env of [{ LLM_BASE_URL: 'ftp://llm:s3cr3tpw@gpu.local/v1' }, { TELEFONIST_PUBLIC_URL: 'http://u:s3cr3tpw@' }, { DATABASE_URL: 'pg://app:s3cr3tpw@db/telefonist' }] as Array<Record<string, string>>) {
      const out = lines(env).join('\n');
      expect(out).toContain(`${Object.keys(env)[0]}:`);
      expect(out).not.toContain('s3cr3tpw');
    }
    // Never zod's raw English.
    const all = lines({ PORT: 'abc', FREESWITCH_ESL_PORT: 'x', TELEFONIST_SESSION_HOURS: 'abc', LLM_TIMEOUT_SECONDS: '0', TELEFONIST_COOKIE_SECURE: 'yes' });
    expect(all).toHaveLength(5);
    for (const l of all) expect(l).not.toMatch(/Expected|received|Number must|Invalid enum/);
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

  test('the toll-fraud guard: a mode from the list, E.164 prefixes named one by one in Russian', () => {
    const plain = loadConfig({}, { dotenv: false });
    expect(plain.TELEFONIST_TRANSFER_OUTSIDE).toBe('all');
    expect(plain.TELEFONIST_OUTSIDE_ALLOW).toBeUndefined();
    expect(loadConfig({ TELEFONIST_TRANSFER_OUTSIDE: 'supervisor', TELEFONIST_OUTSIDE_ALLOW: '+7495, +7916' }, { dotenv: false }))
      .toMatchObject({ TELEFONIST_TRANSFER_OUTSIDE: 'supervisor', TELEFONIST_OUTSIDE_ALLOW: ['+7495', '+7916'] });
    expect(loadConfig({ TELEFONIST_OUTSIDE_ALLOW: '' }, { dotenv: false }).TELEFONIST_OUTSIDE_ALLOW).toBeUndefined();
    const lines = (env: Record<string, string>) => {
      try {
        loadConfig(env, { dotenv: false });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message.split('\n').slice(1).map((l) => l.trim());
      }
      throw new Error('no error');
    };
    expect(lines({ TELEFONIST_TRANSFER_OUTSIDE: 'operators' })).toEqual(['TELEFONIST_TRANSFER_OUTSIDE: ожидается одно из: all, supervisor, none, получено "operators"']);
    expect(lines({ TELEFONIST_OUTSIDE_ALLOW: '+7495,7916,,+7 812' })).toEqual([
      'TELEFONIST_OUTSIDE_ALLOW: префикс 2 "7916" — ожидается + и от 1 до 15 цифр без пробелов, например +7495, получено "+7495,7916,,+7 812"',
      'TELEFONIST_OUTSIDE_ALLOW: префикс 3 пустой (лишняя запятая?); ожидается список префиксов E.164 через запятую, например +7495,+7916, получено "+7495,7916,,+7 812"',
      'TELEFONIST_OUTSIDE_ALLOW: префикс 4 "+7 812" — ожидается + и от 1 до 15 цифр без пробелов, например +7495, получено "+7495,7916,,+7 812"',
    ]);
  });

  test('npm start with a bad setting exits non-zero with one clear message', () => {
    const r = spawnSync(process.execPath, [join(__dirname, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(__dirname, '..', 'src', 'main.ts')], {
      env: { ...process.env, PORT: 'abc', FREESWITCH_ESL_PORT: '99999' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^Invalid configuration \(ошибка в настройках\):\n\s+PORT: ожидается число \(порт 1–65535\), получено "abc"\n\s+FREESWITCH_ESL_PORT: /);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(3);
  });
});
