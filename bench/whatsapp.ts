/**
 * WhatsApp (issue 14): webhook ingest/s through the Cloud API account (signature checked over the raw body
 * → parse → dedupe → engine → durable event log) and the gateway account (bearer token), against local
 * fakes (test/fake-whatsapp.ts). BENCH_WA_IN messages (default 2000) from 200 customers, 32 requests in
 * flight, every 10th webhook replayed (ignored); then as many statuses (delivered, then read) for as many
 * outbound messages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startStack, Stack } from '../test/helpers';
import { cloudHook, FakeGateway, FakeGraph, sign } from '../test/fake-whatsapp';

const IN = Number(process.env.BENCH_WA_IN ?? 2000);
const PEERS = 200;
const SECRET = 'bench-app-secret-0123456789';
const GW_TOKEN = 'bench-gateway-token-0123456789';
const auth = { Authorization: 'Bearer test-admin-token-0123456789abcdef', 'Content-Type': 'application/json' };

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

async function post(stack: Stack, account: string, raw: string, headers: Record<string, string>): Promise<void> {
  const r = await fetch(`${stack.base}/messengers/whatsapp/${account}/webhook`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: raw });
  if (r.status !== 200) throw new Error(`webhook ${r.status} ${await r.text()}`);
}

async function run(stack: Stack, label: string, account: string, bodies: string[], headers: (raw: string) => Record<string, string>): Promise<void> {
  const posts = bodies.flatMap((b, i) => (i % 10 === 0 ? [b, b] : [b]));
  const before = stack.app.chats.stats.inbound;
  const t0 = performance.now();
  await pool(posts, 32, (raw) => post(stack, account, raw, headers(raw)));
  await stack.app.events.idle();
  const ms = performance.now() - t0;
  console.log(`${label}: ${bodies.length} messages (${posts.length} webhook posts) from ${PEERS} customers in ${(ms / 1000).toFixed(2)} s: ${Math.round((bodies.length / ms) * 1000)} messages/s; stored ${stack.app.chats.stats.inbound - before}`);
}

export async function whatsappBench(): Promise<void> {
  const kind = process.env.BENCH_DB === 'postgres' ? 'postgres' : 'sqlite';
  console.log(`\n== WhatsApp webhook ingest: signed Cloud API POSTs and gateway POSTs → engine → event log (${kind}, in process)`);
  const graph = new FakeGraph('bench-access-token', '1000000001', '2000000001');
  await graph.listen();
  const gw = new FakeGateway('1101', 'bench-gw-api');
  await gw.listen();
  const files = mkdtempSync(join(tmpdir(), 'tf-bench-wa-'));
  const stack = await startStack(kind, {
    env: {
      TELEFONIST_WHATSAPP_ACCOUNTS: JSON.stringify([
        { id: 'cloud', kind: 'cloud', phoneNumberId: '1000000001', wabaId: '2000000001', accessToken: 'bench-access-token', appSecret: SECRET, verifyToken: 'bench-verify' },
        { id: 'gw', kind: 'gateway', apiUrl: gw.root, idInstance: '1101', apiTokenInstance: 'bench-gw-api', webhookToken: GW_TOKEN },
      ]),
      TELEFONIST_WHATSAPP_GRAPH_ROOT: graph.root,
      TELEFONIST_CHAT_FILES_DIR: files,
    },
    start: { chatOutbox: { limits: { perSecond: 100_000, perPeerIntervalMs: 0 } } },
  });
  try {
    const r = await fetch(`${stack.base}/employees/sync`, { method: 'POST', headers: auth, body: JSON.stringify({ employees: [{ extension: '1000', name: 'Анна' }] }) });
    if (r.status !== 200) throw new Error(`sync ${r.status}`);
    const now = Math.floor(Date.now() / 1000);
    const cloud = Array.from({ length: IN }, (_, i) => {
      const from = String(79000000000 + (i % PEERS));
      return cloudHook('1000000001', { contacts: [{ wa_id: from, profile: { name: `Клиент ${i % PEERS}` } }], messages: [{ from, id: `wamid.B${i}`, timestamp: String(now), type: 'text', text: { body: `сообщение ${i}` } }] });
    });
    // Meta knows what it delivered: the fake Graph learns the customers wrote (their 24-hour windows open).
    for (const raw of cloud) graph.observe(raw);
    await run(stack, 'cloud (HMAC-SHA256 checked)', 'cloud', cloud, (raw) => ({ 'X-Hub-Signature-256': sign(SECRET, raw) }));
    const gwBodies = Array.from({ length: IN }, (_, i) => JSON.stringify({
      typeWebhook: 'incomingMessageReceived', instanceData: { idInstance: 1101 }, timestamp: now, idMessage: `GWB${i}`,
      senderData: { chatId: `${78000000000 + (i % PEERS)}@c.us`, sender: `${78000000000 + (i % PEERS)}@c.us`, senderName: 'Клиент' },
      messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: `сообщение ${i}` } },
    }));
    await run(stack, 'gateway (bearer token)', 'gw', gwBodies, () => ({ Authorization: `Bearer ${GW_TOKEN}` }));

    // Statuses: one reply per cloud customer, then delivered + read for each.
    const listed = await fetch(`${stack.base}/chats?accountId=cloud&limit=500`, { headers: auth });
    const chats = (await listed.json()) as { items: Array<{ id: string; peerId: string }> };
    if (listed.status !== 200 || !chats.items?.length) throw new Error(`no cloud chats to answer: ${listed.status} ${JSON.stringify(chats).slice(0, 300)}`);
    await pool(chats.items, 16, async (c) => {
      const s = await fetch(`${stack.base}/chats/${c.id}/messages`, { method: 'POST', headers: auth, body: JSON.stringify({ employee: '1000', text: 'ответ' }) });
      if (s.status !== 202) throw new Error(`send ${s.status} ${await s.text()}`);
    });
    const t = Date.now();
    while (graph.sent.length < chats.items.length && Date.now() - t < 60_000) await new Promise((res) => setTimeout(res, 20));
    await new Promise((res) => setTimeout(res, 200));
    if (graph.sent.length < chats.items.length) {
      const states = await stack.app.db.query<{ state: string; failure: string | null; n: number }>(
        `SELECT state, failure, COUNT(*) AS n FROM chat_messages WHERE account_id = 'cloud' AND direction <> 'customer' GROUP BY state, failure`);
      throw new Error(`only ${graph.sent.length} of ${chats.items.length} replies reached the fake Graph: ${JSON.stringify(states)}`);
    }
    const statuses = graph.sent.flatMap((s) => ['delivered', 'read'].map((st) => cloudHook('1000000001', { statuses: [{ id: s.id, recipient_id: s.to, status: st, timestamp: String(now) }] })));
    const t0 = performance.now();
    await pool(statuses, 32, (raw) => post(stack, 'cloud', raw, { 'X-Hub-Signature-256': sign(SECRET, raw) }));
    await stack.app.events.idle();
    const ms = performance.now() - t0;
    const read = await stack.app.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM chat_messages WHERE account_id = 'cloud' AND state = 'read'`);
    console.log(`cloud statuses: ${statuses.length} in ${(ms / 1000).toFixed(2)} s: ${Math.round((statuses.length / ms) * 1000)} statuses/s; read ${read[0].n}`);
  } finally {
    await stack.stop();
    await graph.close();
    await gw.close();
    rmSync(files, { recursive: true, force: true });
  }
}
