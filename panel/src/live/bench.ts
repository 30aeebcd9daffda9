/**
 * The banner bench's hook: for each banner, when the browser handed us its stream event and when the
 * banner was on screen (after the frame that drew it), as epoch milliseconds (performance.timeOrigin +
 * performance.now(), comparable with the server's clock on the same machine). `npm run bench -- banner`
 * reads window.__telefonistBanner.
 */
declare global {
  interface Window {
    __telefonistBanner?: Array<{ callId: string; eventAt: number; paintedAt: number; ms: number }>;
  }
}

const seen = new Set<string>();

export function bannerPainted(callId: string, eventAt: number | null): void {
  if (eventAt === null || seen.has(callId)) return;
  seen.add(callId);
  requestAnimationFrame(() => {
    // The task after this frame's rendering: the banner is painted.
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      const now = performance.now();
      (window.__telefonistBanner ??= []).push({ callId, eventAt: performance.timeOrigin + eventAt, paintedAt: performance.timeOrigin + now, ms: now - eventAt });
    };
    ch.port2.postMessage(0);
  });
}
