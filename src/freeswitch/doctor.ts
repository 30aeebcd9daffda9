import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { EslConnection } from '../esl/connection';
import { DEFAULT_RECORDINGS_DIR, EMPLOYEES_FILE_NAME } from './dropin';
import { Lang, Msg, say } from './messages';
import { NEEDS_ESL, title } from './doctor-titles';

/**
 * `npm run doctor`: checks a live FreeSWITCH over the event socket for what Telefonist and its drop-in
 * need, and says what to fix. Only real FreeSWITCH 1.10 API commands (mod_commands / mod_dptools):
 *  - ESL auth: connect + `auth` (EslConnection; `-ERR invalid` = wrong password);
 *  - `version`; `module_exists <mod>` for each module the drop-in uses;
 *  - `xml_locate dialplan context name telefonist` (our extensions are in it) and `… name public` (a DID
 *    is routed to our context);
 *  - `global_getvar domain`, then for the employees in our directory file `user_data <ext>@<domain> var
 *    telefonist_employee` / `telefonist_supervisor` (FreeSWITCH sees OUR entry, with the right as written);
 *  - recordings: `file_exists <dir>` (FreeSWITCH sees it); a probe file created by FreeSWITCH's own user
 *    with `system touch` (when the system API is enabled) that must then appear in TELEFONIST_RECORDINGS_DIR
 *    and be readable here (same folder, readable by Telefonist);
 *  - clocks: `strmicroepoch` (or `strepoch`) against our clock, half the round trip allowed for;
 *  - the carrier: `sofia status gateway <name>`.
 */

export type DoctorLang = Lang;
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip'; // skip: not run (no connection), no error

export interface CheckResult {
  id: string;
  status: CheckStatus;
  message: string;
  /** What to do about it (warn / fail). */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
}

export interface DoctorOptions {
  host: string;
  port: number;
  password: string;
  /** This machine's recordings directory (TELEFONIST_RECORDINGS_DIR). */
  recordingsDir?: string;
  /** The same directory as FreeSWITCH names it (TELEFONIST_RECORDINGS_FS_DIR). */
  recordingsFsDir?: string;
  /** TELEFONIST_FS_DIRECTORY_DIR. */
  directoryDir?: string;
  /** TELEFONIST_DIAL_CONTEXT (should be telefonist). */
  dialContext?: string;
  gateway?: string;
  timeoutMs?: number;
  lang?: DoctorLang;
  /** Clock difference that fails / warns, ms (defaults 2000 / 500). */
  maxSkewMs?: number;
  warnSkewMs?: number;
  /** Employees checked one by one in FreeSWITCH's directory (default 50). */
  maxEmployees?: number;
}

/** The modules the drop-in and Telefonist rely on. */
export const REQUIRED_MODULES = [
  'mod_event_socket',
  'mod_sofia',
  'mod_commands',
  'mod_dptools',
  'mod_dialplan_xml',
  'mod_sndfile',
  'mod_hash',
] as const;

/** Extensions of dialplan/telefonist.xml that must be loaded. */
export const REQUIRED_EXTENSIONS = [
  'telefonist_supervise_listen',
  'telefonist_supervise_whisper',
  'telefonist_supervise_barge',
  'telefonist_supervise',
  'telefonist_supervise_no_call',
  'telefonist_supervise_refused',
  'telefonist_employee_leg',
  'telefonist_record',
  'telefonist_extension',
  'telefonist_outbound',
] as const;

const M = {
  eslOk: { ru: 'ESL: подключение к %s и вход по паролю — в порядке', en: 'ESL: connected to %s and authenticated' },
  eslAuth: { ru: 'ESL: FreeSWITCH на %s отклонил пароль', en: 'ESL: FreeSWITCH at %s refused the password' },
  eslAuthFix: {
    ru: 'FREESWITCH_ESL_PASSWORD в .env Telefonist должен совпадать с password в autoload_configs/event_socket.conf.xml (установщик пишет оба); после правки: fs_cli -x "reload mod_event_socket"',
    en: 'FREESWITCH_ESL_PASSWORD in Telefonist\'s .env must equal password in autoload_configs/event_socket.conf.xml (the installer writes both); after a change: fs_cli -x "reload mod_event_socket"',
  },
  eslDown: { ru: 'ESL: нет ответа от %s (%s)', en: 'ESL: no answer from %s (%s)' },
  eslDownFix: {
    ru: 'Запущен ли FreeSWITCH (systemctl status freeswitch)? Загружен ли mod_event_socket и слушает ли он этот адрес и порт (listen-ip, listen-port в event_socket.conf.xml)?',
    en: 'Is FreeSWITCH running (systemctl status freeswitch)? Is mod_event_socket loaded and listening on this address and port (listen-ip, listen-port in event_socket.conf.xml)?',
  },
  eslDefault: { ru: 'ESL: стоит пароль по умолчанию ClueCon', en: 'ESL: the default password ClueCon is in use' },
  eslDefaultFix: { ru: 'Установите drop-in: npm run fs:install (создаст пароль и запишет его в .env)', en: 'Install the drop-in: npm run fs:install (it generates a password and writes it to .env)' },
  version: { ru: 'Версия: %s', en: 'Version: %s' },
  versionOld: { ru: 'Версия %s: drop-in проверен на FreeSWITCH 1.10', en: 'Version %s: the drop-in is tested with FreeSWITCH 1.10' },
  versionFix: { ru: 'Обновите FreeSWITCH до 1.10.x', en: 'Upgrade FreeSWITCH to 1.10.x' },
  modulesOk: { ru: 'Модули загружены: %s', en: 'Modules loaded: %s' },
  modulesMissing: { ru: 'Не загружены модули: %s', en: 'Modules not loaded: %s' },
  modulesFix: {
    ru: 'Добавьте <load module="…"/> в autoload_configs/modules.conf.xml и загрузите сейчас: fs_cli -x "load …"',
    en: 'Add <load module="…"/> to autoload_configs/modules.conf.xml and load it now: fs_cli -x "load …"',
  },
  dialplanOk: { ru: 'Диалплан: контекст telefonist загружен (коды супервизора, запись, внутренние, выход на оператора)', en: 'Dialplan: context telefonist is loaded (supervisor codes, recording, extensions, carrier)' },
  dialplanMissing: { ru: 'Диалплан: контекст telefonist не найден', en: 'Dialplan: context telefonist not found' },
  dialplanPartial: { ru: 'Диалплан: в контексте telefonist нет %s', en: 'Dialplan: context telefonist lacks %s' },
  dialplanFix: { ru: 'npm run fs:install, затем fs_cli -x reloadxml', en: 'npm run fs:install, then fs_cli -x reloadxml' },
  didOk: { ru: 'Входящие: контекст public передаёт номера (DID) в telefonist', en: 'Inbound: context public hands DIDs to telefonist' },
  didMissing: { ru: 'Входящие: в контексте public ни один DID не ведёт в telefonist', en: 'Inbound: no DID in context public leads to telefonist' },
  didFix: { ru: 'Впишите свои номера в dialplan/public/00_telefonist_dids.xml, затем fs_cli -x reloadxml', en: 'Put your numbers in dialplan/public/00_telefonist_dids.xml, then fs_cli -x reloadxml' },
  contextWarn: { ru: 'TELEFONIST_DIAL_CONTEXT=%s: звонки из Telefonist пойдут мимо записи и прав контекста telefonist', en: 'TELEFONIST_DIAL_CONTEXT=%s: calls Telefonist starts bypass the recording and rights of context telefonist' },
  contextFix: { ru: 'Поставьте TELEFONIST_DIAL_CONTEXT=telefonist в .env (установщик делает это сам)', en: 'Set TELEFONIST_DIAL_CONTEXT=telefonist in .env (the installer does it)' },
  dirUnset: { ru: 'Справочник: TELEFONIST_FS_DIRECTORY_DIR не задан — Telefonist не пишет сотрудников и права супервизоров в FreeSWITCH', en: 'Directory: TELEFONIST_FS_DIRECTORY_DIR is not set: Telefonist writes no employees or supervisor rights to FreeSWITCH' },
  dirUnsetFix: { ru: 'TELEFONIST_FS_DIRECTORY_DIR=/etc/freeswitch/directory/default в .env (установщик делает это сам)', en: 'TELEFONIST_FS_DIRECTORY_DIR=/etc/freeswitch/directory/default in .env (the installer does it)' },
  dirNoFile: { ru: 'Справочник: файла %s нет', en: 'Directory: %s does not exist' },
  dirNoFileFix: { ru: 'Запустите Telefonist с TELEFONIST_FS_DIRECTORY_DIR: он запишет файл и выполнит reloadxml', en: 'Start Telefonist with TELEFONIST_FS_DIRECTORY_DIR: it writes the file and runs reloadxml' },
  dirEmpty: { ru: 'Справочник: в %s пока нет сотрудников', en: 'Directory: no employees in %s yet' },
  dirEmptyFix: { ru: 'Загрузите сотрудников из 1С', en: 'Sync the employees from 1C' },
  dirOk: { ru: 'Справочник: FreeSWITCH видит %s сотрудник(ов) из файла Telefonist, права супервизоров совпадают (домен %s)', en: 'Directory: FreeSWITCH sees %s employee(s) from Telefonist\'s file, supervisor rights match (domain %s)' },
  dirNotOurs: { ru: 'Справочник: для номеров %s FreeSWITCH берёт не нашу запись', en: 'Directory: for %s FreeSWITCH finds an entry that is not ours' },
  dirNotOursFix: {
    ru: 'Выполните fs_cli -x reloadxml; если не помогло — уберите одноимённые файлы directory/default/<номер>.xml (демо-пользователи vanilla с паролем 1234): первая запись с этим id побеждает',
    en: 'Run fs_cli -x reloadxml; if that does not help, remove same-named directory/default/<ext>.xml files (vanilla demo users with password 1234): the first entry with that id wins',
  },
  dirRight: { ru: 'Справочник: право супервизора у %s в FreeSWITCH не такое, как в файле', en: 'Directory: the supervisor right of %s in FreeSWITCH differs from the file' },
  dirRightFix: { ru: 'fs_cli -x reloadxml (Telefonist делает его сам после каждой смены прав; проверьте его журнал)', en: 'fs_cli -x reloadxml (Telefonist runs it after each change of rights; check its log)' },
  recPath: { ru: 'Записи: диалплан пишет в %s, а Telefonist ждёт %s', en: 'Recordings: the dialplan writes to %s, Telefonist expects %s' },
  recPathFix: { ru: 'TELEFONIST_RECORDINGS_FS_DIR=%s в .env (или npm run fs:install -- --recordings <каталог>)', en: 'TELEFONIST_RECORDINGS_FS_DIR=%s in .env (or npm run fs:install -- --recordings <dir>)' },
  recNotSeen: { ru: 'Записи: FreeSWITCH не видит каталог %s', en: 'Recordings: FreeSWITCH does not see %s' },
  recNotSeenFix: { ru: 'mkdir -p %s && chown freeswitch:freeswitch %s', en: 'mkdir -p %s && chown freeswitch:freeswitch %s' },
  recFsWrite: { ru: 'Записи: FreeSWITCH может писать в %s', en: 'Recordings: FreeSWITCH can write to %s' },
  recFsNoWrite: { ru: 'Записи: FreeSWITCH не может создать файл в %s', en: 'Recordings: FreeSWITCH cannot create a file in %s' },
  recFsNoWriteFix: { ru: 'chown -R freeswitch:freeswitch %s (FreeSWITCH работает от своего пользователя)', en: 'chown -R freeswitch:freeswitch %s (FreeSWITCH runs as its own user)' },
  recFsUnknown: { ru: 'Записи: FreeSWITCH видит %s, но право записи не проверить (API system отключён)', en: 'Recordings: FreeSWITCH sees %s, but its write access cannot be checked (the system API is disabled)' },
  recFsUnknownFix: { ru: 'Сделайте пробный звонок и убедитесь, что в каталоге появился новый .wav', en: 'Make a test call and see that a new .wav appears in the directory' },
  recLocalUnset: { ru: 'Записи: TELEFONIST_RECORDINGS_DIR не задан — Telefonist покажет записи в журнале, но не отдаст их', en: 'Recordings: TELEFONIST_RECORDINGS_DIR is not set: Telefonist lists recordings but cannot serve them' },
  recLocalUnsetFix: { ru: 'TELEFONIST_RECORDINGS_DIR=%s в .env', en: 'TELEFONIST_RECORDINGS_DIR=%s in .env' },
  recLocalNoRead: { ru: 'Записи: Telefonist не может читать %s (%s)', en: 'Recordings: Telefonist cannot read %s (%s)' },
  recLocalNoReadFix: { ru: 'Добавьте пользователя Telefonist в группу freeswitch и дайте группе чтение: chmod -R g+rX %s', en: 'Add Telefonist\'s user to group freeswitch and let the group read: chmod -R g+rX %s' },
  recLocalOther: { ru: 'Записи: пробный файл FreeSWITCH не появился в %s — это другой каталог, чем %s у FreeSWITCH', en: 'Recordings: FreeSWITCH\'s probe file did not appear in %s: it is not the directory FreeSWITCH calls %s' },
  recLocalOtherFix: { ru: 'TELEFONIST_RECORDINGS_DIR должен указывать на тот же каталог (или его монтирование), TELEFONIST_RECORDINGS_FS_DIR — на его имя у FreeSWITCH', en: 'TELEFONIST_RECORDINGS_DIR must name the same directory (or its mount), TELEFONIST_RECORDINGS_FS_DIR its name on FreeSWITCH' },
  recLocalOk: { ru: 'Записи: Telefonist читает %s', en: 'Recordings: Telefonist reads %s' },
  clockOk: { ru: 'Часы: расхождение с FreeSWITCH %s мс', en: 'Clocks: %s ms apart from FreeSWITCH' },
  clockBad: { ru: 'Часы: FreeSWITCH и Telefonist расходятся на %s с', en: 'Clocks: FreeSWITCH and Telefonist are %s s apart' },
  clockFix: { ru: 'Включите синхронизацию времени (chrony или systemd-timesyncd: timedatectl set-ntp true) на обеих машинах', en: 'Turn on time sync (chrony or systemd-timesyncd: timedatectl set-ntp true) on both machines' },
  clockUnknown: { ru: 'Часы: FreeSWITCH не ответил временем (%s)', en: 'Clocks: FreeSWITCH did not answer with its time (%s)' },
  gwOk: { ru: 'Оператор: шлюз %s в состоянии %s', en: 'Carrier: gateway %s is %s' },
  gwMissing: { ru: 'Оператор: шлюза %s нет — исходящие на городские номера не пройдут', en: 'Carrier: no gateway %s: outbound calls to phone numbers will fail' },
  gwMissingFix: {
    ru: 'Скопируйте sip_profiles/external/telefonist-carrier.xml.example в telefonist-carrier.xml, впишите данные оператора, затем fs_cli -x "sofia profile external rescan"',
    en: 'Copy sip_profiles/external/telefonist-carrier.xml.example to telefonist-carrier.xml, fill in the carrier\'s values, then fs_cli -x "sofia profile external rescan"',
  },
  gwBad: { ru: 'Оператор: шлюз %s в состоянии %s', en: 'Carrier: gateway %s is %s' },
  gwBadFix: { ru: 'Проверьте адрес, логин и пароль оператора в telefonist-carrier.xml и журнал FreeSWITCH', en: 'Check the carrier\'s address, username and password in telefonist-carrier.xml and FreeSWITCH\'s log' },
  skipped: { ru: 'Пропущены, нет связи с FreeSWITCH: %s', en: 'Skipped, no connection to FreeSWITCH: %s' },
  summarySkipped: { ru: 'Остальные проверки пропущены, потому что нет связи с FreeSWITCH: это не ошибки, они выполнятся, когда связь будет.', en: 'The other checks were skipped because there is no connection to FreeSWITCH: not errors, they run once it connects.' },
  summaryOk: { ru: 'Всё в порядке.', en: 'All good.' },
  summaryWarn: { ru: 'Работает, но есть предупреждения: %s.', en: 'Working, with warnings: %s.' },
  summaryFail: { ru: 'Есть ошибки: %s. Исправьте их и запустите npm run doctor снова.', en: 'Problems found: %s. Fix them and run npm run doctor again.' },
} satisfies Record<string, Msg>;

/** Paths we may put into an `api system` command line: nothing a shell would read specially. */
const SAFE_PATH_RE = /^\/[A-Za-z0-9_./-]*$/;

/** Users and their supervisor right from the file the directory writer wrote. */
export function readDirectoryFile(text: string): Array<{ extension: string; supervisor: boolean }> {
  const out: Array<{ extension: string; supervisor: boolean }> = [];
  const re = /<user id="([0-9]{2,6})">([\s\S]*?)<\/user>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    out.push({ extension: m[1], supervisor: /<variable name="telefonist_supervisor" value="true"\/>/.test(m[2]) });
  }
  return out;
}

async function connect(o: DoctorOptions): Promise<{ esl: EslConnection | null; error?: 'auth' | 'down'; reason?: string }> {
  const esl = new EslConnection({
    host: o.host,
    port: o.port,
    password: o.password,
    events: ['BACKGROUND_JOB'],
    heartbeat: false,
    handshakeTimeoutMs: o.timeoutMs ?? 5000,
    commandTimeoutMs: o.timeoutMs ?? 5000,
    idleProbeMs: 0,
    initialBackoffMs: 60_000,
    maxBackoffMs: 60_000,
  });
  esl.on('error', () => undefined);
  const outcome = await new Promise<'ready' | 'auth' | 'down'>((resolve) => {
    const timer = setTimeout(() => resolve('down'), (o.timeoutMs ?? 5000) + 500);
    esl.once('ready', () => (clearTimeout(timer), resolve('ready')));
    esl.once('authFailed', () => (clearTimeout(timer), resolve('auth')));
    esl.once('disconnected', () => (clearTimeout(timer), resolve('down')));
    esl.start();
  });
  if (outcome === 'ready') return { esl };
  const reason = esl.stats.lastError || 'timeout';
  await esl.close();
  return { esl: null, error: outcome, reason };
}

export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const lang = o.lang ?? 'ru';
  const checks: CheckResult[] = [];
  const add = (id: string, status: CheckStatus, message: string, fix?: string) => checks.push({ id, status, message, ...(fix && status !== 'ok' ? { fix } : {}) });
  const where = `${o.host}:${o.port}`;

  const c = await connect(o);
  if (!c.esl) {
    if (c.error === 'auth') add('esl', 'fail', say(lang, M.eslAuth, where), say(lang, M.eslAuthFix));
    else add('esl', 'fail', say(lang, M.eslDown, where, c.reason ?? ''), say(lang, M.eslDownFix));
    add('skipped', 'skip', say(lang, M.skipped, NEEDS_ESL.map((id) => title(id, lang)).join(', ')));
    return { ok: false, checks };
  }
  const esl = c.esl;
  const api = async (cmd: string): Promise<string> => {
    try {
      return (await esl.api(cmd)).trim();
    } catch (e) {
      return `-ERR ${(e as Error).message}`;
    }
  };
  try {
    add('esl', 'ok', say(lang, M.eslOk, where));
    if (o.password === 'ClueCon') add('esl-password', 'warn', say(lang, M.eslDefault), say(lang, M.eslDefaultFix));

    // Version
    const version = await api('version');
    const vm = /FreeSWITCH Version (\d+\.\d+\.\d+)/.exec(version);
    if (vm && vm[1].startsWith('1.10.')) add('version', 'ok', say(lang, M.version, vm[1]));
    else add('version', 'warn', say(lang, M.versionOld, vm ? vm[1] : version.split('\n')[0] || '?'), say(lang, M.versionFix));

    // Modules
    const missing: string[] = [];
    for (const mod of REQUIRED_MODULES) if ((await api(`module_exists ${mod}`)) !== 'true') missing.push(mod);
    if (missing.length === 0) add('modules', 'ok', say(lang, M.modulesOk, REQUIRED_MODULES.join(', ')));
    else add('modules', 'fail', say(lang, M.modulesMissing, missing.join(', ')), say(lang, M.modulesFix).replaceAll('…', missing[0]));

    // Dialplan
    const ctx = await api('xml_locate dialplan context name telefonist');
    if (!ctx.includes('<context') || !ctx.includes('telefonist')) {
      add('dialplan', 'fail', say(lang, M.dialplanMissing), say(lang, M.dialplanFix));
    } else {
      const lacking = REQUIRED_EXTENSIONS.filter((x) => !ctx.includes(`name="${x}"`));
      if (lacking.length) add('dialplan', 'fail', say(lang, M.dialplanPartial, lacking.join(', ')), say(lang, M.dialplanFix));
      else add('dialplan', 'ok', say(lang, M.dialplanOk));
    }
    // The recordings directory the dialplan writes to must be the one Telefonist reads events for.
    const recIn = /telefonist_rec=([^"$]+)\/\$\{strftime/.exec(ctx)?.[1];
    const fsDirWanted = (o.recordingsFsDir ?? o.recordingsDir ?? DEFAULT_RECORDINGS_DIR).replace(/\/+$/, '');
    if (recIn && recIn !== fsDirWanted) add('recordings-path', 'warn', say(lang, M.recPath, recIn, fsDirWanted), say(lang, M.recPathFix, recIn));
    const pub = await api('xml_locate dialplan context name public');
    if (/XML telefonist/.test(pub)) add('dids', 'ok', say(lang, M.didOk));
    else add('dids', 'warn', say(lang, M.didMissing), say(lang, M.didFix));
    if (o.dialContext !== undefined && o.dialContext !== 'telefonist') add('dial-context', 'warn', say(lang, M.contextWarn, o.dialContext), say(lang, M.contextFix));

    // Directory
    if (!o.directoryDir) {
      add('directory', 'warn', say(lang, M.dirUnset), say(lang, M.dirUnsetFix));
    } else {
      const file = join(o.directoryDir, EMPLOYEES_FILE_NAME);
      let text: string | null = null;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        text = null;
      }
      if (text === null) add('directory', 'fail', say(lang, M.dirNoFile, file), say(lang, M.dirNoFileFix));
      else {
        const users = readDirectoryFile(text).slice(0, o.maxEmployees ?? 50);
        if (users.length === 0) add('directory', 'warn', say(lang, M.dirEmpty, file), say(lang, M.dirEmptyFix));
        else {
          const domain = await api('global_getvar domain');
          const notOurs: string[] = [];
          const wrongRight: string[] = [];
          for (const u of users) {
            if ((await api(`user_data ${u.extension}@${domain} var telefonist_employee`)) !== 'true') {
              notOurs.push(u.extension);
              continue;
            }
            const right = (await api(`user_data ${u.extension}@${domain} var telefonist_supervisor`)) === 'true';
            if (right !== u.supervisor) wrongRight.push(u.extension);
          }
          if (notOurs.length) add('directory', 'fail', say(lang, M.dirNotOurs, notOurs.join(', ')), say(lang, M.dirNotOursFix));
          else if (wrongRight.length) add('directory', 'fail', say(lang, M.dirRight, wrongRight.join(', ')), say(lang, M.dirRightFix));
          else add('directory', 'ok', say(lang, M.dirOk, users.length, domain));
        }
      }
    }

    // Recordings
    const fsDir = (o.recordingsFsDir ?? o.recordingsDir ?? DEFAULT_RECORDINGS_DIR).replace(/\/+$/, '');
    const localDir = o.recordingsDir?.replace(/\/+$/, '');
    let probe: string | null = null;
    if ((await api(`file_exists ${fsDir}`)) !== 'true') {
      add('recordings-fs', 'fail', say(lang, M.recNotSeen, fsDir), say(lang, M.recNotSeenFix, fsDir, fsDir));
    } else if (!SAFE_PATH_RE.test(fsDir)) {
      add('recordings-fs', 'warn', say(lang, M.recFsUnknown, fsDir), say(lang, M.recFsUnknownFix));
    } else {
      const name = `.telefonist-doctor-${randomBytes(6).toString('hex')}`;
      const reply = await api(`system touch ${fsDir}/${name}`);
      if (/^-ERR system Command not found/i.test(reply) || /^-ERR/.test(reply)) {
        add('recordings-fs', 'warn', say(lang, M.recFsUnknown, fsDir), say(lang, M.recFsUnknownFix));
      } else if ((await api(`file_exists ${fsDir}/${name}`)) === 'true') {
        probe = name;
        add('recordings-fs', 'ok', say(lang, M.recFsWrite, fsDir));
      } else {
        add('recordings-fs', 'fail', say(lang, M.recFsNoWrite, fsDir), say(lang, M.recFsNoWriteFix, fsDir));
      }
    }
    if (!localDir) {
      add('recordings-local', 'warn', say(lang, M.recLocalUnset), say(lang, M.recLocalUnsetFix, fsDir));
    } else {
      let readable = true;
      try {
        accessSync(localDir, constants.R_OK | constants.X_OK);
      } catch (e) {
        readable = false;
        add('recordings-local', 'fail', say(lang, M.recLocalNoRead, localDir, (e as NodeJS.ErrnoException).code ?? String(e)), say(lang, M.recLocalNoReadFix, localDir));
      }
      if (readable) {
        if (probe && !existsSync(join(localDir, probe))) add('recordings-local', 'fail', say(lang, M.recLocalOther, localDir, fsDir), say(lang, M.recLocalOtherFix));
        else if (probe) {
          try {
            readFileSync(join(localDir, probe));
            add('recordings-local', 'ok', say(lang, M.recLocalOk, localDir));
          } catch (e) {
            add('recordings-local', 'fail', say(lang, M.recLocalNoRead, localDir, (e as NodeJS.ErrnoException).code ?? String(e)), say(lang, M.recLocalNoReadFix, localDir));
          }
        } else add('recordings-local', 'ok', say(lang, M.recLocalOk, localDir));
      }
    }
    if (probe) {
      let gone = false;
      if (localDir) {
        try {
          unlinkSync(join(localDir, probe));
          gone = true;
        } catch {
          gone = false;
        }
      }
      if (!gone) await api(`system rm -f ${fsDir}/${probe}`);
    }

    // Clocks: FreeSWITCH's time against ours at the middle of the round trip.
    const t0 = Date.now();
    let reply = await api('strmicroepoch');
    let fsMs: number | null = /^\d{13,}$/.test(reply) ? Number(reply) / 1000 : null;
    let resolutionMs = 1;
    if (fsMs === null) {
      reply = await api('strepoch');
      fsMs = /^\d{9,}$/.test(reply) ? Number(reply) * 1000 : null;
      resolutionMs = 1000;
    }
    const t1 = Date.now();
    if (fsMs === null) add('clock', 'warn', say(lang, M.clockUnknown, reply.split('\n')[0]), say(lang, M.clockFix));
    else {
      // strepoch truncates to the second: its true value is up to 1 s later.
      const skew = fsMs + (resolutionMs > 1 ? resolutionMs / 2 : 0) - (t0 + t1) / 2;
      const slack = (t1 - t0) / 2 + (resolutionMs > 1 ? resolutionMs / 2 : 0);
      const beyond = Math.max(0, Math.abs(skew) - slack);
      if (beyond > (o.maxSkewMs ?? 2000)) add('clock', 'fail', say(lang, M.clockBad, (skew / 1000).toFixed(1)), say(lang, M.clockFix));
      else if (beyond > (o.warnSkewMs ?? 500)) add('clock', 'warn', say(lang, M.clockBad, (skew / 1000).toFixed(1)), say(lang, M.clockFix));
      else add('clock', 'ok', say(lang, M.clockOk, Math.round(skew)));
    }

    // The carrier gateway
    const gw = o.gateway ?? 'carrier';
    const gs = await api(`sofia status gateway ${gw}`);
    const state = /^State\s+(\S+)/m.exec(gs)?.[1];
    if (!state) add('gateway', 'warn', say(lang, M.gwMissing, gw), say(lang, M.gwMissingFix));
    else if (state === 'REGED' || state === 'NOREG') add('gateway', 'ok', say(lang, M.gwOk, gw, state));
    else add('gateway', 'warn', say(lang, M.gwBad, gw, state), say(lang, M.gwBadFix));
  } finally {
    await esl.close();
  }
  return { ok: !checks.some((x) => x.status === 'fail'), checks };
}

export function formatReport(r: DoctorReport, lang: DoctorLang = 'ru'): string {
  const mark = { ok: '[ OK ]', warn: '[ !! ]', fail: '[FAIL]', skip: '[ -- ]' } as const;
  const arrow = lang === 'en' ? 'fix' : 'что сделать';
  const lines = r.checks.map((c) => `${mark[c.status]} ${c.message}${c.fix ? `\n       ${arrow}: ${c.fix}` : ''}`);
  // Each problem once, by its title (a check may report several lines).
  const titles = (status: CheckStatus) => [...new Set(r.checks.filter((c) => c.status === status).map((c) => title(c.id, lang)))].join(', ');
  const fails = titles('fail');
  const warns = titles('warn');
  const summary = fails ? say(lang, M.summaryFail, fails) : warns ? say(lang, M.summaryWarn, warns) : say(lang, M.summaryOk);
  return `${lines.join('\n')}\n\n${summary}${r.checks.some((c) => c.status === 'skip') ? `\n${say(lang, M.summarySkipped)}` : ''}\n`;
}
