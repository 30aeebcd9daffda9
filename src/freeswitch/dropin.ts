import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { unifiedDiff } from './unified-diff';

/**
 * The FreeSWITCH drop-in (freeswitch-conf/) as the installer sees it: which files go where, how they are
 * filled in, the plan of a run (add / replace / unchanged / kept), its unified diff, the backup it leaves
 * and the undo. scripts/install-freeswitch-dropin.ts is the command line around it.
 */

/** freeswitch-conf/ in this checkout. */
export const DROPIN_SOURCE = resolve(__dirname, '..', '..', 'freeswitch-conf');

/** The backups live inside the FreeSWITCH configuration directory (no include glob reaches a dot folder). */
export const BACKUP_DIRNAME = '.telefonist-backup';

/**
 * - `ours`: Telefonist's file; replaced on every install (the previous content is backed up).
 * - `replace`: a vanilla file the drop-in must replace (event socket); backed up.
 * - `site`: written only when missing (or with force): the installer's own edits (DIDs, carrier) and the
 *   employees file Telefonist itself rewrites.
 */
export type DropinKind = 'ours' | 'replace' | 'site';

export interface DropinFile {
  /** Path relative to the FreeSWITCH configuration directory (and to freeswitch-conf/). */
  rel: string;
  kind: DropinKind;
  /** Holds a secret: written 0640, shown masked in diffs. */
  secret?: boolean;
}

export const DROPIN_FILES: readonly DropinFile[] = [
  { rel: 'autoload_configs/event_socket.conf.xml', kind: 'replace', secret: true },
  { rel: 'dialplan/telefonist.xml', kind: 'ours' },
  { rel: 'dialplan/public/00_telefonist_dids.xml', kind: 'site' },
  { rel: 'directory/default/00-telefonist-employees.xml', kind: 'site' },
  { rel: 'sip_profiles/external/telefonist-carrier.xml.example', kind: 'ours' },
];

/** The employees file Telefonist writes (TELEFONIST_FS_DIRECTORY_DIR = <conf>/directory/default). */
export const EMPLOYEES_FILE_NAME = '00-telefonist-employees.xml';

export interface DropinVars {
  eslPassword: string;
  eslPort: number;
  recordingsDir: string;
  gateway: string;
}

export const DEFAULT_RECORDINGS_DIR = '/var/lib/freeswitch/recordings';

/** What may stand in the generated files: nothing that XML, the FreeSWITCH preprocessor or a dial string reads. */
export function checkVars(v: DropinVars): string[] {
  const bad: string[] = [];
  if (!/^[A-Za-z0-9_.~@%+=:-]{12,128}$/.test(v.eslPassword)) bad.push('eslPassword');
  if (!Number.isInteger(v.eslPort) || v.eslPort < 1 || v.eslPort > 65535) bad.push('eslPort');
  if (!/^\/[A-Za-z0-9_./-]*[A-Za-z0-9_-]$/.test(v.recordingsDir) || v.recordingsDir.includes('..')) bad.push('recordingsDir');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v.gateway)) bad.push('gateway');
  return bad;
}

/** A new event socket password: 24 URL-safe characters (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

export function renderDropinFile(rel: string, vars: DropinVars, source = DROPIN_SOURCE): string {
  const text = readFileSync(join(source, rel), 'utf8');
  return text
    .replaceAll('@ESL_PASSWORD@', vars.eslPassword)
    .replaceAll('@ESL_PORT@', String(vars.eslPort))
    .replaceAll('@RECORDINGS_DIR@', vars.recordingsDir)
    .replaceAll('@GATEWAY@', vars.gateway);
}

export type PlanAction = 'add' | 'replace' | 'unchanged' | 'keep';

export interface PlanItem {
  rel: string;
  target: string;
  kind: DropinKind;
  action: PlanAction;
  before: string | null;
  after: string;
  secret: boolean;
  mode?: number;
}

export interface EnvPlan {
  path: string;
  before: string | null;
  after: string;
  changed: boolean;
}

export interface InstallPlan {
  conf: string;
  items: PlanItem[];
  env: EnvPlan | null;
  password: string;
}

/** Reads KEY=value lines (no expansion; quotes around the value are removed). */
export function parseEnv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    let v = m[2];
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out.set(m[1], v);
  }
  return out;
}

/** Sets keys in a .env text: an existing line is replaced in place, a new one appended. */
export function setEnvKeys(text: string | null, values: Record<string, string>): string {
  const lines = text === null || text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const done = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(lines[i]);
    if (m && m[1] in values) {
      lines[i] = `${m[1]}=${values[m[1]]}`;
      done.add(m[1]);
    }
  }
  for (const [k, v] of Object.entries(values)) if (!done.has(k)) lines.push(`${k}=${v}`);
  return `${lines.join('\n')}\n`;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export interface PlanOptions {
  conf: string;
  /** Telefonist's .env to update (null: leave it alone). */
  envPath: string | null;
  recordingsDir?: string;
  gateway?: string;
  eslPort?: number;
  /** Also overwrite site files (DIDs, the employees file). */
  force?: boolean;
  /** Use this password instead of the one in .env or a new one (tests). */
  password?: string;
  source?: string;
}

/**
 * What an install would do. The event socket password is kept across runs: the one already in .env (when
 * it is not FreeSWITCH's well-known default), else a new one.
 */
export function planInstall(o: PlanOptions): InstallPlan {
  const conf = resolve(o.conf);
  const envBefore = o.envPath ? readOrNull(o.envPath) : null;
  const envVars = envBefore ? parseEnv(envBefore) : new Map<string, string>();
  const known = envVars.get('FREESWITCH_ESL_PASSWORD');
  const password = o.password ?? (known && known !== 'ClueCon' && /^[A-Za-z0-9_.~@%+=:-]{12,128}$/.test(known) ? known : generatePassword());
  const vars: DropinVars = {
    eslPassword: password,
    eslPort: o.eslPort ?? 8021,
    recordingsDir: (o.recordingsDir ?? DEFAULT_RECORDINGS_DIR).replace(/\/+$/, ''),
    gateway: o.gateway ?? 'carrier',
  };
  const bad = checkVars(vars);
  if (bad.length) throw new Error(`invalid drop-in settings: ${bad.join(', ')}`);
  const items: PlanItem[] = DROPIN_FILES.map((f) => {
    const target = join(conf, f.rel);
    const before = readOrNull(target);
    const after = renderDropinFile(f.rel, vars, o.source);
    let action: PlanAction;
    if (before === null) action = 'add';
    else if (before === after) action = 'unchanged';
    else if (f.kind === 'site' && !o.force) action = 'keep';
    else action = 'replace';
    let mode: number | undefined;
    try {
      mode = statSync(target).mode & 0o777;
    } catch {
      mode = undefined;
    }
    return { rel: f.rel, target, kind: f.kind, action, before, after, secret: !!f.secret, mode };
  });
  let env: EnvPlan | null = null;
  if (o.envPath) {
    const after = setEnvKeys(envBefore, {
      FREESWITCH_ESL_HOST: '127.0.0.1',
      FREESWITCH_ESL_PORT: String(vars.eslPort),
      FREESWITCH_ESL_PASSWORD: password,
      TELEFONIST_DIAL_CONTEXT: 'telefonist',
      TELEFONIST_FS_DIRECTORY_DIR: join(conf, 'directory', 'default'),
      TELEFONIST_RECORDINGS_FS_DIR: vars.recordingsDir,
    });
    env = { path: resolve(o.envPath), before: envBefore, after, changed: after !== envBefore };
  }
  return { conf, items, env, password };
}

/** The dry run's output: one unified diff per file that would change, the password masked. */
export function planDiff(plan: InstallPlan): string {
  const mask = (t: string | null) => (t === null ? null : t.split(plan.password).join('********'));
  let out = '';
  for (const it of plan.items) {
    if (it.action !== 'add' && it.action !== 'replace') continue;
    out += unifiedDiff(mask(it.before), mask(it.after), `a/${it.rel}`, `b/${it.rel}`);
  }
  if (plan.env?.changed) out += unifiedDiff(mask(plan.env.before), mask(plan.env.after), plan.env.path, plan.env.path);
  return out;
}

/** temp + rename in the same directory; the temp name matches no `*.xml` include glob. */
export function writeAtomic(path: string, text: string, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${relative(dirname(path), path)}.${process.pid}.tmp`);
  writeFileSync(tmp, text, { mode: mode ?? 0o644 });
  if (mode !== undefined) chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** New files take the owner of their directory, so a FreeSWITCH running as its own user can read them. */
function ownLikeParent(path: string): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  try {
    const st = statSync(dirname(path));
    chownSync(path, st.uid, st.gid);
  } catch {
    /* best effort */
  }
}

export interface BackupManifest {
  version: 1;
  createdAt: string;
  conf: string;
  /** rel → whether it existed before (existed: restored on undo; not: removed on undo). */
  files: Array<{ rel: string; existed: boolean }>;
  env: { path: string; existed: boolean } | null;
  undoneAt?: string;
}

function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export interface ApplyResult {
  backupDir: string | null;
  written: string[];
}

/** Writes the plan: every file it adds or replaces is first recorded in a timestamped backup. */
export function applyInstall(plan: InstallPlan): ApplyResult {
  const changes = plan.items.filter((i) => i.action === 'add' || i.action === 'replace');
  const envChange = plan.env?.changed ? plan.env : null;
  if (changes.length === 0 && !envChange) return { backupDir: null, written: [] };
  const root = join(plan.conf, BACKUP_DIRNAME);
  let dir = join(root, stamp());
  for (let n = 1; existsSync(dir); n++) dir = join(root, `${stamp()}-${n}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const manifest: BackupManifest = { version: 1, createdAt: new Date().toISOString(), conf: plan.conf, files: [], env: null };
  for (const it of changes) {
    const existed = it.before !== null;
    if (existed) {
      const copy = join(dir, 'files', it.rel);
      mkdirSync(dirname(copy), { recursive: true });
      copyFileSync(it.target, copy);
    }
    manifest.files.push({ rel: it.rel, existed });
  }
  if (envChange) {
    const existed = envChange.before !== null;
    if (existed) copyFileSync(envChange.path, join(dir, 'env'));
    manifest.env = { path: envChange.path, existed };
  }
  // The manifest goes first: an interrupted install can still be undone.
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  const written: string[] = [];
  for (const it of changes) {
    const mode = it.secret ? 0o640 : it.mode ?? 0o644;
    writeAtomic(it.target, it.after, mode);
    if (it.before === null) ownLikeParent(it.target);
    written.push(it.rel);
  }
  if (envChange) {
    writeAtomic(envChange.path, envChange.after, envChange.before === null ? 0o600 : statSync(envChange.path).mode & 0o777);
    written.push(envChange.path);
  }
  return { backupDir: dir, written };
}

/** Backups of this configuration directory, oldest first. */
export function listBackups(conf: string): Array<{ dir: string; manifest: BackupManifest }> {
  const root = join(resolve(conf), BACKUP_DIRNAME);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort()
    .flatMap((name) => {
      try {
        const manifest = JSON.parse(readFileSync(join(root, name, 'manifest.json'), 'utf8')) as BackupManifest;
        return [{ dir: join(root, name), manifest }];
      } catch {
        return [];
      }
    });
}

export interface UndoResult {
  backupDir: string;
  restored: string[];
  removed: string[];
}

/** Restores the newest backup not yet undone: replaced files come back, added ones go. Null: nothing to undo. */
export function undoLast(conf: string): UndoResult | null {
  const last = listBackups(conf).filter((b) => !b.manifest.undoneAt).pop();
  if (!last) return null;
  const { dir, manifest } = last;
  const restored: string[] = [];
  const removed: string[] = [];
  for (const f of manifest.files) {
    const target = join(manifest.conf, f.rel);
    if (f.existed) {
      writeAtomic(target, readFileSync(join(dir, 'files', f.rel), 'utf8'), statSync(join(dir, 'files', f.rel)).mode & 0o777);
      restored.push(f.rel);
    } else if (existsSync(target)) {
      unlinkSync(target);
      removed.push(f.rel);
    }
  }
  if (manifest.env) {
    if (manifest.env.existed) {
      writeAtomic(manifest.env.path, readFileSync(join(dir, 'env'), 'utf8'), 0o600);
      restored.push(manifest.env.path);
    } else if (existsSync(manifest.env.path)) {
      unlinkSync(manifest.env.path);
      removed.push(manifest.env.path);
    }
  }
  manifest.undoneAt = new Date().toISOString();
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return { backupDir: dir, restored, removed };
}
