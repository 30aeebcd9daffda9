/**
 * Chats (issue 13), against a local fake Telegram Bot API (test/fake-telegram-bot.ts) with telegraf pointed at it:
 *  1. inbound: Telegram updates POSTed to the bot's webhook (secret checked) → telegraf → dedupe → engine →
 *     durable event log, messages/s until every `chat.message` is in the log (BENCH_CHAT_IN, default 2000,
 *     from 200 customers, 32 requests in flight; every 10th update sent twice, ignored);
 *  2. outbound: messages POSTed by employees → persistent queue → telegraf → fake API, messages/s until the
 *     queue is empty: with Telegram's limits lifted (what the engine does) and with them (≈30/s per bot).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startStack, Stack, waitFor } from '../test/helpers';
import { customerUpdate, FakeBotApi } from '../test/fake-telegram-bot';

const IN = Number(process.env.BENCH_CHAT_IN ?? 2000);
const OUT = Number(process.env.BENCH_CHAT_OUT ?? 2000);
const PEERS = 200;
const SECRET = 'bench-secret-0123456789';

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

async function withStack<T>(limits: { perSecond: number; perPeerIntervalMs: number } | undefined, fn: (s: Stack, fake: FakeBotApi) => Promise<T>): Promise<T> {
  const fake = new FakeBotApi();
  await fake.listen();
  const files = mkdtempSync(join(tmpdir(), 'tf-bench-chat-'));
  const kind = process.env.BENCH_DB === 'postgres' ? 'postgres' : 'sqlite';
  const stack = await startStack(kind, {
    env: {
      TELEFONIST_TELEGRAM_BOTS: JSON.stringify([{ id: 'main', token: '1:BENCH', secret: SECRET }]),
      TELEFONIST_TELEGRAM_API_ROOT: fake.apiRoot,
      TELEFONIST_CHAT_FILES_DIR: files,
    },
    start: { chatOutbox: { limits } },
  });
  try {
    const r = await fetch(`${stack.base}/employees/sync`, {
      method: 'POST', headers: { Authorization: 'Bearer test-admin-token-0123456789abcdef', 'Content-Type': 'application/json' },
      body: JSON.stringify({ employees: [{ extension: '1000', name: 'Анна' }] }),
    });
    if (r.status !== 200) throw new Error(`sync ${r.status}`);
    return await fn(stack, fake);
  } finally {
    await stack.stop();
    await fake.close();
    rmSync(files, { recursive: true, force: true });
  }
}

const auth = { Authorization: 'Bearer test-admin-token-0123456789abcdef', 'Content-Type': 'application/json' };

async function inbound(stack: Stack): Promise<void> {
  const updates = Array.from({ length: IN }, (_, i) => customerUpdate(100000 + (i % PEERS), 1 + Math.floor(i / PEERS), { text: `сообщение ${i}` }));
  const posts = updates.flatMap((u, i) => (i % 10 === 0 ? [u, u] : [u]));
  const t0 = performance.now();
  await pool(posts, 32, async (u) => {
    const r = await fetch(`${stack.base}/messengers/telegram/main/webhook`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': SECRET }, body: JSON.stringify(u),
    });
    if (r.status !== 200) throw new Error(`webhook ${r.status} ${await r.text()}`);
  });
  await stack.app.events.idle();
  const ms = performance.now() - t0;
  const stored = await stack.app.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM chat_messages WHERE direction = 'in'`);
  console.log(`inbound: ${IN} messages (${posts.length} webhook posts, ${posts.length - IN} duplicates) from ${PEERS} customers in ${(ms / 1000).toFixed(2)} s: ${Math.round((IN / ms) * 1000)} messages/s; stored ${stored[0].n}, duplicates ignored ${stack.app.chats.stats.duplicates}`);
}

async function outbound(stack: Stack, fake: FakeBotApi, n: number, label: string): Promise<void> {
  // One chat per customer, taken by the employee's first reply.
  await pool(Array.from({ length: PEERS }, (_, i) => i), 16, async (i) => {
    await fetch(`${stack.base}/messengers/telegram/main/webhook`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': SECRET },
      body: JSON.stringify(customerUpdate(200000 + i, 1, { text: 'привет' })),
    });
  });
  const chats = (await (await fetch(`${stack.base}/chats?limit=500`, { headers: auth })).json()) as { items: Array<{ id: string }> };
  const ids = chats.items.map((c) => c.id);
  const before = fake.sent.length;
  const t0 = performance.now();
  await pool(Array.from({ length: n }, (_, i) => i), 32, async (i) => {
    const r = await fetch(`${stack.base}/chats/${ids[i % ids.length]}/messages`, { method: 'POST', headers: auth, body: JSON.stringify({ employee: '1000', text: `ответ ${i}` }) });
    if (r.status !== 202) throw new Error(`send ${r.status} ${await r.text()}`);
  });
  const queued = performance.now() - t0;
  await waitFor(() => fake.sent.length - before >= n, 'queue drained', 600_000);
  const ms = performance.now() - t0;
  console.log(`outbound (${label}): ${n} messages to ${ids.length} customers: queued in ${(queued / 1000).toFixed(2)} s, all sent in ${(ms / 1000).toFixed(2)} s: ${Math.round((n / ms) * 1000)} messages/s; sent twice: ${fake.sent.length - before - n}`);
}

export async function chatsBench(): Promise<void> {
  console.log(`\n== Chats: Telegram bot webhook → engine → event log, and the outbound queue → fake Bot API (${process.env.BENCH_DB === 'postgres' ? 'postgres' : 'sqlite'}, in process)`);
  await withStack({ perSecond: 100_000, perPeerIntervalMs: 0 }, async (stack, fake) => {
    await inbound(stack);
    await outbound(stack, fake, OUT, 'Telegram limits lifted: the engine itself');
  });
  await withStack(undefined, async (stack, fake) => {
    await outbound(stack, fake, Math.min(300, OUT), "Telegram's limits: 30/s per bot, 1/s per chat");
  });
}
