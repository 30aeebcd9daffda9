export type DbKind = 'sqlite' | 'postgres';

export function dbKindOf(url: string): DbKind {
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  if (url.startsWith('file:')) return 'sqlite';
  // Quoted back without credentials: `pg://user:password@host/db` must not print the password.
  throw new Error(`DATABASE_URL must start with file: (SQLite) or postgres:// (PostgreSQL), got ${JSON.stringify(url.replace(/(\/\/)[^/@\s]*@/g, '$1…@'))}`);
}

/** `file:./data/x.db` → `./data/x.db` (relative to the working directory, as Prisma's adapter does). */
export function sqlitePath(url: string): string {
  const p = url.replace(/^file:(\/\/)?/, '');
  return p.split('?')[0] || ':memory:';
}
