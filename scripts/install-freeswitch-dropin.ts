/**
 * npm run fs:install -- [--conf /etc/freeswitch] [--env .env] [--dry-run] [--undo] [--force]
 *                       [--recordings /var/lib/freeswitch/recordings] [--gateway carrier] [--esl-port 8021]
 *                       [--lang ru|en]
 *
 * Installs the Telefonist drop-in (freeswitch-conf/) into an existing FreeSWITCH 1.10 configuration:
 * prints a unified diff with --dry-run (nothing written), backs up every file it replaces into
 * <conf>/.telefonist-backup/<timestamp>/, and --undo restores the newest backup. Messages are in Russian
 * unless --lang en. Exit codes: 0 done, 1 failed, 2 bad arguments.
 */
import { existsSync, statSync } from 'node:fs';
import { applyInstall, DEFAULT_RECORDINGS_DIR, planDiff, planInstall, undoLast } from '../src/freeswitch/dropin';
import { Lang, Msg, say } from '../src/freeswitch/messages';

const MESSAGES = {
  usage: {
    ru: 'Использование: npm run fs:install -- [--conf /etc/freeswitch] [--env .env] [--dry-run] [--undo] [--force] [--recordings DIR] [--gateway ИМЯ] [--esl-port 8021] [--lang ru|en]',
    en: 'Usage: npm run fs:install -- [--conf /etc/freeswitch] [--env .env] [--dry-run] [--undo] [--force] [--recordings DIR] [--gateway NAME] [--esl-port 8021] [--lang ru|en]',
  },
  badArg: { ru: 'Неизвестный параметр: %s', en: 'Unknown option: %s' },
  noValue: { ru: '%s: не указано значение (например %s)', en: '%s: the value is missing (e.g. %s)' },
  badValue: { ru: '%s: ожидается %s, получено "%s"', en: '%s: expected %s, got "%s"' },
  noConfDir: {
    ru: 'Папки %s нет: FreeSWITCH не установлен или его конфигурация лежит в другом месте.',
    en: 'There is no directory %s: FreeSWITCH is not installed or its configuration is elsewhere.',
  },
  noConfXml: {
    ru: 'В %s нет freeswitch.xml: это не папка конфигурации FreeSWITCH.',
    en: 'There is no freeswitch.xml in %s: it is not a FreeSWITCH configuration directory.',
  },
  confHint: {
    ru: 'Укажите папку конфигурации: --conf <папка с freeswitch.xml>; обычно это /etc/freeswitch (пакеты) или /usr/local/freeswitch/conf (сборка из исходников).',
    en: 'Name the configuration directory: --conf <directory with freeswitch.xml>; usually /etc/freeswitch (packages) or /usr/local/freeswitch/conf (built from source).',
  },
  confFound: { ru: 'freeswitch.xml найден в %s: --conf %s', en: 'freeswitch.xml found in %s: --conf %s' },
  dryRun: { ru: 'Пробный запуск: ничего не записано. Вот что изменится:', en: 'Dry run: nothing written. This is what would change:' },
  nothing: { ru: 'Изменений нет: drop-in уже установлен.', en: 'Nothing to change: the drop-in is already installed.' },
  add: { ru: '  добавить   %s', en: '  add        %s' },
  replace: { ru: '  заменить   %s (копия в резервной папке)', en: '  replace    %s (backed up)' },
  unchanged: { ru: '  без изменений %s', en: '  unchanged  %s' },
  keep: {
    ru: '  оставить   %s (файл площадки уже правили; заменить: --force)',
    en: '  keep       %s (a site file you edited; replace it with --force)',
  },
  env: { ru: '  .env       %s: пароль ESL, контекст telefonist, каталог сотрудников', en: '  .env       %s: ESL password, context telefonist, employees directory' },
  done: { ru: 'Готово. Резервная копия: %s', en: 'Done. Backup: %s' },
  next: {
    ru: 'Дальше:\n  1. fs_cli -x reloadxml\n  2. fs_cli -x "reload mod_event_socket" (новый пароль ESL; или перезапустите FreeSWITCH)\n  3. перезапустите Telefonist (он прочитает новый .env)\n  4. npm run doctor\nОтменить: npm run fs:install -- --undo --conf %s',
    en: 'Next:\n  1. fs_cli -x reloadxml\n  2. fs_cli -x "reload mod_event_socket" (the new ESL password; or restart FreeSWITCH)\n  3. restart Telefonist (it reads the new .env)\n  4. npm run doctor\nUndo: npm run fs:install -- --undo --conf %s',
  },
  undone: { ru: 'Восстановлено из %s:', en: 'Restored from %s:' },
  restored: { ru: '  восстановлен %s', en: '  restored   %s' },
  removed: { ru: '  удалён      %s', en: '  removed    %s' },
  noBackup: { ru: 'Нечего отменять: резервных копий в %s нет.', en: 'Nothing to undo: no backups in %s.' },
  undoNext: {
    ru: 'Дальше: fs_cli -x reloadxml и fs_cli -x "reload mod_event_socket", затем перезапустите Telefonist.',
    en: 'Next: fs_cli -x reloadxml and fs_cli -x "reload mod_event_socket", then restart Telefonist.',
  },
  failed: { ru: 'Ошибка: %s', en: 'Failed: %s' },
} satisfies Record<string, Msg>;

type Key = keyof typeof MESSAGES;

export function message(lang: Lang, key: Key, ...args: string[]): string {
  return say(lang, MESSAGES[key], ...args);
}

interface Args {
  conf: string;
  env: string | null;
  dryRun: boolean;
  undo: boolean;
  force: boolean;
  recordings: string;
  gateway: string;
  eslPort: number;
  lang: Lang;
}

/** The options that take a value: what a good one looks like (checked here, exit 2) and an example. */
const VALUED: Record<string, { example: string; ok?: (v: string) => boolean; expected?: Msg }> = {
  '--conf': { example: '--conf /etc/freeswitch' },
  '--env': { example: '--env .env' },
  '--recordings': {
    example: `--recordings ${DEFAULT_RECORDINGS_DIR}`,
    // As the drop-in's own check (src/freeswitch/dropin.ts checkVars): the path goes into the dialplan.
    ok: (v) => /^\/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\/*$/.test(v) && !v.includes('..'),
    expected: {
      ru: 'абсолютный путь к папке (/…: латинские буквы, цифры, _ . / -, без ..)',
      en: 'an absolute directory path (/…: Latin letters, digits, _ . / -, no ..)',
    },
  },
  '--gateway': {
    example: '--gateway carrier',
    ok: (v) => /^[A-Za-z0-9_.-]{1,64}$/.test(v),
    expected: { ru: 'имя шлюза sofia (латинские буквы, цифры, _ . -, до 64 символов)', en: 'a sofia gateway name (Latin letters, digits, _ . -, up to 64 characters)' },
  },
  '--esl-port': {
    example: '--esl-port 8021',
    ok: (v) => /^[0-9]{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535,
    expected: { ru: 'номер порта 1–65535', en: 'a port number 1–65535' },
  },
  '--lang': { example: '--lang en', ok: (v) => v === 'ru' || v === 'en', expected: { ru: 'ru или en', en: 'ru or en' } },
};

/** Parses the command line; a problem comes back as the message to print (exit 2). */
export function parseArgs(argv: string[]): Args | { error: string; lang: Lang } {
  const a: Args = { conf: '/etc/freeswitch', env: '.env', dryRun: false, undo: false, force: false, recordings: DEFAULT_RECORDINGS_DIR, gateway: 'carrier', eslPort: 8021, lang: 'ru' };
  const li = argv.indexOf('--lang');
  if (li >= 0 && argv[li + 1] === 'en') a.lang = 'en';
  const fail = (key: Key, ...args: string[]) => ({ error: message(a.lang, key, ...args), lang: a.lang });
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    switch (k) {
      case '--dry-run':
        a.dryRun = true;
        continue;
      case '--undo':
        a.undo = true;
        continue;
      case '--force':
        a.force = true;
        continue;
      case '--no-env':
        a.env = null;
        continue;
    }
    const spec = Object.hasOwn(VALUED, k) ? VALUED[k] : undefined;
    if (!spec) return fail('badArg', k);
    const v = argv[i + 1];
    if (v === undefined || v === '' || v.startsWith('--')) return fail('noValue', k, spec.example);
    i++;
    if (spec.ok && !spec.ok(v)) return fail('badValue', k, spec.expected![a.lang], v);
    if (k === '--conf') a.conf = v;
    else if (k === '--env') a.env = v;
    else if (k === '--recordings') a.recordings = v;
    else if (k === '--gateway') a.gateway = v;
    else if (k === '--esl-port') a.eslPort = Number(v);
  }
  return a;
}

/** Where FreeSWITCH keeps its configuration: packages, then a build from source. */
const TYPICAL_CONF = ['/etc/freeswitch', '/usr/local/freeswitch/conf'];

/** Why `conf` is not a FreeSWITCH configuration directory (null: it is), with what to do. */
export function confProblem(conf: string, lang: Lang, typical: readonly string[] = TYPICAL_CONF): string | null {
  if (existsSync(`${conf}/freeswitch.xml`)) return null;
  let isDir = false;
  try {
    isDir = statSync(conf).isDirectory();
  } catch {
    // absent
  }
  const lines = [message(lang, isDir ? 'noConfXml' : 'noConfDir', conf), message(lang, 'confHint')];
  for (const d of typical) if (d !== conf && existsSync(`${d}/freeswitch.xml`)) lines.push(message(lang, 'confFound', d, d));
  return lines.join('\n');
}

export function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): number {
  const parsed = parseArgs(argv);
  if ('error' in parsed) {
    err(`${parsed.error}\n${message(parsed.lang, 'usage')}\n`);
    return 2;
  }
  const { lang } = parsed;
  const t = (key: Key, ...args: string[]) => message(lang, key, ...args);
  try {
    const problem = confProblem(parsed.conf, lang);
    if (problem) {
      err(`${problem}\n`);
      return 1;
    }
    if (parsed.undo) {
      const r = undoLast(parsed.conf);
      if (!r) {
        out(`${t('noBackup', `${parsed.conf}/.telefonist-backup`)}\n`);
        return 0;
      }
      out(`${t('undone', r.backupDir)}\n`);
      for (const f of r.restored) out(`${t('restored', f)}\n`);
      for (const f of r.removed) out(`${t('removed', f)}\n`);
      out(`${t('undoNext')}\n`);
      return 0;
    }
    const plan = planInstall({
      conf: parsed.conf,
      envPath: parsed.env,
      recordingsDir: parsed.recordings,
      gateway: parsed.gateway,
      eslPort: parsed.eslPort,
      force: parsed.force,
    });
    const summary = plan.items.map((it) => t(it.action, it.rel)).join('\n');
    const envLine = plan.env?.changed ? `\n${t('env', plan.env.path)}` : '';
    const changes = plan.items.some((i) => i.action === 'add' || i.action === 'replace') || !!plan.env?.changed;
    if (parsed.dryRun) {
      out(`${t('dryRun')}\n${summary}${envLine}\n\n${planDiff(plan)}`);
      return 0;
    }
    if (!changes) {
      out(`${summary}\n${t('nothing')}\n`);
      return 0;
    }
    const r = applyInstall(plan);
    out(`${summary}${envLine}\n${t('done', r.backupDir ?? '-')}\n${t('next', parsed.conf)}\n`);
    return 0;
  } catch (e) {
    err(`${t('failed', (e as Error).message)}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
