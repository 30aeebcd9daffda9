/**
 * The benchmarks still run and still measure something: each quick part of `npm run bench` at a tiny size in
 * its own process (as `npm run bench -- <part>` runs it), exit code 0, and its figures non-zero. Speed targets
 * are not asserted here (they live in the bench's printout); this catches a bench that a product change broke
 * — one that threw on a refused request, or printed "0 statuses/s" because nothing was there to measure.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

function bench(part: string, env: Record<string, string>): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', part], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`npm run bench -- ${part} exited ${r.status}:\n${out.slice(-2000)}`);
  return out;
}

const positive = (out: string, re: RegExp) => {
  const m = out.match(re);
  expect(m).not.toBeNull();
  expect(Number(m![1].replace(/,/g, ''))).toBeGreaterThan(0);
};

describe('npm run bench still runs (tiny sizes)', () => {
  test('actions: every action reaches the socket', () => {
    const out = bench('actions', { BENCH_ACTIONS: '5' });
    for (const a of ['hold', 'resume', 'blind transfer', 'attended start', 'attended cancel', 'supervision', 'hang up call', 'click-to-call']) {
      expect(out).toMatch(new RegExp(`${a} \\(.*p50 [0-9.]+ ms +p99 [0-9.]+ ms +\\(n=5\\)`));
    }
  }, 120_000);

  test('chats: inbound and outbound, nothing sent twice', () => {
    const out = bench('chats', { BENCH_CHAT_IN: '100', BENCH_CHAT_OUT: '60' });
    positive(out, /inbound: .*: ([0-9,]+) messages\/s/);
    positive(out, /outbound \(Telegram limits lifted.*: ([0-9,]+) messages\/s; sent twice: 0/);
  }, 120_000);

  test('whatsapp: messages and statuses', () => {
    const out = bench('whatsapp', { BENCH_WA_IN: '60' });
    positive(out, /cloud \(HMAC-SHA256 checked\): .*: ([0-9,]+) messages\/s/);
    positive(out, /gateway \(bearer token\): .*: ([0-9,]+) messages\/s/);
    positive(out, /cloud statuses: .*: ([0-9,]+) statuses\/s; read [1-9]/);
  }, 120_000);

  test('invoices: PDFs rendered', () => {
    positive(bench('invoices', { BENCH_INVOICE_SECONDS: '1' }), /: ([0-9.]+) PDF\/s/);
  }, 120_000);
});
