/**
 * `npm run bench -- panel`: the journal's first paint in headless Chromium with BENCH_CALLS (1,000,000)
 * generated calls in the database (the query bench's generator), as a supervisor who sees them all:
 * first contentful paint (the shell) and the journal's first page of rows on screen (the panel's
 * `tf-journal-rows` mark, set in the frame after the rows were committed), from navigation start; cold
 * (a fresh browser profile: nothing cached) and warm (the hashed assets cached, as every later visit).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { api, startStack } from '../test/helpers';
import { buildPanel, launchChromium, signedIn } from '../test/panel-browser';

const RUNS = Number(process.env.BENCH_PANEL_RUNS ?? 15);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

interface Paint {
  fcp: number;
  rows: number;
  api: number;
  dcl: number;
}

async function measure(page: Page, url: string): Promise<Paint> {
  await page.goto(url, { waitUntil: 'commit' });
  const h = await page.waitForFunction(() => {
    // runs in the page (no DOM types in this project's compiler settings)
    const perf = (globalThis as any).performance;
    const rows = perf.getEntriesByName('tf-journal-rows')[0];
    const fcp = perf.getEntriesByName('first-contentful-paint')[0];
    if (!rows || !fcp) return null;
    const nav = perf.getEntriesByType('navigation')[0];
    const calls = perf.getEntriesByType('resource').find((r: any) => /\/api\/v1\/calls\?/.test(r.name));
    return { fcp: fcp.startTime, rows: rows.startTime, api: calls ? calls.responseEnd - calls.requestStart : -1, dcl: nav.domContentLoadedEventEnd };
  }, null, { timeout: 30_000, polling: 10 });
  return (await h.jsonValue()) as Paint;
}

function line(name: string, xs: number[]): string {
  return `${name.padEnd(44)} ${pct(xs, 50).toFixed(0).padStart(6)} ${pct(xs, 99).toFixed(0).padStart(8)}`;
}

export async function panelBench(fill: (url: string) => Promise<void>, calls: number): Promise<void> {
  console.log(`\n== Web panel: the journal's first paint in Chromium over ${calls.toLocaleString('en-US')} calls (sqlite, ${RUNS} loads each)`);
  const dir = mkdtempSync(join(tmpdir(), 'telefonist-bench-panel-'));
  const url = `file:${join(dir, 'journal.db')}`;
  const t0 = performance.now();
  await fill(url);
  console.log(`generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const stack = await startStack('sqlite', { dbUrl: url, env: { TELEFONIST_PANEL_DIR: buildPanel() } });
  let browser: Browser | null = null;
  try {
    browser = await launchChromium();
    const put = await api(stack, '/employees/1000', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'Старший смены', rights: ['supervisor'], login: 'bench', password: 'bench-secret-1' }) });
    if (put.status !== 201 && put.status !== 200) throw new Error(`employee: ${put.status} ${JSON.stringify(put.body)}`);
    const base = `http://127.0.0.1:${stack.app.port}`;
    const cold: Paint[] = [];
    const warm: Paint[] = [];
    for (let i = 0; i < RUNS + 1; i++) {
      const { context, page } = await signedIn(browser, base, 'bench', 'bench-secret-1');
      const p = await measure(page, `${base}/`);
      if (i > 0) cold.push(p); // the first load warms the server (SQLite pages, JIT)
      await page.close();
      await context.close();
    }
    const { context, page } = await signedIn(browser, base, 'bench', 'bench-secret-1');
    await measure(page, `${base}/`);
    for (let i = 0; i < RUNS; i++) warm.push(await measure(page, `${base}/?r=${i}`));
    await context.close();
    const first = await api(stack, '/calls?limit=1');
    if (!first.body.items?.length) throw new Error('the journal is empty');
    console.log('from navigation start, ms                       p50      p99');
    console.log(line('cold: first contentful paint', cold.map((x) => x.fcp)));
    console.log(line('cold: journal rows on screen', cold.map((x) => x.rows)));
    console.log(line('warm: first contentful paint', warm.map((x) => x.fcp)));
    console.log(line('warm: journal rows on screen', warm.map((x) => x.rows)));
    console.log(line('GET /calls?limit=50 (latest page), in browser', [...cold, ...warm].map((x) => x.api)));
  } finally {
    await browser?.close().catch(() => undefined);
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
