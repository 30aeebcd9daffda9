import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import NodeCache from 'node-cache';
import { Db } from '../db/database';
import { AuthThrottle } from './throttle';
import type { PanelSessions } from './sessions';

export const ROLES = ['admin', 'supervisor', 'operator', 'integration'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** The extension the token acts for (operators always have one). */
  employee?: string;
  /** A panel sign-in (session cookie), not an API token. */
  session?: true;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const BOOTSTRAP_ID = 'bootstrap-admin';

/**
 * API tokens: random 32-byte secrets shown once, stored as SHA-256 hashes. Verified tokens are cached for
 * a few seconds (node-cache) so a 1C poll loop does not hit the database on every request; revoking
 * clears the cache at once (and a verification that raced with the revocation is not cached), and ends
 * what the token still holds open (`hold`: its SSE streams, long-polls, recording downloads).
 */
export class TokenService {
  private cache = new NodeCache({ stdTTL: 15, checkperiod: 60, useClones: false, maxKeys: 10_000 });
  /** Bumped by every revocation: a database read that started before it must not be cached after it. */
  private generation = 0;
  /** Token ids revoked while this process runs: a request verified just before its revocation is refused. */
  private readonly revokedIds = new Set<string>();
  /** What each token holds open: called when it is revoked. */
  private readonly live = new Map<string, Set<() => void>>();

  constructor(
    private readonly db: Db,
    /** Failed-authentication throttle per client, shared by every authenticated route. */
    readonly throttle: AuthThrottle = new AuthThrottle(),
  ) {}

  /** Panel sign-ins (session cookies), accepted wherever a token is (set at start). */
  sessions?: PanelSessions;
  /** Whether the session cookie is marked Secure on plain HTTP too (TELEFONIST_COOKIE_SECURE). */
  cookieSecure = false;

  /**
   * Registers something the token keeps open (a response); `onRevoked` runs when the token is revoked.
   * Returns the release function (call it when the response ends).
   */
  hold(tokenId: string, onRevoked: () => void): () => void {
    let set = this.live.get(tokenId);
    if (!set) this.live.set(tokenId, (set = new Set()));
    set.add(onRevoked);
    return () => {
      set.delete(onRevoked);
      if (set.size === 0 && this.live.get(tokenId) === set) this.live.delete(tokenId);
    };
  }

  /** Whether the token was revoked while this process runs (the database is the authority otherwise). */
  isRevoked(tokenId: string): boolean {
    return this.revokedIds.has(tokenId);
  }

  /** Makes TELEFONIST_ADMIN_TOKEN a valid admin token (replacing an earlier bootstrap token). */
  async bootstrapAdmin(token: string | undefined): Promise<void> {
    if (!token) return;
    const h = hashToken(token);
    await this.db.prisma.apiToken.upsert({
      where: { id: BOOTSTRAP_ID },
      create: { id: BOOTSTRAP_ID, name: 'TELEFONIST_ADMIN_TOKEN', role: 'admin', tokenHash: h, prefix: token.slice(0, 6), createdAt: BigInt(Date.now()) },
      update: { tokenHash: h, prefix: token.slice(0, 6), revokedAt: null, role: 'admin' },
    });
    this.revokedIds.delete(BOOTSTRAP_ID);
    this.generation++;
    this.cache.flushAll();
  }

  async create(
    name: string,
    role: Role,
    employee?: string,
  ): Promise<{ id: string; name: string; role: Role; employee: string | null; token: string; createdAt: string }> {
    const token = `tf_${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    const createdAt = Date.now();
    await this.db.prisma.apiToken.create({
      data: { id, name, role, employee: employee ?? null, tokenHash: hashToken(token), prefix: token.slice(0, 7), createdAt: BigInt(createdAt) },
    });
    return { id, name, role, employee: employee ?? null, token, createdAt: new Date(createdAt).toISOString() };
  }

  async list() {
    const rows = await this.db.prisma.apiToken.findMany({ orderBy: { createdAt: 'asc' } });
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      role: r.role as Role,
      employee: r.employee,
      prefix: r.prefix,
      createdAt: new Date(Number(r.createdAt)).toISOString(),
      revokedAt: r.revokedAt === null ? null : new Date(Number(r.revokedAt)).toISOString(),
    }));
  }

  /**
   * Revokes a token; false if there is no such token. From then on it authenticates nothing, and what it
   * holds open is ended at once (see `hold`).
   */
  async revoke(id: string): Promise<boolean> {
    const res = await this.db.prisma.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: BigInt(Date.now()) } });
    const exists = res.count > 0 || (await this.db.prisma.apiToken.count({ where: { id } })) > 0;
    if (exists) this.revokedIds.add(id);
    this.generation++;
    this.cache.flushAll();
    this.endHeld(id);
    return exists;
  }

  /** Ends what is held open under this key (a token id, a panel session, an employee's sessions). */
  endHeld(key: string): void {
    for (const onRevoked of [...(this.live.get(key) ?? [])]) {
      try {
        onRevoked();
      } catch {
        // one response failing to close must not keep the others open
      }
    }
  }

  async verify(token: string): Promise<Principal | null> {
    if (!token || token.length > 512) return null;
    const h = hashToken(token);
    const cached = this.cache.get<Principal>(h);
    if (cached !== undefined) return cached;
    const generation = this.generation;
    const row = await this.db.prisma.apiToken.findUnique({ where: { tokenHash: h } });
    const ok = row && row.revokedAt === null && timingSafeEqual(Buffer.from(row.tokenHash), Buffer.from(h));
    const principal: Principal | null = ok ? { tokenId: row.id, name: row.name, role: row.role as Role, ...(row.employee ? { employee: row.employee } : {}) } : null;
    // Only valid tokens are cached: unknown ones are limited by the throttle instead, and cannot fill the
    // cache (node-cache refuses new keys when full, which would make every uncached token fail).
    if (principal && generation === this.generation) {
      try {
        this.cache.set(h, principal);
      } catch {
        // full: verified from the database next time
      }
    }
    return principal;
  }
}
