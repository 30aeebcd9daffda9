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

async function main(argv: string[]): Promise<number> {
  let lang: DoctorLang = 'ru';
  let gateway = 'carrier';
  let timeoutMs = 5000;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--lang' && (argv[i + 1] === 'ru' || argv[i + 1] === 'en')) lang = argv[++i] as DoctorLang;
    else if (a === '--gateway' && /^[A-Za-z0-9_.-]{1,64}$/.test(argv[i + 1] ?? '')) gateway = argv[++i];
    else if (a === '--timeout' && Number(argv[i + 1]) > 0) timeoutMs = Number(argv[++i]) * 1000;
    else if (a === '--json') json = true;
    else {
      process.stderr.write(`${lang === 'en' ? 'Unknown option' : 'Неизвестный параметр'}: ${a}\nnpm run doctor -- [--lang ru|en] [--gateway carrier] [--timeout 5] [--json]\n`);
      return 2;
    }
  }
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
