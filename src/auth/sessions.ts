import { createHash, randomBytes } from 'node:crypto';
import { Db } from '../db/database';
import { Employees } from '../employees/employees';
import { verifyPassword } from './passwords';
import { Principal, TokenService } from './tokens';

/** The panel's session cookie. */
export const SESSION_COOKIE = 'telefonist_session';
/** The header the panel sends on every state-changing request (see docs/decisions.md, CSRF). */
export const CSRF_HEADER = 'x-telefonist-csrf';
/** A sliding session's expiry is written back at most this often (not on every request). */
const TOUCH_MS = 60_000;
const ID_RE = /^[A-Za-z0-9_-]{43}$/;

export interface SessionWho {
  employee: string;
  extension: string;
  name: string;
  login: string | null;
  role: 'operator' | 'supervisor';
  expiresAt: string;
}

export interface VerifiedSession {
  principal: Principal;
  who: SessionWho;
  /** Set when the expiry slid: the cookie is sent again with the new Max-Age. */
  slid: boolean;
  /** The employee's epoch when verified (see `stillValid`). */
  epoch: number;
}

function idHash(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** The principal's `tokenId` of a session (audits show it): a short prefix of the hash, never the stored key. */
function sessionKey(h: string): string {
  return `session:${h.slice(0, 16)}`;
}

/** Whose sessions a hold belongs to: revoking an employee's credentials ends everything held under it. */
export function employeeHoldKey(extension: string): string {
  return `sessions-of:${extension}`;
}

/**
 * Panel sign-ins (issue 12): an employee's login and password (scrypt, see passwords.ts) open a session
 * whose id is 32 random bytes (256 bits) in an HttpOnly cookie; the database keeps only its SHA-256, the
 * employee and a sliding expiry, so a restart keeps everyone signed in and a copy of the database opens
 * no session. A session acts as an operator token bound to the employee's extension, or as a supervisor
 * when the employee holds the supervisor right now (read on every request). Changing or removing an
 * employee's credentials, or deleting the employee, deletes their sessions (in the same transaction, see
 * Employees.sync) and ends what they hold open (streams, long-polls, downloads), like a revoked token.
 */
export class PanelSessions {
  /** Bumped per extension whenever its sessions end: a verification that raced with that is refused. */
  private readonly epochs = new Map<string, number>();
  /** Sessions logged out while this process runs (refused even if a read raced with the delete). */
  private readonly ended = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly employees: Employees,
    private readonly tokens: TokenService,
    readonly idleMs: number,
  ) {
    employees.on('credentials', (exts: string[]) => {
      for (const ext of exts) this.endHeld(ext);
    });
    // A role that changes (the supervisor right granted or taken, themself or through a group) ends what
    // the employee's sessions hold open, so an open stream never keeps a scope the employee lost; the
    // sessions themselves stay (EventSource reconnects under the new role).
    employees.on('changed', (exts: string[]) => {
      for (const ext of exts) {
        const was = this.roles.get(ext);
        if (was === undefined) continue;
        const now = employees.get(ext) && employees.isSupervisor(ext) ? 'supervisor' : 'operator';
        if (now !== was) {
          this.roles.delete(ext);
          this.tokens.endHeld(employeeHoldKey(ext));
        }
      }
    });
  }

  /** The role each extension's sessions were last verified with (see the 'changed' listener). */
  private readonly roles = new Map<string, 'operator' | 'supervisor'>();

  /** Checks the credentials; a new session's cookie value and who signed in, or null (same answer for an unknown login). */
  async login(loginName: string, password: string): Promise<{ id: string; who: SessionWho } | null> {
    const e = this.employees.byLogin(loginName.trim().normalize('NFC').toLowerCase());
    const epoch = e ? this.epoch(e.extension) : 0;
    const hash = e ? await this.employees.passwordHash(e.extension) : null;
    const ok = await verifyPassword(password, hash);
    if (!ok || !e || this.epoch(e.extension) !== epoch || this.employees.get(e.extension)?.login !== e.login) return null;
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    await this.db.exec('DELETE FROM panel_sessions WHERE expires_at < ?', [BigInt(now)]);
    await this.db.exec('INSERT INTO panel_sessions (id_hash, employee, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)', [
      idHash(id), e.extension, BigInt(now), BigInt(now), BigInt(now + this.idleMs),
    ]);
    return { id, who: this.who(e.extension, now + this.idleMs)! };
  }

  /** The principal of a session cookie's value, or null (unknown, expired, logged out, credentials changed). */
  async verify(id: string): Promise<VerifiedSession | null> {
    if (!ID_RE.test(id)) return null;
    const h = idHash(id);
    if (this.ended.has(sessionKey(h))) return null;
    const rows = await this.db.query<{ employee: string; last_seen_at: bigint | number; expires_at: bigint | number }>(
      'SELECT employee, last_seen_at, expires_at FROM panel_sessions WHERE id_hash = ?',
      [h],
    );
    const row = rows[0];
    if (!row) return null;
    const ext = row.employee;
    const epoch = this.epoch(ext);
    const now = Date.now();
    if (Number(row.expires_at) <= now) {
      await this.db.exec('DELETE FROM panel_sessions WHERE id_hash = ?', [h]);
      return null;
    }
    let expiresAt = Number(row.expires_at);
    let slid = false;
    if (now - Number(row.last_seen_at) >= TOUCH_MS) {
      expiresAt = now + this.idleMs;
      await this.db.exec('UPDATE panel_sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?', [BigInt(now), BigInt(expiresAt), h]);
      slid = true;
    }
    // Ended while we read (credentials changed, employee deleted, logged out): refused.
    if (this.epoch(ext) !== epoch || this.ended.has(sessionKey(h))) return null;
    const who = this.who(ext, expiresAt);
    if (!who || !who.login) return null;
    this.roles.set(ext, who.role);
    return { principal: { tokenId: sessionKey(h), name: who.name, role: who.role, employee: ext, session: true }, who, slid, epoch };
  }

  /** Whether a verified session was not ended since (checked in the same tick as the response is held). */
  stillValid(v: VerifiedSession): boolean {
    return this.epoch(v.principal.employee!) === v.epoch && !this.ended.has(v.principal.tokenId);
  }

  /** Ends one session (logout): its row, and what it holds open. */
  async logout(id: string): Promise<void> {
    if (!ID_RE.test(id)) return;
    const h = idHash(id);
    this.ended.add(sessionKey(h));
    await this.db.exec('DELETE FROM panel_sessions WHERE id_hash = ?', [h]);
    this.tokens.endHeld(sessionKey(h));
  }

  /** Who the employee is to the panel now (role from the supervisor right as it stands). */
  who(extension: string, expiresAt: number): SessionWho | undefined {
    const e = this.employees.get(extension);
    if (!e) return undefined;
    return {
      employee: extension,
      extension,
      name: e.name,
      login: e.login,
      role: this.employees.isSupervisor(extension) ? 'supervisor' : 'operator',
      expiresAt: new Date(expiresAt).toISOString(),
    };
  }

  /** The extension's epoch now (see `epochs`). */
  epoch(extension: string): number {
    return this.epochs.get(extension) ?? 0;
  }

  /** Ends what the employee's sessions hold open (their rows are already deleted). */
  private endHeld(extension: string): void {
    this.epochs.set(extension, this.epoch(extension) + 1);
    this.tokens.endHeld(employeeHoldKey(extension));
  }
}
