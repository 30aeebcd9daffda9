/** A text for LIKE … ESCAPE '\': backslash, % and _ escaped with a backslash. */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (m) => `\\${m}`);
}
