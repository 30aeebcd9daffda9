/**
 * `npm run bench -- banner`: time from the call's first event on the FreeSWITCH socket to the incoming
 * call banner on screen in headless Chromium (the panel built, the real server, a signed-in operator on
 * the employees screen), p50/p99 over BENCH_BANNER_CALLS calls (default 200), one after another; also the
 * browser's part alone (the SSE event handed to the page → the banner painted).
 */
import { performance } from 'node:perf_hooks';
import { loadFixtureEvents } from '../src/esl/fixtures';
import { api, settle, startStack } from '../test/helpers';
import { buildPanel, launchChromium, signedIn } from '../test/panel-browser';

const CALLS = Number(process.env.BENCH_BANNER_CALLS ?? 200);
const CAPTURE = '09_did_inbound_answered';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

export async function bannerBench(): Promise<void> {
  console.log(`\n== Incoming call banner in Chromium: socket event → banner on screen (${CALLS} calls)`);
  const ringing = loadFixtureEvents(CAPTURE).findIndex((e) => e.event.name === 'CHANNEL_ANSWER');
  const dir = buildPanel();
  const stack = await startStack('sqlite', { env: { TELEFONIST_PANEL_DIR: dir } });
  const browser = await launchChromium();
  try {
    const json = (body: unknown, method = 'PUT') => ({ method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    await api(stack, '/directory/sync', json({ customers: [{ id: 'c-bench', name: 'ООО «Ромашка»', phones: ['+79161234567'] }] }, 'POST'));
    await api(stack, '/employees/1001', json({ name: 'Иванова Анна', login: 'anna', password: 'anna-secret-1', rights: [] }));
    const base = `http://127.0.0.1:${stack.app.port}`;
    const { page } = await signedIn(browser, base, 'anna', 'anna-secret-1');
    await page.goto('/employees');
    await page.locator('[data-testid="live-link"][data-status="online"]').waitFor({ timeout: 15_000 });
    const total: number[] = [];
    const inBrowser: number[] = [];
    for (let i = 0; i < CALLS + 5; i++) {
      const before = new Set(stack.sim.actions.legsOf('1001').map((l) => l.uuid));
      const t0 = performance.timeOrigin + performance.now();
      await stack.sim.play(CAPTURE, { rewrite: true, limit: ringing });
      const agent = await (async () => {
        for (;;) {
          const a = stack.sim.actions.legsOf('1001').find((l) => !before.has(l.uuid));
          if (a) return a;
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      const callId = agent.originator!;
      const rec = await page.waitForFunction(
        (id: string) => ((globalThis as any).__telefonistBanner ?? []).find((b: { callId: string }) => b.callId === id) ?? null,
        callId,
        { timeout: 10_000, polling: 5 },
      );
      const b = (await rec.jsonValue()) as { paintedAt: number; ms: number };
      if (i >= 5) {
        // the first calls warm the page up (lazy chunks, JIT)
        total.push(b.paintedAt - t0);
        inBrowser.push(b.ms);
      }
      await stack.sim.actions.hangup(callId);
      await stack.sim.actions.idle();
      await settle(stack);
    }
    const f = (xs: number[], p: number) => pct(xs, p).toFixed(1);
    console.log(`socket event → banner on screen: p50 ${f(total, 50)} ms, p99 ${f(total, 99)} ms, max ${f(total, 100)} ms`);
    console.log(`  of which in the browser (SSE event → banner painted): p50 ${f(inBrowser, 50)} ms, p99 ${f(inBrowser, 99)} ms`);
  } finally {
    await browser.close().catch(() => undefined);
    await stack.stop();
  }
}
