import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import NodeCache from 'node-cache';
import { Db } from '../db/database';

export const ROLES = ['admin', 'supervisor', 'operator', 'integration'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** The extension the token acts for (operators always have one). */
  employee?: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const BOOTSTRAP_ID = 'bootstrap-admin';

/**
 * API tokens: random 32-byte secrets shown once, stored as SHA-256 hashes. Verified tokens are cached for
 * a few seconds (node-cache) so a 1C poll loop does not hit the database on every request; revoking
 * clears the cache at once.
 */
export class TokenService {
  private cache = new NodeCache({ stdTTL: 15, checkperiod: 60, useClones: false, maxKeys: 10_000 });

  constructor(private readonly db: Db) {}

  /** Makes TELEFONIST_ADMIN_TOKEN a valid admin token (replacing an earlier bootstrap token). */
  async bootstrapAdmin(token: string | undefined): Promise<void> {
    if (!token) return;
    const h = hashToken(token);
    await this.db.prisma.apiToken.upsert({
      where: { id: BOOTSTRAP_ID },
      create: { id: BOOTSTRAP_ID, name: 'TELEFONIST_ADMIN_TOKEN', role: 'admin', tokenHash: h, prefix: token.slice(0, 6), createdAt: BigInt(Date.now()) },
      update: { tokenHash: h, prefix: token.slice(0, 6), revokedAt: null, role: 'admin' },
    });
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

  /** Revokes a token; false if there is no such token. */
  async revoke(id: string): Promise<boolean> {
    const res = await this.db.prisma.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: BigInt(Date.now()) } });
    this.cache.flushAll();
    if (res.count > 0) return true;
    return (await this.db.prisma.apiToken.count({ where: { id } })) > 0;
  }

  async verify(token: string): Promise<Principal | null> {
    if (!token || token.length > 512) return null;
    const h = hashToken(token);
    const cached = this.cache.get<Principal | null>(h);
    if (cached !== undefined) return cached;
    const row = await this.db.prisma.apiToken.findUnique({ where: { tokenHash: h } });
    const ok = row && row.revokedAt === null && timingSafeEqual(Buffer.from(row.tokenHash), Buffer.from(h));
    const principal: Principal | null = ok ? { tokenId: row.id, name: row.name, role: row.role as Role, ...(row.employee ? { employee: row.employee } : {}) } : null;
    this.cache.set(h, principal);
    return principal;
  }
}
