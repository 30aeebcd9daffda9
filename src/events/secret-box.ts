import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dbKindOf, sqlitePath } from '../db/url';

/**
 * Secrets at rest (a webhook's Basic password): AES-256-GCM with a random 12-byte IV per value and the
 * owner's id (the webhook id) as additional data, so a ciphertext copied onto another row does not open.
 * Stored as `v1:` + base64(iv | tag | ciphertext). The key is TELEFONIST_SECRETS_KEY (32 bytes as 64 hex
 * characters or base64), or else the key file (TELEFONIST_SECRETS_KEY_FILE, default `secrets.key` beside
 * the SQLite database, `./data/secrets.key` with PostgreSQL), written with mode 0600 on the first start
 * that finds none. Lose the key and stored passwords cannot be read: set them again.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static fromKey(key: Buffer): SecretBox {
    if (key.length !== 32) throw new Error('the secrets key must be 32 bytes');
    return new SecretBox(key);
  }

  /** The key from the environment, or the key file (created when missing). */
  static open(opts: { key?: string; keyFile?: string; databaseUrl: string }): SecretBox {
    if (opts.key) return SecretBox.fromKey(parseKey(opts.key)!);
    const file = opts.keyFile ?? defaultKeyFile(opts.databaseUrl);
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      // 'wx': never overwrite a key another process wrote a moment ago.
      try {
        writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    try {
      chmodSync(file, 0o600);
    } catch {
      // a read-only mount: keep going, the file is there
    }
    const key = parseKey(readFileSync(file, 'utf8').trim());
    if (!key) throw new Error(`${file} does not hold a 32-byte key (64 hex characters or base64)`);
    return new SecretBox(key);
  }

  seal(plain: string, owner: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(owner, 'utf8'));
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return `v1:${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64')}`;
  }

  /** The plain text, or null when the value was sealed with another key or for another owner. */
  open(sealed: string, owner: string): string | null {
    if (!sealed.startsWith('v1:')) return null;
    const raw = Buffer.from(sealed.slice(3), 'base64');
    if (raw.length < 28) return null;
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      d.setAAD(Buffer.from(owner, 'utf8'));
      d.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}

/** 64 hex characters or base64 of 32 bytes; null otherwise. */
export function parseKey(v: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(v)) {
    const b = Buffer.from(v, v.includes('-') || v.includes('_') ? 'base64url' : 'base64');
    return b.length === 32 ? b : null;
  }
  return null;
}

export function defaultKeyFile(databaseUrl: string): string {
  if (dbKindOf(databaseUrl) === 'sqlite') {
    const p = sqlitePath(databaseUrl);
    if (p !== ':memory:') return join(dirname(p), 'secrets.key');
  }
  return join('data', 'secrets.key');
}
