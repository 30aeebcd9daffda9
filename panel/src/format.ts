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

/** +79161234567 → +7 916 123-45-67 (Russian numbers); anything else as it is. */
export function fmtPhone(n: string | null | undefined): string {
  if (!n) return '—';
  const m = /^\+7(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(n);
  return m ? `+7 ${m[1]} ${m[2]}-${m[3]}-${m[4]}` : n;
}
