import { randomBytes, scrypt, ScryptOptions, timingSafeEqual } from 'node:crypto';

/**
 * Employee passwords for the panel's sign-in, stored as scrypt hashes (docs/decisions.md: node's own
 * crypto, memory-hard, no native dependency): `scrypt$N$r$p$salt$key`, salt 16 random bytes, key 32
 * bytes, both base64url. The parameters travel with each hash, so raising them later keeps old hashes
 * verifiable. Verification compares in constant time; an unknown login is checked against a dummy hash
 * so it takes as long as a wrong password.
 */
const N = 16384;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const MAX_MEM = 64 * 1024 * 1024;

function derive(password: string, salt: Buffer, n: number, r: number, p: number, keylen: number): Promise<Buffer> {
  const opts: ScryptOptions = { N: n, r, p, maxmem: MAX_MEM };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, keylen, opts, (e, key) => (e ? reject(e) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P, KEY_BYTES);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

const DUMMY = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(KEY_BYTES).toString('base64url')}`;

/** Whether the password matches the stored hash; `null` (no such login) burns the same time and says no. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored ?? DUMMY) ?? /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(DUMMY)!;
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5], 'base64url');
  if (n > 1 << 20 || r > 32 || p > 16 || expected.length < 16 || expected.length > 128) return false;
  const key = await derive(password, Buffer.from(m[4], 'base64url'), n, r, p, expected.length);
  return timingSafeEqual(key, expected) && stored !== null;
}
