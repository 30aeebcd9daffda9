import express, { RequestHandler, Router } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SECURITY_HEADERS } from './security';

/**
 * The panel's pages: its own scripts, styles and API only (antd writes its styles as inline <style>
 * elements: 'unsafe-inline' for styles, never for scripts), audio from the API, never framed.
 */
export const PANEL_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "media-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const PANEL_HEADERS: Record<string, string> = {
  'Content-Security-Policy': PANEL_CSP,
  // The panel's own fetches keep their Origin (a no-referrer page would send `Origin: null` on POST).
  'Referrer-Policy': 'same-origin',
};

const NOT_BUILT = `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Телефонист</title></head>
<body><h1>Панель не собрана</h1>
<p>Сервер Телефониста работает, но веб-панель ещё не собрана. Выполните <code>npm install</code> в каталоге
Телефониста (он собирает панель) и откройте эту страницу снова. API доступен по адресу <code>/api/v1</code>.</p>
</body></html>
`;

/**
 * Serves the built panel (vite's `dist`) at `/`: hashed files under `assets/` cached for a year
 * (immutable), everything else revalidated, index.html never stored; any other page path (no file
 * extension, not under /api) gets index.html, so the panel's own routes survive a reload. Without a
 * build, pages answer 503 with a short Russian note. API paths never reach this.
 */
export function panelRouter(dir: string): Router {
  const r = Router();
  const isApi = (path: string) => path === '/api' || path.startsWith('/api/');
  const statics = express.static(dir, {
    index: false,
    dotfiles: 'ignore',
    redirect: false,
    setHeaders: (res, path) => {
      res.set(PANEL_HEADERS);
      const rel = path.slice(dir.length).replace(/\\/g, '/');
      res.set('Cache-Control', rel.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : rel.endsWith('/index.html') ? 'no-store' : 'no-cache');
    },
  });
  const index: RequestHandler = (req, res, next) => {
    const file = join(dir, 'index.html');
    if (!existsSync(file)) {
      res.status(503).set(PANEL_HEADERS).set('Cache-Control', 'no-store').type('html').send(NOT_BUILT);
      return;
    }
    res.set(PANEL_HEADERS).set('Cache-Control', 'no-store');
    res.sendFile(file, (err) => {
      if (err && !res.headersSent) {
        res.set(SECURITY_HEADERS);
        next(err);
      }
    });
  };
  r.use((req, res, next) => {
    if (isApi(req.path) || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    statics(req, res, (err?: unknown) => {
      if (err) return next(err);
      res.set(SECURITY_HEADERS);
      const last = req.path.split('/').pop() ?? '';
      if (req.path === '/' || (!last.includes('.') && !req.path.startsWith('/assets/'))) return index(req, res, next);
      next();
    });
  });
  return r;
}
