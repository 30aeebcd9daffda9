/**
 * npm run doctor -- [--lang en] [--gateway carrier] [--timeout 5] [--json]
 *
 * Checks a live FreeSWITCH for what Telefonist and its drop-in need, with the settings of Telefonist's own
 * configuration (.env / environment), and says what to fix, in Russian (English with --lang en). Exit code 1
 * when a check failed, 0 when everything passed or only warned, 2 on bad arguments or configuration.
 * The checks themselves are in src/freeswitch/doctor.ts.
 */
import { loadConfig, ConfigError } from '../src/config';
import { DoctorLang, formatReport, runDoctor } from '../src/freeswitch/doctor';

/** The options with what a good value looks like; a bad or missing one is named with what it expects (exit 2). */
const VALUED: Record<string, { ok: (v: string) => boolean; expected: Record<DoctorLang, string> }> = {
  '--lang': { ok: (v) => v === 'ru' || v === 'en', expected: { ru: 'ru или en', en: 'ru or en' } },
  '--gateway': {
    ok: (v) => /^[A-Za-z0-9_.-]{1,64}$/.test(v),
    expected: { ru: 'имя шлюза sofia (латинские буквы, цифры, _ . -, до 64 символов)', en: 'a sofia gateway name (Latin letters, digits, _ . -, up to 64 characters)' },
  },
  '--timeout': { ok: (v) => /^[0-9]+(\.[0-9]+)?$/.test(v) && Number(v) > 0 && Number(v) <= 600, expected: { ru: 'число секунд больше 0 и не больше 600', en: 'a number of seconds above 0, up to 600' } },
};

export interface DoctorArgs {
  lang: DoctorLang;
  gateway: string;
  timeoutMs: number;
  json: boolean;
}

/** npm run doctor's command line, or the message to print (exit 2). */
export function parseDoctorArgs(argv: string[]): DoctorArgs | { error: string; lang: DoctorLang } {
  const a: DoctorArgs = { lang: 'ru', gateway: 'carrier', timeoutMs: 5000, json: false };
  const li = argv.indexOf('--lang');
  if (li >= 0 && argv[li + 1] === 'en') a.lang = 'en';
  const en = a.lang === 'en';
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--json') {
      a.json = true;
      continue;
    }
    const spec = Object.hasOwn(VALUED, k) ? VALUED[k] : undefined;
    if (!spec) return { error: `${en ? 'Unknown option' : 'Неизвестный параметр'}: ${k}`, lang: a.lang };
    const v = argv[i + 1];
    if (v === undefined || v === '' || v.startsWith('--')) return { error: `${k}: ${en ? 'the value is missing' : 'не указано значение'}`, lang: a.lang };
    i++;
    if (!spec.ok(v)) return { error: `${k}: ${en ? 'expected' : 'ожидается'} ${spec.expected[a.lang]}, ${en ? 'got' : 'получено'} "${v}"`, lang: a.lang };
    if (k === '--gateway') a.gateway = v;
    else if (k === '--timeout') a.timeoutMs = Number(v) * 1000;
  }
  return a;
}

async function main(argv: string[]): Promise<number> {
  const args = parseDoctorArgs(argv);
  if ('error' in args) {
    process.stderr.write(`${args.error}\nnpm run doctor -- [--lang ru|en] [--gateway carrier] [--timeout 5] [--json]\n`);
    return 2;
  }
  const { lang, gateway, timeoutMs, json } = args;
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const report = await runDoctor({
    host: config.FREESWITCH_ESL_HOST,
    port: config.FREESWITCH_ESL_PORT,
    password: config.FREESWITCH_ESL_PASSWORD,
    recordingsDir: config.TELEFONIST_RECORDINGS_DIR,
    recordingsFsDir: config.TELEFONIST_RECORDINGS_FS_DIR,
    directoryDir: config.TELEFONIST_FS_DIRECTORY_DIR,
    dialContext: config.TELEFONIST_DIAL_CONTEXT,
    gateway,
    timeoutMs,
    lang,
  });
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, lang));
  return report.ok ? 0 : 1;
}

if (require.main === module) main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
