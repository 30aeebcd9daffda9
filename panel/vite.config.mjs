import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// The operators' panel: built into panel/dist, served by the Telefonist server at `/` (SPA fallback).
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    // `npx vite --config panel/vite.config.ts` while `npm run demo` runs: the API comes from the demo server.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
  logLevel: 'warn',
});
