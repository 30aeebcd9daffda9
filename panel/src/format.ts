import dayjs from 'dayjs';
import 'dayjs/locale/ru';
import i18n from './i18n';

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return dayjs(iso).locale(i18n.language).format('DD.MM.YYYY HH:mm:ss');
}

export function fmtShortTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = dayjs(iso);
  return d.isSame(dayjs(), 'day') ? d.format('HH:mm:ss') : d.format('DD.MM HH:mm');
}

export function fmtSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

/**
 * The one phone formatter of the panel: +79161234567, 79161234567 (as FreeSWITCH gives a DID) and the national
 * 89161234567 → +7 916 123-45-67; anything else (an extension, a foreign number) as it is. Empty → ''.
 */
export function phoneText(n: string | null | undefined): string {
  if (!n) return '';
  const m = /^(?:\+7|7|8)(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(n);
  return m ? `+7 ${m[1]} ${m[2]}-${m[3]}-${m[4]}` : n;
}

/** phoneText, with '—' for no number. */
export function fmtPhone(n: string | null | undefined): string {
  return phoneText(n) || '—';
}

type T = (key: string, options?: Record<string, unknown>) => string;

/** A Q.850 / FreeSWITCH hangup cause in words (NORMAL_CLEARING → «нормальное завершение»); an unknown code as it is. */
export function hangupCauseText(t: T, code: string | null | undefined): string {
  if (!code) return '—';
  return t(`hangupCause.${code}`, { defaultValue: code });
}

/** Why a recording stopped (success-maxtime, empty-file…) in words; an unknown code as it is. */
export function recordCauseText(t: T, code: string | null | undefined): string {
  if (!code) return '—';
  return t(`recordCause.${code}`, { defaultValue: code });
}

/** A supervision mode (listen, whisper, barge, whisper_other) in words. */
export function supervisionModeText(t: T, mode: string | null | undefined): string {
  if (!mode) return '—';
  return t(`supervisionMode.${mode}`, { defaultValue: mode });
}
