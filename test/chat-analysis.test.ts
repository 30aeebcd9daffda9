/**
 * AI analysis of chats (issue 14, C15) over real HTTP, on SQLite and PostgreSQL: real chats through a
 * Telegram bot (telegraf against the local fake Bot API), the analysis chain (the same LangChain chain
 * as call summaries) through ChatOpenAI against a local OpenAI-compatible server. A chat closed →
 * analysed once, also when the model server was down at the close and the server restarted, and when a
 * job was cut by a restart; on demand; malformed answers retried then failed with the reason; the
 * chat's rights (403); no model → disabled, said plainly. The chain's map-reduce and prompts with
 * LangChain's fake chat model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { api, DB_KINDS, Stack, startStack, waitFor } from './helpers';
import { customerUpdate, FakeBotApi } from './fake-telegram-bot';
import { ChatAnalyzer } from '../src/ai/chat-analyses';
import { splitText } from '../src/ai/summarizer';
import { fenced, FakeLlm, startFakeLlm } from './fake-llm';

const SECRET = 'webhook-secret-0123456789';
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from('СЕКРЕТНОЕ-СОДЕРЖИМОЕ-PDF'), Buffer.from(Array.from({ length: 2000 }, (_, i) => i % 251))]);
const GOOD = {
  summary: 'Клиент спросил о сроке доставки заказа; сотрудник ответил, что доставка завтра, и выслал счёт.',
  request: 'Узнать срок доставки заказа',
  agreements: ['Доставка завтра'],
  nextSteps: [{ who: 'Иван Петров', what: 'Проконтролировать доставку', due: 'завтра' }],
  sentiment: 'positive',
  answered: 'yes',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the chat analysis chain (LangChain fake chat model)', () => {
  test('a long chat is analysed in parts and reduced; the Russian prompt names the participants', async () => {
    const long = Array.from({ length: 300 }, (_, i) => `[2026-11-30 10:${String(i % 60).padStart(2, '0')}] Клиент (Мария): сообщение номер ${i}`).join('\n');
    const parts = splitText(long, 3000);
    expect(parts.length).toBeGreaterThan(2);
    const seen: string[][] = [];
    class Recording extends FakeListChatModel {
      override async _generate(...args: Parameters<FakeListChatModel['_generate']>) {
        seen.push(args[0].map((m) => String(m.content)));
        return super._generate(...args);
      }
    }
    const model = new Recording({ responses: Array.from({ length: parts.length + 1 }, () => fenced(GOOD)) });
    const out = await new ChatAnalyzer(model, { maxChunkChars: 3000 }).run(long, { participants: 'клиент — Мария; сотрудники — Иван Петров (сотрудник 1001)' });
    expect(out).toEqual(GOOD);
    expect(seen).toHaveLength(parts.length + 1);
    expect(seen[0][0]).toContain('Иван Петров (сотрудник 1001)');
    expect(seen[0][0]).toMatch(/разбор переписки на русском языке/);
    expect(seen[0][1]).toMatch(new RegExp(`^Часть 1 из ${parts.length} переписки`));
    expect(seen[seen.length - 1][1]).toMatch(/^Ниже разборы частей одной переписки/);
  });

  test('SUMMARY_LOCALE=en: the English prompt', async () => {
    const seen: string[] = [];
    class Recording extends FakeListChatModel {
      override async _generate(...args: Parameters<FakeListChatModel['_generate']>) {
        seen.push(String(args[0][0].content));
        return super._generate(...args);
      }
    }
    await new ChatAnalyzer(new Recording({ responses: [fenced(GOOD)] }), { locale: 'en' }).run('[x] Customer: hi', { participants: 'customer — Maria' });
    expect(seen[0]).toMatch(/analysis of the chat in English/);
    expect(seen[0]).toContain('Participants: customer — Maria');
  });
});

describe.each(DB_KINDS)('chat analysis over HTTP (%s)', (kind) => {
  let stack: Stack;
  let fake: FakeBotApi;
  let llm: FakeLlm;
  let filesDir: string;
  const tokens: Record<string, string> = {};
  let msgId = 100;

  const send = (path: string, body: unknown, token?: string, method = 'POST') =>
    api(stack, path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), token });
  const hook = (update: unknown) =>
    fetch(`${stack.base}/messengers/telegram/main/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': SECRET },
      body: JSON.stringify(update),
    });
  const analysis = async (id: string) => (await api(stack, `/chats/${id}/analysis`)).body;

  /** A real chat: the customer asks, Ivan (1001) answers with text and a PDF; returns its id. */
  async function conversation(peer: number): Promise<string> {
    expect((await hook(customerUpdate(peer, ++msgId, { text: 'Когда доставка заказа?' }))).status).toBe(200);
    let id = '';
    await waitFor(async () => {
      id = (await api(stack, '/chats?limit=500')).body.items.find((c: any) => c.peerId === String(peer))?.id ?? '';
      return !!id;
    }, 'chat created');
    expect((await send(`/chats/${id}/messages`, { text: 'Доставка завтра, счёт во вложении' }, tokens['1001'])).status).toBe(202);
    const up = await api(stack, '/chat-files?name=' + encodeURIComponent('Счёт 42.pdf'), { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: PDF, token: tokens['1001'] });
    expect(up.status).toBe(201);
    expect((await send(`/chats/${id}/messages`, { file: { id: up.body.id, name: 'Счёт 42.pdf' } }, tokens['1001'])).status).toBe(202);
    return id;
  }
  const close = async (id: string) => expect((await send(`/chats/${id}/close`, {}, tokens['1001'])).status).toBe(200);

  beforeAll(async () => {
    fake = new FakeBotApi();
    await fake.listen();
    llm = await startFakeLlm(GOOD);
    filesDir = mkdtempSync(join(tmpdir(), 'tf-chat-analysis-'));
    stack = await startStack(kind, {
      env: {
        TELEFONIST_TELEGRAM_BOTS: JSON.stringify([{ id: 'main', token: '123456:TEST-token', secret: SECRET }]),
        TELEFONIST_TELEGRAM_API_ROOT: fake.apiRoot,
        TELEFONIST_CHAT_FILES_DIR: filesDir,
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: llm.url,
        LLM_MODEL: 'local',
        LLM_TIMEOUT_SECONDS: '20',
      },
      // A failed try is retried only after a minute here: the restart tests show the next start does it.
      start: { chatOutbox: { baseDelayMs: 50, maxDelayMs: 200, limits: { perSecond: 1000, perPeerIntervalMs: 0 } }, chatAnalyses: { retryDelaysMs: [60_000] } },
    });
    const sync = await send('/employees/sync', {
      employees: [
        { extension: '1001', name: 'Иван Петров', login: 'ivan' },
        { extension: '1003', name: 'Пётр Сидоров', login: 'petr' },
      ],
    });
    expect(sync.status).toBe(200);
    for (const ext of ['1001', '1003']) tokens[ext] = (await send('/tokens', { name: `op${ext}`, role: 'operator', employee: ext })).body.token;
  });
  afterAll(async () => {
    await stack?.stop();
    await fake?.close();
    await llm?.close();
    rmSync(filesDir, { recursive: true, force: true });
  });

  test('a closed chat is analysed once: employees and customer named, the attachment named not read; card and journal show it', async () => {
    const id = await conversation(9001);
    expect((await analysis(id)).status).toBe('none');
    llm.state.requests.length = 0;
    const cursor = (await api(stack, '/events?wait=0')).body.cursor;
    await close(id);
    await waitFor(async () => (await analysis(id)).status === 'done', 'analysed');
    // 1C and the chat's employees are told: chat.analysis with the whole analysis.
    const evs = (await api(stack, `/events?after=${cursor}&wait=0&limit=500&types=chat.analysis`)).body.events;
    expect(evs).toHaveLength(1);
    expect(evs[0].employees).toContain('1001');
    expect(evs[0].employees).not.toContain('1003');
    expect(evs[0].data).toMatchObject({ chatId: id, analysis: { status: 'done', analysis: GOOD } });
    const operatorEvents = (await api(stack, `/events?after=${cursor}&wait=0&limit=500&types=chat.analysis`, { token: tokens['1003'] })).body.events;
    expect(operatorEvents).toHaveLength(0);
    const a = await analysis(id);
    expect(a).toMatchObject({ chatId: id, status: 'done', analysis: GOOD, model: 'local', trigger: 'auto', error: null });
    expect(llm.state.requests).toHaveLength(1);
    const [system, human] = llm.state.requests[0].body.messages;
    expect(system.content).toMatch(/разбор переписки на русском языке/);
    expect(system.content).toContain('Иван Петров (сотрудник 1001)');
    expect(system.content).toContain('Мария Клиентова');
    expect(human.content).toContain('Когда доставка заказа?');
    expect(human.content).toContain('Иван Петров (сотрудник 1001): Доставка завтра, счёт во вложении');
    expect(human.content).toContain('[вложение: Счёт 42.pdf, application/pdf; содержимое не читалось]');
    expect(human.content).not.toContain('СЕКРЕТНОЕ-СОДЕРЖИМОЕ-PDF');

    const card = (await api(stack, `/chats/${id}`, { token: tokens['1001'] })).body;
    expect(card.analysis).toMatchObject({ status: 'done', analysis: { answered: 'yes', sentiment: 'positive' } });
    const row = (await api(stack, '/chats?status=closed&limit=500')).body.items.find((c: any) => c.id === id);
    expect(row.analysis).toEqual({ status: 'done', sentiment: 'positive', answered: 'yes', summary: GOOD.summary });

    // Closing again, and a restart: nothing more is asked.
    await close(id);
    await stack.restart();
    await sleep(300);
    await stack.app.chatAnalyses.idle();
    expect(llm.state.requests).toHaveLength(1);
    expect((await analysis(id)).status).toBe('done');
  });

  test('closed while the model server is down → the restarted server analyses it, once', async () => {
    const id = await conversation(9002);
    llm.state.requests.length = 0;
    llm.state.mode = 'down';
    try {
      await close(id);
      await waitFor(async () => (await analysis(id)).attempts === 1, 'a failed try');
      const a = await analysis(id);
      expect(a.status).toBe('pending');
      expect(a.error).toMatch(/the model failed/);
      await stack.down();
    } finally {
      llm.state.mode = 'up';
    }
    await stack.up();
    await waitFor(async () => (await analysis(id)).status === 'done', 'analysed after the restart');
    await sleep(300);
    expect(llm.state.requests).toHaveLength(1);
    expect(await analysis(id)).toMatchObject({ status: 'done', analysis: GOOD, error: null });
  });

  test('a job cut by a restart (the model still thinking) is done at the next start, once', async () => {
    const id = await conversation(9003);
    llm.state.requests.length = 0;
    llm.state.mode = 'hold';
    try {
      await close(id);
      await waitFor(() => llm.state.requests.length === 1, 'the model asked');
      await stack.down();
    } finally {
      llm.state.mode = 'up';
    }
    await stack.up();
    await waitFor(async () => (await analysis(id)).status === 'done', 'analysed after the restart');
    await sleep(300);
    expect(llm.state.requests).toHaveLength(2); // the cut one and the one that answered
  });

  test('on demand: a re-run; malformed answers are retried, then fail with the reason', async () => {
    const id = await conversation(9004);
    await close(id);
    await waitFor(async () => (await analysis(id)).status === 'done', 'analysed');
    llm.state.requests.length = 0;
    const again = { ...GOOD, answered: 'partly' };
    llm.state.answers.push(fenced(again));
    const r = await send(`/chats/${id}/analysis`, {}, tokens['1001']);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ chatId: id, status: 'pending', trigger: 'manual' });
    await waitFor(async () => (await analysis(id)).analysis?.answered === 'partly', 're-run done');
    expect(llm.state.requests).toHaveLength(1);

    llm.state.requests.length = 0;
    llm.state.answers.push('Конечно! Вот разбор: всё хорошо.', fenced({ ...GOOD, answered: 'maybe' }), '{"summary": ');
    expect((await send(`/chats/${id}/analysis`, {})).status).toBe(202);
    await waitFor(async () => (await analysis(id)).status === 'failed', 'failed');
    const failed = await analysis(id);
    expect(failed.error).toMatch(/did not match the summary format after 3 tries/);
    expect(failed.analysis).toEqual(again); // the last good one is kept beside the failure
    expect(llm.state.requests).toHaveLength(3);
  });

  test('a chat reopened by the customer and closed again after new messages is analysed again', async () => {
    const id = await conversation(9006);
    await close(id);
    await waitFor(async () => (await analysis(id)).status === 'done', 'analysed');
    const first = (await analysis(id)).lastMessageId;
    llm.state.requests.length = 0;
    expect((await hook(customerUpdate(9006, ++msgId, { text: 'А можно на послезавтра?' }))).status).toBe(200);
    await waitFor(async () => (await api(stack, `/chats/${id}`)).body.status !== 'closed', 'reopened');
    expect((await send(`/chats/${id}/messages`, { text: 'Да, перенесём' }, tokens['1001'])).status).toBe(202);
    await close(id);
    await waitFor(async () => (await analysis(id)).lastMessageId > first && (await analysis(id)).status === 'done', 'analysed again');
    expect(llm.state.requests).toHaveLength(1);
    expect(llm.state.requests[0].body.messages[1].content).toContain('А можно на послезавтра?');
  });

  test('an operator who may not see the chat gets 403; nothing is asked', async () => {
    const id = await conversation(9005);
    llm.state.requests.length = 0;
    expect((await api(stack, `/chats/${id}/analysis`, { token: tokens['1003'] })).status).toBe(403);
    const r = await send(`/chats/${id}/analysis`, {}, tokens['1003']);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('forbidden');
    expect((await api(stack, `/chats/${id}`, { token: tokens['1003'] })).status).toBe(403);
    await sleep(200);
    expect(llm.state.requests).toHaveLength(0);
    expect((await api(stack, `/chats/${id}/analysis`, { token: tokens['1001'] })).body.status).toBe('none');
  });
});

describe('chat analysis without a model (sqlite)', () => {
  let stack: Stack;
  let fake: FakeBotApi;
  let filesDir: string;
  beforeAll(async () => {
    fake = new FakeBotApi();
    await fake.listen();
    filesDir = mkdtempSync(join(tmpdir(), 'tf-chat-analysis-'));
    stack = await startStack('sqlite', {
      env: {
        TELEFONIST_TELEGRAM_BOTS: JSON.stringify([{ id: 'main', token: '123456:TEST-token', secret: SECRET }]),
        TELEFONIST_TELEGRAM_API_ROOT: fake.apiRoot,
        TELEFONIST_CHAT_FILES_DIR: filesDir,
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await fake?.close();
    rmSync(filesDir, { recursive: true, force: true });
  });

  test('disabled is said plainly: no placeholder analysis, 409 on demand', async () => {
    const h = await fetch(`${stack.base}/messengers/telegram/main/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': SECRET },
      body: JSON.stringify(customerUpdate(9100, 1, { text: 'Здравствуйте' })),
    });
    expect(h.status).toBe(200);
    const chat = (await api(stack, '/chats')).body.items[0];
    const a = (await api(stack, `/chats/${chat.id}/analysis`)).body;
    expect(a).toEqual({ chatId: chat.id, status: 'disabled', message: 'Анализ чатов не настроен: не задана языковая модель (LLM_PROVIDER=none)' });
    expect((await api(stack, `/chats/${chat.id}`)).body.analysis).toEqual({ status: 'disabled', message: a.message });
    expect(chat.analysis).toEqual({ status: 'disabled' });
    const r = await api(stack, `/chats/${chat.id}/analysis`, { method: 'POST' });
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'analysis_disabled', message: a.message });
  });
});
