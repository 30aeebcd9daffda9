import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EMPLOYEES_FILE_NAME, writeAtomic } from './dropin';

/**
 * Writes FreeSWITCH's directory of our employees (one include file, `00-telefonist-employees.xml`, in
 * TELEFONIST_FS_DIRECTORY_DIR = <conf>/directory/default, which the vanilla directory/default.xml includes
 * with `default/*.xml`) and runs `reloadxml` when it changed. Each user carries:
 *  - user_context=telefonist: the phone's calls run in the drop-in's context (freeswitch-conf/dialplan);
 *  - telefonist_supervisor=true|false: the right the supervisor feature codes check in the dialplan
 *    (`${user_data(${user_name}@$${domain} var telefonist_supervisor)}`), so FreeSWITCH decides it from SIP
 *    digest auth and this file, without a PIN and without Telefonist running;
 *  - telefonist_ext=<ext>: FreeSWITCH copies user variables onto the employee's legs (calls from the phone
 *    after auth, calls to `user/<ext>` once answered), which is how the supervisor codes find and check the
 *    employee's own leg of a call;
 *  - telefonist_employee=true: `npm run doctor` checks FreeSWITCH sees our entry (the file name sorts
 *    before vanilla's 1000.xml…1019.xml, and the first user with an id wins).
 * The file is replaced atomically (temp + rename): FreeSWITCH never reads half a file.
 */

export interface DirectoryEmployee {
  extension: string;
  name: string;
  supervisor: boolean;
  /**
   * SIP password of the employee's phone(s). Without one the writer keeps the phone's current credential:
   * the `password` / `a1-hash` param of the same user in another file of the directory (a vanilla-style
   * `<ext>.xml`), else the one its own previous file had; with neither the entry has none and the phone
   * cannot register.
   */
  password?: string;
  /** A credential carried over as it stood (see password); set by the writer. */
  carriedAuth?: { name: 'password' | 'a1-hash'; value: string };
}

/** The part of an EslConnection the writer needs. */
export interface EslApi {
  api(cmd: string): Promise<string>;
}

export const DIRECTORY_EXTENSION_RE = /^[0-9]{2,6}$/;
/** No $ { } (FreeSWITCH's preprocessor and channel-variable expansion), quotes, <>&, spaces or control characters. */
export const DIRECTORY_PASSWORD_RE = /^[A-Za-z0-9!#%()*+,\-./:;=?@[\]^_~|]{8,64}$/;

/** A carried-over credential: a safe password, or a preprocessor variable such as vanilla's $${default_password}. */
const CARRIED_AUTH_RE = /^([A-Za-z0-9!#%()*+,\-./:;=?@[\]^_~|]{1,128}|\$\$\{[A-Za-z0-9_]{1,64}\})$/;

export class DirectoryInputError extends Error {}

function xmlUnescape(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** `<user id="…">` → its password or a1-hash param, from FreeSWITCH directory XML text. */
export function credentialsIn(text: string): Map<string, { name: 'password' | 'a1-hash'; value: string }> {
  const out = new Map<string, { name: 'password' | 'a1-hash'; value: string }>();
  const users = /<user\b[^>]*\bid="([^"]+)"[^>]*>([\s\S]*?)<\/user>/g;
  let u: RegExpExecArray | null;
  const noComments = text.replace(/<!--[\s\S]*?-->/g, '');
  while ((u = users.exec(noComments))) {
    const p = /<param\s+name="(password|a1-hash)"\s+value="([^"]*)"\s*\/>/.exec(u[2]);
    if (p && !out.has(u[1])) out.set(u[1], { name: p[1] as 'password' | 'a1-hash', value: xmlUnescape(p[2]) });
  }
  return out;
}

function xmlAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A name as a caller id: no characters FreeSWITCH would expand or a phone could choke on, at most 64. */
export function cleanName(name: string): string {
  return name
    .replace(/[\u0000-\u001f\u007f$\\{}]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 64);
}

/** The directory XML of these employees (sorted by extension; throws on an extension or password we cannot write). */
export function renderDirectoryXml(employees: readonly DirectoryEmployee[]): string {
  const seen = new Set<string>();
  const sorted = [...employees].sort((a, b) => a.extension.localeCompare(b.extension, 'en', { numeric: true }));
  const users = sorted.map((e) => {
    if (!DIRECTORY_EXTENSION_RE.test(e.extension)) throw new DirectoryInputError(`extension ${JSON.stringify(e.extension)} must be 2 to 6 digits`);
    if (seen.has(e.extension)) throw new DirectoryInputError(`extension ${e.extension} appears twice`);
    seen.add(e.extension);
    if (e.password !== undefined && !DIRECTORY_PASSWORD_RE.test(e.password)) {
      throw new DirectoryInputError(`extension ${e.extension}: the SIP password must be 8 to 64 characters without spaces, quotes, $ { } < > & \\`);
    }
    const name = cleanName(e.name) || e.extension;
    const auth = e.password !== undefined ? { name: 'password', value: e.password } : e.carriedAuth && CARRIED_AUTH_RE.test(e.carriedAuth.value) ? e.carriedAuth : null;
    const params = auth ? `    <params>\n      <param name="${auth.name}" value="${xmlAttr(auth.value)}"/>\n    </params>\n` : '';
    const vars: Array<[string, string]> = [
      ['user_context', 'telefonist'],
      ['accountcode', e.extension],
      ['effective_caller_id_name', name],
      ['effective_caller_id_number', e.extension],
      ['telefonist_employee', 'true'],
      ['telefonist_supervisor', e.supervisor ? 'true' : 'false'],
      ['telefonist_ext', e.extension],
    ];
    const varXml = vars.map(([k, v]) => `      <variable name="${k}" value="${xmlAttr(v)}"/>`).join('\n');
    return `  <user id="${e.extension}">\n${params}    <variables>\n${varXml}\n    </variables>\n  </user>\n`;
  });
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n' +
    '<!-- Written by Telefonist from its employees (TELEFONIST_FS_DIRECTORY_DIR); do not edit: it is rewritten. -->\n' +
    `<include>\n${users.join('')}</include>\n`
  );
}

export interface WriteResult {
  path: string;
  /** The file's content changed (so FreeSWITCH must reload). */
  changed: boolean;
  /** Extensions written without a SIP password. */
  withoutPassword: string[];
}

/** Writes the file when its content differs from what is there (atomically). */
export async function writeDirectory(dir: string, employees: readonly DirectoryEmployee[], fileName = EMPLOYEES_FILE_NAME): Promise<WriteResult> {
  const path = join(dir, fileName);
  let before: string | null = null;
  try {
    before = await readFile(path, 'utf8');
  } catch {
    before = null;
  }
  // Credentials of employees Telefonist has no password for: another file of the directory first (the
  // phone registers with that today), then our previous file (the other file may since have been removed).
  const needing = employees.filter((e) => e.password === undefined && !e.carriedAuth);
  let completed: readonly DirectoryEmployee[] = employees;
  if (needing.length) {
    const known = new Map<string, { name: 'password' | 'a1-hash'; value: string }>();
    const others = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.xml') && n !== fileName).sort();
    for (const n of others) {
      const t = await readFile(join(dir, n), 'utf8').catch(() => '');
      for (const [id, c] of credentialsIn(t)) if (!known.has(id)) known.set(id, c);
    }
    if (before) for (const [id, c] of credentialsIn(before)) if (!known.has(id)) known.set(id, c);
    completed = employees.map((e) => (e.password === undefined && !e.carriedAuth && known.has(e.extension) ? { ...e, carriedAuth: known.get(e.extension) } : e));
  }
  const text = renderDirectoryXml(completed);
  const withoutPassword = completed.filter((e) => e.password === undefined && !(e.carriedAuth && CARRIED_AUTH_RE.test(e.carriedAuth.value))).map((e) => e.extension);
  if (before === text) return { path, changed: false, withoutPassword };
  // The file holds SIP passwords: 0640 (FreeSWITCH reads it through the directory's group, see
  // docs/installer-guide.md), or the mode the installer or an administrator gave the file before.
  let mode = 0o640;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch {
    /* new file */
  }
  writeAtomic(path, text, mode);
  return { path, changed: true, withoutPassword };
}

/** What the employees module offers (src/employees/employees.ts): list(), isSupervisor(), a 'changed' event. */
export interface EmployeesSource {
  list(): unknown[] | Promise<unknown[]>;
  /** The right in effect (own or through a group), by extension. */
  isSupervisor?(extension: string): boolean | Promise<boolean>;
  on(event: 'changed', listener: (...args: any[]) => void): unknown;
  off?(event: 'changed', listener: (...args: any[]) => void): unknown;
  removeListener?(event: 'changed', listener: (...args: any[]) => void): unknown;
}

export interface DirectoryWriterOptions {
  /** TELEFONIST_FS_DIRECTORY_DIR. */
  dir: string;
  fileName?: string;
  /** Coalesce bursts of 'changed' (a bulk sync from 1C) into one write and one reloadxml, ms (default 300). */
  debounceMs?: number;
  /**
   * One employee of `list()` → its directory entry. Default: `extension`, `name` (or `fullName`),
   * `password` (or `sipPassword`), and the right from `supervisor` when it is a boolean, else
   * `isSupervisor(extension)`.
   */
  map?: (employee: any, employees: EmployeesSource) => DirectoryEmployee | null | Promise<DirectoryEmployee | null>;
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

export interface DirectoryWriterHandle {
  /** Writes now (and reloads FreeSWITCH if the file changed or an earlier reload failed). */
  sync(): Promise<WriteResult | null>;
  /** Resolves when no write is pending or running. */
  idle(): Promise<void>;
  stop(): void;
  readonly stats: { writes: number; reloads: number; reloadFailures: number; errors: number; pendingReload: boolean };
}

async function defaultMap(e: any, employees: EmployeesSource): Promise<DirectoryEmployee | null> {
  if (!e || typeof e.extension !== 'string') return null;
  const supervisor = typeof e.supervisor === 'boolean' ? e.supervisor : employees.isSupervisor ? !!(await employees.isSupervisor(e.extension)) : false;
  const password = typeof e.password === 'string' ? e.password : typeof e.sipPassword === 'string' ? e.sipPassword : undefined;
  return { extension: e.extension, name: String(e.name ?? e.fullName ?? ''), supervisor, password };
}

/**
 * Keeps FreeSWITCH's directory in step with the employees: writes at start, then after every 'changed'
 * (debounced, one write at a time), and runs `api reloadxml` when the file changed. A reload that fails
 * (FreeSWITCH down) is retried on the next sync and when `esl` emits 'ready' (an EslConnection does after
 * each reconnect). Employees that cannot be written (a bad extension) are skipped with a warning; the rest
 * are written.
 */
export function attachDirectoryWriter(employees: EmployeesSource, esl: EslApi & { on?: (ev: 'ready', fn: () => void) => unknown; off?: (ev: 'ready', fn: () => void) => unknown }, opts: DirectoryWriterOptions): DirectoryWriterHandle {
  const log = opts.log ?? (() => undefined);
  const map = opts.map ?? defaultMap;
  const debounceMs = opts.debounceMs ?? 300;
  const stats = { writes: 0, reloads: 0, reloadFailures: 0, errors: 0, pendingReload: false };
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<WriteResult | null> = Promise.resolve(null);
  let stopped = false;

  const reload = async (): Promise<void> => {
    try {
      const body = await esl.api('reloadxml');
      if (!body.startsWith('+OK')) throw new Error(body.trim() || 'empty reply');
      stats.reloads++;
      stats.pendingReload = false;
      log('info', 'FreeSWITCH directory reloaded (reloadxml)');
    } catch (e) {
      stats.reloadFailures++;
      stats.pendingReload = true;
      log('warn', `reloadxml failed, retried on reconnect: ${(e as Error).message}`);
    }
  };

  const once = async (): Promise<WriteResult | null> => {
    if (stopped) return null;
    try {
      const list = await employees.list();
      const entries: DirectoryEmployee[] = [];
      const seen = new Set<string>();
      for (const e of list) {
        const d = await map(e, employees);
        if (!d) continue;
        try {
          renderDirectoryXml([d]);
        } catch (err) {
          log('warn', `employee not written to the FreeSWITCH directory: ${(err as Error).message}`);
          continue;
        }
        if (seen.has(d.extension)) {
          log('warn', `employee not written to the FreeSWITCH directory: extension ${d.extension} appears twice`);
          continue;
        }
        seen.add(d.extension);
        entries.push(d);
      }
      const r = await writeDirectory(opts.dir, entries, opts.fileName);
      if (r.changed) {
        stats.writes++;
        stats.pendingReload = true;
        log('info', `FreeSWITCH directory written: ${entries.length} employee(s), ${r.path}`);
        if (r.withoutPassword.length) log('warn', `no SIP password for ${r.withoutPassword.join(', ')}: their phones cannot register until one is set`);
      }
      if (stats.pendingReload) await reload();
      return r;
    } catch (e) {
      stats.errors++;
      log('error', `FreeSWITCH directory not written: ${(e as Error).message}`);
      return null;
    }
  };

  const sync = (): Promise<WriteResult | null> => {
    running = running.then(once, once);
    return running;
  };

  const onChanged = () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void sync();
    }, debounceMs);
  };
  const onReady = () => {
    if (stats.pendingReload && !stopped) void sync();
  };

  employees.on('changed', onChanged);
  esl.on?.('ready', onReady);
  void sync();

  return {
    sync,
    async idle() {
      while (timer) await new Promise((r) => setTimeout(r, Math.max(5, debounceMs / 4)));
      await running;
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      if (employees.off) employees.off('changed', onChanged);
      else employees.removeListener?.('changed', onChanged);
      esl.off?.('ready', onReady);
    },
    stats,
  };
}
