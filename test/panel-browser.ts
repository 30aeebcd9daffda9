/**
 * Shared by the panel's browser tests and the banner bench: the panel built into a temporary folder, a
 * headless Debian Chromium (playwright-core), and a small HTTP proxy in front of the server so a test can
 * cut the browser's network and keep one origin across a server restart (the server's port changes).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.TELEFONIST_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

/** Writes a screenshot atomically (a *.tmp, then renamed): a failed run never leaves half a PNG. */
export async function screenshot(page: Page, path: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await page.screenshot({ path: tmp, type: 'png', fullPage: false });
  renameSync(tmp, path);
}

let built: string | null = null;
/** Builds the panel once per process into a temporary folder (TELEFONIST_PANEL_DIR points the server at it). */
export function buildPanel(): string {
  if (built) return built;
  const out = mkdtempSync(join(tmpdir(), 'telefonist-panel-'));
  const root = join(__dirname, '..');
  const config = ['vite.config.mjs', 'vite.config.ts', 'vite.config.js'].map((f) => join(root, 'panel', f)).find((f) => existsSync(f))!;
  execFileSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', config, '--outDir', out, '--emptyOutDir', '--logLevel', 'error'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  built = out;
  return out;
}

/** Launches Chromium; fails (never skips) with what to do when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: the panel's browser tests need it (apt-get install -y chromium, or TELEFONIST_CHROMIUM=/path/to/chrome)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export interface Proxy {
  url: string;
  setTarget(port: number): void;
  /** The browser's network is lost: open connections die, new ones are refused. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<Proxy> {
  let target = targetPort;
  let down = false;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
      res.on('close', () => r.destroy());
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' }).end('bad gateway');
      else res.destroy();
    });
    up.on('socket', (s) => {
      if (sockets.has(s)) return;
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    req.pipe(up);
  });
  server.on('connection', (s) => {
    if (down) {
      s.destroy();
      return;
    }
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    setTarget(p) {
      target = p;
    },
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      down = false;
    },
    async close() {
      down = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A signed-in browser context: POST /session through the page's own request context (the cookie is the browser's). */
export async function signedIn(browser: Browser, base: string, login: string, password: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 720 }, locale: 'ru-RU' });
  const page = await context.newPage();
  const r = await page.request.post(`${base}/api/v1/session`, { data: { login, password }, headers: { 'X-Telefonist-CSRF': '1' } });
  if (r.status() !== 201) throw new Error(`sign-in ${login}: ${r.status()} ${await r.text()}`);
  return { context, page };
}
