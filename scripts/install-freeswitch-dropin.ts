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
import { existsSync } from 'node:fs';
import { applyInstall, DEFAULT_RECORDINGS_DIR, planDiff, planInstall, undoLast } from '../src/freeswitch/dropin';
import { Lang, Msg, say } from '../src/freeswitch/messages';

const MESSAGES = {
  usage: {
    ru: 'Использование: npm run fs:install -- [--conf /etc/freeswitch] [--env .env] [--dry-run] [--undo] [--force] [--recordings DIR] [--gateway ИМЯ] [--esl-port 8021] [--lang ru|en]',
    en: 'Usage: npm run fs:install -- [--conf /etc/freeswitch] [--env .env] [--dry-run] [--undo] [--force] [--recordings DIR] [--gateway NAME] [--esl-port 8021] [--lang ru|en]',
  },
  badArg: { ru: 'Неизвестный или неполный параметр: %s', en: 'Unknown or incomplete option: %s' },
  noConf: {
    ru: 'Каталог конфигурации FreeSWITCH %s не найден (нет freeswitch.xml). Укажите его: --conf /etc/freeswitch',
    en: 'FreeSWITCH configuration directory %s not found (no freeswitch.xml). Name it with --conf /etc/freeswitch',
  },
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

function parseArgs(argv: string[]): Args | { error: string; lang: Lang } {
  const a: Args = { conf: '/etc/freeswitch', env: '.env', dryRun: false, undo: false, force: false, recordings: DEFAULT_RECORDINGS_DIR, gateway: 'carrier', eslPort: 8021, lang: 'ru' };
  const li = argv.indexOf('--lang');
  if (li >= 0 && argv[li + 1] === 'en') a.lang = 'en';
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    const takes = (): string | undefined => (v === undefined || v.startsWith('--') ? undefined : (i++, v));
    switch (k) {
      case '--dry-run':
        a.dryRun = true;
        break;
      case '--undo':
        a.undo = true;
        break;
      case '--force':
        a.force = true;
        break;
      case '--no-env':
        a.env = null;
        break;
      case '--lang': {
        const x = takes();
        if (x !== 'ru' && x !== 'en') return { error: k, lang: a.lang };
        break;
      }
      case '--conf':
      case '--env':
      case '--recordings':
      case '--gateway':
      case '--esl-port': {
        const x = takes();
        if (x === undefined) return { error: k, lang: a.lang };
        if (k === '--conf') a.conf = x;
        else if (k === '--env') a.env = x;
        else if (k === '--recordings') a.recordings = x;
        else if (k === '--gateway') a.gateway = x;
        else {
          a.eslPort = Number(x);
          if (!Number.isInteger(a.eslPort)) return { error: k, lang: a.lang };
        }
        break;
      }
      default:
        return { error: k, lang: a.lang };
    }
  }
  return a;
}

export function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): number {
  const parsed = parseArgs(argv);
  if ('error' in parsed) {
    err(`${message(parsed.lang, 'badArg', parsed.error)}\n${message(parsed.lang, 'usage')}\n`);
    return 2;
  }
  const { lang } = parsed;
  const t = (key: Key, ...args: string[]) => message(lang, key, ...args);
  try {
    if (!existsSync(`${parsed.conf}/freeswitch.xml`)) {
      err(`${t('noConf', parsed.conf)}\n`);
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
