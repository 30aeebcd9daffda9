/**
 * The banner bench's hook: for each banner, the time from the browser handing us the stream event to the
 * banner painted (the frame after React committed it). `npm run bench -- banner` reads
 * window.__telefonistBanner.
 */
declare global {
  interface Window {
    __telefonistBanner?: Array<{ callId: string; ms: number }>;
  }
}

const seen = new Set<string>();

export function bannerPainted(callId: string, eventAt: number | null): void {
  if (eventAt === null || seen.has(callId)) return;
  seen.add(callId);
  requestAnimationFrame(() => {
    const ms = performance.now() - eventAt;
    (window.__telefonistBanner ??= []).push({ callId, ms });
  });
}
