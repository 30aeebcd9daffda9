/**
 * The installers' tools (npm run fs:install, npm run doctor) speak Russian, or English with --lang en:
 * each message is a pair of texts with `%s` placeholders, filled in order.
 */
export type Lang = 'ru' | 'en';

/** One message in both languages. */
export type Msg = Record<Lang, string>;

/** The message in `lang`, each `%s` replaced by the next argument. */
export function say(lang: Lang, m: Msg, ...args: Array<string | number>): string {
  let s = m[lang];
  for (const a of args) s = s.replace('%s', String(a));
  return s;
}
