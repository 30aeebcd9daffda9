import { EventEmitter } from 'node:events';
import { Db, SqlValue } from '../db/database';
import { PreparedEmployee, PreparedGroup, Right } from './employee-input';
import { hashPassword, verifyPassword } from '../auth/passwords';
import { ValidationError } from '../validation';
import { marks } from '../db/sql';

export interface Employee {
  extension: string;
  /** Full name (ФИО). */
  name: string;
  /** The 1C user's reference (GUID), or null. */
  userRef: string | null;
  /** Group ids. */
  groups: string[];
  /** Rights granted to the employee themself (not through groups). */
  rights: Right[];
  createdAt: number;
  updatedAt: number;
  /** Panel sign-in name, or null. */
  login: string | null;
  /** Whether a password is set (the hash itself stays in the database). */
  hasPassword: boolean;
}

export interface EmployeeGroup {
  id: string;
  name: string;
  rights: Right[];
  updatedAt: number;
}

/** An employee as the API shows it: own rights, groups, and the rights in effect (own ∪ groups'). */
export interface EmployeeView {
  extension: string;
  name: string;
  userRef: string | null;
  groups: string[];
  rights: Right[];
  effectiveRights: Right[];
  supervisor: boolean;
  /** Panel sign-in name, or null (the password is never shown). */
  login: string | null;
  hasPassword: boolean;
  createdAt: string;
  updatedAt: string;
}

interface EmployeeRow {
  extension: string;
  name: string;
  user_ref: string | null;
  groups: string;
  rights: string;
  created_at: bigint | number | string;
  updated_at: bigint | number | string;
  login: string | null;
  has_password: bigint | number | boolean;
}

interface GroupRow {
  id: string;
  name: string;
  rights: string;
  updated_at: bigint | number | string;
}

function jsonList<T>(s: string): T[] {
  try {
    const v = JSON.parse(s) as unknown;
    return Array.isArray(v) ? (v as T[]) : [];
  } catch {
    return [];
  }
}

const BULK_ROWS = 500;

/**
 * The employees 1C syncs (extension, full name, 1C user, groups, rights) and their groups. Kept in memory
 * (a company has hundreds, not millions), written through to the database in one transaction per change;
 * writes are serialised. Every change emits 'changed' with the extensions whose name, groups or rights
 * changed (a group's rights changing names its members): the FreeSWITCH directory writer and supervision
 * rights follow it.
 */
export class Employees extends EventEmitter {
  private readonly byExt = new Map<string, Employee>();
  private readonly groupsById = new Map<string, EmployeeGroup>();
  private writes: Promise<unknown> = Promise.resolve();

  private constructor(private readonly db: Db) {
    super();
    this.setMaxListeners(0);
  }

  static async open(db: Db): Promise<Employees> {
    const e = new Employees(db);
    await e.reload();
    return e;
  }

  /** Reads every employee and group from the database again. */
  async reload(): Promise<void> {
    const rows = await this.db.query<EmployeeRow>('SELECT extension, name, user_ref, groups, rights, created_at, updated_at, login, CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS has_password FROM employees');
    const groups = await this.db.query<GroupRow>('SELECT id, name, rights, updated_at FROM employee_groups');
    this.byExt.clear();
    for (const r of rows) this.byExt.set(r.extension, fromRow(r));
    this.groupsById.clear();
    for (const g of groups) this.groupsById.set(g.id, { id: g.id, name: g.name, rights: jsonList<Right>(g.rights), updatedAt: Number(g.updated_at) });
  }

  // ---- reading (synchronous, from memory) --------------------------------------------------------------

  get(extension: string): Employee | undefined {
    return this.byExt.get(extension);
  }

  /** Every employee, by extension. */
  list(): Employee[] {
    return [...this.byExt.values()].sort((a, b) => a.extension.localeCompare(b.extension, 'en', { numeric: true }));
  }

  /** How many employees are configured (0: nobody synced any; tokens then name any extension). */
  count(): number {
    return this.byExt.size;
  }

  /** The employee's full name, or undefined for an extension nobody configured. */
  nameOf(extension: string): string | undefined {
    return this.byExt.get(extension)?.name;
  }

  groups(): EmployeeGroup[] {
    return [...this.groupsById.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Groups with their members' extensions, as the API lists them. */
  groupViews(): Array<{ id: string; name: string; rights: Right[]; members: string[] }> {
    const list = this.list();
    return this.groups().map((g) => ({ id: g.id, name: g.name, rights: g.rights, members: list.filter((e) => e.groups.includes(g.id)).map((e) => e.extension) }));
  }

  group(id: string): EmployeeGroup | undefined {
    return this.groupsById.get(id);
  }

  /** Rights in effect: the employee's own and those of every group they are in. */
  rightsOf(extension: string): Right[] {
    const e = this.byExt.get(extension);
    if (!e) return [];
    const out = new Set<Right>(e.rights);
    for (const g of e.groups) for (const r of this.groupsById.get(g)?.rights ?? []) out.add(r);
    return [...out].sort();
  }

  /** Whether the extension's employee holds the supervisor right (themself or through a group). */
  isSupervisor(extension: string): boolean {
    return this.rightsOf(extension).includes('supervisor');
  }

  /** Extensions of every employee holding the supervisor right. */
  supervisors(): string[] {
    return this.list().filter((e) => this.isSupervisor(e.extension)).map((e) => e.extension);
  }

  view(extension: string): EmployeeView | undefined {
    const e = this.byExt.get(extension);
    if (!e) return undefined;
    const effectiveRights = this.rightsOf(extension);
    return {
      extension: e.extension,
      name: e.name,
      userRef: e.userRef,
      groups: e.groups,
      rights: e.rights,
      effectiveRights,
      supervisor: effectiveRights.includes('supervisor'),
      login: e.login,
      hasPassword: e.hasPassword,
      createdAt: new Date(e.createdAt).toISOString(),
      updatedAt: new Date(e.updatedAt).toISOString(),
    };
  }

  // ---- writing -------------------------------------------------------------------------------------------

  /**
   * One sync batch from 1C, all or nothing: groups upserted, employees upserted (each replaces the
   * whole record), then employees and groups deleted. Idempotent: the same batch twice leaves the same
   * state and the second emits no 'changed'. With `run`, the employees are marked as seen by that full sync.
   */
  sync(batch: { employees?: PreparedEmployee[]; groups?: PreparedGroup[]; deleted?: string[]; deletedGroups?: string[]; run?: string }): Promise<{
    upserted: number;
    deleted: number;
    groups: number;
    deletedGroups: number;
  }> {
    return this.serial(async () => {
      const employees = batch.employees ?? [];
      const groups = batch.groups ?? [];
      const deleted = [...new Set(batch.deleted ?? [])].filter((x) => this.byExt.has(x));
      const deletedGroups = [...new Set(batch.deletedGroups ?? [])].filter((x) => this.groupsById.has(x));
      // Credentials are worked out (and passwords hashed) before the transaction, which may wait on nothing else.
      const creds = await this.credentialChanges(employees, deleted);
      const ended = [...new Set([...creds.map((c) => c.extension), ...deleted])];
      const now = Date.now();
      await this.db.transaction(async (tx) => {
        if (groups.length) {
          await this.db.execMany(
            'INSERT INTO employee_groups (id, name, rights, updated_at)',
            4,
            groups.map((g) => [g.id, g.name, JSON.stringify(g.rights), BigInt(now)] as SqlValue[]),
            'ON CONFLICT (id) DO UPDATE SET name = excluded.name, rights = excluded.rights, updated_at = excluded.updated_at',
            tx,
            BULK_ROWS,
          );
        }
        if (employees.length) {
          await this.db.execMany(
            'INSERT INTO employees (extension, name, user_ref, groups, rights, sync_run, created_at, updated_at)',
            8,
            employees.map((e) => [e.extension, e.name, e.userRef, JSON.stringify(e.groups), JSON.stringify(e.rights), batch.run ?? null, BigInt(now), BigInt(now)] as SqlValue[]),
            `ON CONFLICT (extension) DO UPDATE SET name = excluded.name, user_ref = excluded.user_ref, groups = excluded.groups, rights = excluded.rights,
              sync_run = COALESCE(excluded.sync_run, employees.sync_run), updated_at = excluded.updated_at`,
            tx,
            BULK_ROWS,
          );
        }
        for (let i = 0; i < deleted.length; i += BULK_ROWS) {
          const chunk = deleted.slice(i, i + BULK_ROWS);
          await this.db.exec(`DELETE FROM employees WHERE extension IN (${marks(chunk)})`, chunk, tx);
        }
        // Logins first cleared, then set: two employees may swap logins in one batch under the unique index.
        for (const c of creds) await this.db.exec('UPDATE employees SET login = NULL WHERE extension = ?', [c.extension], tx);
        for (const c of creds) await this.db.exec('UPDATE employees SET login = ?, password_hash = ? WHERE extension = ?', [c.login, c.passwordHash, c.extension], tx);
        // Changed credentials, or an employee gone, end their panel sign-ins in the same transaction.
        for (let i = 0; i < ended.length; i += BULK_ROWS) {
          const chunk = ended.slice(i, i + BULK_ROWS);
          await this.db.exec(`DELETE FROM panel_sessions WHERE employee IN (${marks(chunk)})`, chunk, tx);
        }
        for (let i = 0; i < deletedGroups.length; i += BULK_ROWS) {
          const chunk = deletedGroups.slice(i, i + BULK_ROWS);
          await this.db.exec(`DELETE FROM employee_groups WHERE id IN (${marks(chunk)})`, chunk, tx);
        }
      });
      // Committed: memory follows, and whoever listens hears which extensions changed.
      const before = this.snapshotRights();
      const changed = new Set<string>();
      for (const g of groups) this.groupsById.set(g.id, { ...g, updatedAt: now });
      for (const id of deletedGroups) this.groupsById.delete(id);
      for (const e of employees) {
        const prev = this.byExt.get(e.extension);
        if (!prev || prev.name !== e.name || prev.userRef !== e.userRef || !sameList(prev.groups, e.groups) || !sameList(prev.rights, e.rights)) changed.add(e.extension);
        this.byExt.set(e.extension, {
          extension: e.extension, name: e.name, userRef: e.userRef, groups: e.groups, rights: e.rights,
          login: prev?.login ?? null, hasPassword: prev?.hasPassword ?? false,
          createdAt: prev?.createdAt ?? now, updatedAt: now,
        });
      }
      for (const c of creds) {
        const cur = this.byExt.get(c.extension);
        if (cur) this.byExt.set(c.extension, { ...cur, login: c.login, hasPassword: c.passwordHash !== null });
      }
      for (const ext of deleted) {
        this.byExt.delete(ext);
        changed.add(ext);
      }
      for (const [ext, rights] of before) if (this.byExt.has(ext) && rights !== this.rightsOf(ext).join(',')) changed.add(ext);
      this.changed(changed);
      if (ended.length) this.emit('credentials', ended.sort());
      return { upserted: employees.length, deleted: deleted.length, groups: groups.length, deletedGroups: deletedGroups.length };
    });
  }

  /** Creates or replaces one employee; `created` tells which. */
  async put(e: PreparedEmployee): Promise<{ created: boolean; employee: EmployeeView }> {
    const created = !this.byExt.has(e.extension);
    await this.sync({ employees: [e] });
    return { created, employee: this.view(e.extension)! };
  }

  /** Deletes one employee; false when there is none. */
  async delete(extension: string): Promise<boolean> {
    if (!this.byExt.has(extension)) return false;
    const r = await this.sync({ deleted: [extension] });
    return r.deleted > 0;
  }

  async putGroup(g: PreparedGroup): Promise<{ created: boolean; group: EmployeeGroup }> {
    const created = !this.groupsById.has(g.id);
    await this.sync({ groups: [g] });
    return { created, group: this.groupsById.get(g.id)! };
  }

  async deleteGroup(id: string): Promise<boolean> {
    if (!this.groupsById.has(id)) return false;
    const r = await this.sync({ deletedGroups: [id] });
    return r.deletedGroups > 0;
  }

  /** Ends a full sync: employees the run did not send are gone in 1C, so they go here too. */
  async finishSyncRun(run: string): Promise<{ deleted: number }> {
    const stale = await this.db.query<{ extension: string }>('SELECT extension FROM employees WHERE sync_run IS NULL OR sync_run <> ?', [run]);
    const r = await this.sync({ deleted: stale.map((s) => s.extension) });
    return { deleted: r.deleted };
  }

  /** The extension whose employee signs in with this login (already in lower case), if any. */
  byLogin(login: string): Employee | undefined {
    for (const e of this.byExt.values()) if (e.login === login) return e;
    return undefined;
  }

  /** The stored password hash of an employee (read from the database; never kept in memory). */
  async passwordHash(extension: string): Promise<string | null> {
    const rows = await this.db.query<{ password_hash: string | null }>('SELECT password_hash FROM employees WHERE extension = ?', [extension]);
    return rows[0]?.password_hash ?? null;
  }

  // ---- internals -------------------------------------------------------------------------------------

  /**
   * Which employees' credentials this batch changes, with the final login and hash of each; 400 naming
   * the field for a login another employee keeps or a password without a login. A password equal to the
   * stored one (1C sending the same on every sync) is no change and ends no session.
   */
  private async credentialChanges(employees: PreparedEmployee[], deleted: string[]): Promise<Array<{ extension: string; login: string | null; passwordHash: string | null }>> {
    const asked = employees.filter((e) => e.login !== undefined || e.password !== undefined);
    if (asked.length === 0) return [];
    const owner = new Map<string, string>();
    const gone = new Set(deleted);
    const inBatch = new Map(asked.map((e) => [e.extension, e]));
    for (const e of this.byExt.values()) {
      if (gone.has(e.extension) || !e.login) continue;
      const b = inBatch.get(e.extension);
      if (b && b.login !== undefined) continue;
      owner.set(e.login, e.extension);
    }
    const planned: Array<{ e: PreparedEmployee; login: string | null; prevLogin: string | null }> = [];
    for (const e of asked) {
      const prev = this.byExt.get(e.extension);
      const field = (name: string) => (e.field ? `${e.field}.${name}` : name);
      const login = e.login !== undefined ? e.login : prev?.login ?? null;
      if (e.password !== undefined && login === null) {
        throw new ValidationError(field('password'), `${field('password')}: a password needs a login (employee ${e.extension} has none)`);
      }
      if (login !== null && e.login !== undefined) {
        const other = owner.get(login);
        if (other !== undefined && other !== e.extension) throw new ValidationError(field('login'), `${field('login')}: login ${login} belongs to employee ${other}`);
        owner.set(login, e.extension);
      }
      planned.push({ e, login, prevLogin: prev?.login ?? null });
    }
    // Hashing (scrypt, ~50 ms each) runs a few at a time on libuv's thread pool.
    const out: Array<{ extension: string; login: string | null; passwordHash: string | null }> = [];
    const PARALLEL = 4;
    for (let i = 0; i < planned.length; i += PARALLEL) {
      const done = await Promise.all(planned.slice(i, i + PARALLEL).map(async ({ e, login, prevLogin }) => {
        const stored = this.byExt.get(e.extension)?.hasPassword ? await this.passwordHash(e.extension) : null;
        let hash = login === null ? null : stored;
        if (e.password !== undefined && !(stored !== null && (await verifyPassword(e.password, stored)))) hash = await hashPassword(e.password);
        return login !== prevLogin || hash !== stored ? { extension: e.extension, login, passwordHash: hash } : null;
      }));
      for (const d of done) if (d) out.push(d);
    }
    return out;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.writes.then(fn, fn);
    this.writes = p.catch(() => undefined);
    return p;
  }

  private snapshotRights(): Map<string, string> {
    const m = new Map<string, string>();
    for (const ext of this.byExt.keys()) m.set(ext, this.rightsOf(ext).join(','));
    return m;
  }

  private changed(exts: Set<string>): void {
    if (exts.size === 0) return;
    this.emit('changed', [...exts].sort());
  }
}

function fromRow(r: EmployeeRow): Employee {
  return {
    extension: r.extension,
    name: r.name,
    userRef: r.user_ref,
    groups: jsonList<string>(r.groups),
    rights: jsonList<Right>(r.rights),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    login: r.login ?? null,
    hasPassword: Number(r.has_password) === 1 || r.has_password === true,
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
