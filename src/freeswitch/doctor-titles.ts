/**
 * npm run doctor's checks by title: the summary names a failed or skipped check this way (Russian, or
 * English with --lang en), never by its internal id.
 */
import { Lang, Msg, say } from './messages';

/** Each check's title, as the summary lists it (never the internal id). */
export const CHECK_TITLES: Record<string, Msg> = {
  esl: { ru: 'связь с FreeSWITCH (ESL)', en: 'connection to FreeSWITCH (ESL)' },
  'esl-password': { ru: 'пароль ESL', en: 'ESL password' },
  version: { ru: 'версия FreeSWITCH', en: 'FreeSWITCH version' },
  modules: { ru: 'модули FreeSWITCH', en: 'FreeSWITCH modules' },
  dialplan: { ru: 'диалплан telefonist', en: 'telefonist dialplan' },
  'recordings-path': { ru: 'путь записей в диалплане', en: 'recordings path in the dialplan' },
  dids: { ru: 'входящие номера (DID)', en: 'inbound numbers (DIDs)' },
  'dial-context': { ru: 'контекст набора (TELEFONIST_DIAL_CONTEXT)', en: 'dial context (TELEFONIST_DIAL_CONTEXT)' },
  directory: { ru: 'каталог сотрудников FreeSWITCH', en: 'FreeSWITCH employee directory' },
  'recordings-fs': { ru: 'папка записей у FreeSWITCH', en: 'recordings directory on FreeSWITCH' },
  'recordings-local': { ru: 'папка записей у Telefonist', en: 'recordings directory on Telefonist' },
  clock: { ru: 'часы', en: 'clocks' },
  gateway: { ru: 'шлюз оператора', en: 'carrier gateway' },
};

/** The checks that need a connection: skipped without one. */
export const NEEDS_ESL = ['version', 'modules', 'dialplan', 'dids', 'directory', 'recordings-fs', 'recordings-local', 'clock', 'gateway'];

export const title = (id: string, lang: Lang) => (CHECK_TITLES[id] ? say(lang, CHECK_TITLES[id]) : id);
