/** +79161234567 (or 74950000000, as FreeSWITCH gives a DID) → +7 916 123-45-67 (Russian numbers); anything else as it is. */
export function formatPhone(n: string | null | undefined): string {
  if (!n) return '';
  const m = /^\+?7(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(n);
  return m ? `+7 ${m[1]} ${m[2]}-${m[3]}-${m[4]}` : n;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function formatTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString('ru-RU', { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString('ru-RU', { day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit' });
}
