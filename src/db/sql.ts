/** A text for LIKE … ESCAPE '\': backslash, % and _ escaped with a backslash. */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (m) => `\\${m}`);
}

/** One ? per item, comma-separated: the placeholders of an IN (…) list. */
export function marks(items: unknown[]): string {
  return items.map(() => '?').join(', ');
}
