/**
 * The LangChain summary chain, for real: LangChain's fake chat model, and ChatOpenAI against a local
 * OpenAI-compatible HTTP server — a good answer, malformed answers (rejected, asked again, reported),
 * a model that never answers, and a long transcript that is split and reduced.
 */
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { ChatOpenAI } from '@langchain/openai';
import { splitText, Summarizer, SummaryError } from '../src/ai/summarizer';
import { FakeLlm, fenced, startFakeLlm } from './fake-llm';

const GOOD = {
  summary: 'Клиент попросил выставить счёт на 10 упаковок; сотрудник пообещал выставить сегодня.',
  keyPoints: ['Нужен счёт на 10 упаковок'],
  customerWants: 'Получить счёт',
  agreements: ['Счёт будет выставлен сегодня'],
  nextActions: [{ who: 'Сотрудник', what: 'Выставить счёт', due: 'сегодня' }],
  sentiment: 'positive',
};
const DIALOGUE = '[00:00] 1001: Алло, слушаю.\n[00:01] ООО «Ромашка»: Добрый день, нужен счёт на 10 упаковок.\n[00:04] 1001: Выставлю сегодня.';

describe('summary chain with LangChain\'s fake chat model', () => {
  test('a structured answer is parsed and checked', async () => {
    const s = await new Summarizer(new FakeListChatModel({ responses: [fenced(GOOD)] })).summarize(DIALOGUE);
    expect(s).toEqual(GOOD);
  });

  test('malformed answers are rejected and asked again; too many fail with the reason', async () => {
    const model = new FakeListChatModel({ responses: ['Конечно! Вот резюме: всё хорошо.', fenced({ ...GOOD, sentiment: 'great' }), fenced(GOOD)] });
    expect(await new Summarizer(model, { retries: 2 }).summarize(DIALOGUE)).toEqual(GOOD);
    const hopeless = new FakeListChatModel({ responses: ['нет', 'нет', 'нет'] });
    await expect(new Summarizer(hopeless, { retries: 2 }).summarize(DIALOGUE)).rejects.toThrow(/did not match the summary format after 3 tries/);
  });

  test('a long transcript is summarised in parts and reduced', async () => {
    const long = Array.from({ length: 400 }, (_, i) => `[${String(i).padStart(2, '0')}:00] 1001: реплика номер ${i}`).join('\n');
    const parts = splitText(long, 4000);
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.join('\n')).toBe(long);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(4000);
    const seen: string[] = [];
    class Recording extends FakeListChatModel {
      override async _generate(...args: Parameters<FakeListChatModel['_generate']>) {
        seen.push(String(args[0][args[0].length - 1].content));
        return super._generate(...args);
      }
    }
    const model = new Recording({ responses: Array.from({ length: parts.length + 1 }, () => fenced(GOOD)) });
    expect(await new Summarizer(model, { maxChunkChars: 4000 }).summarize(long)).toEqual(GOOD);
    expect(seen).toHaveLength(parts.length + 1);
    expect(seen[0]).toMatch(new RegExp(`^Часть 1 из ${parts.length}`));
    expect(seen[seen.length - 1]).toMatch(/^Ниже резюме частей/);
  });

  test('an empty transcript is not sent to the model', async () => {
    await expect(new Summarizer(new FakeListChatModel({ responses: [] })).summarize('  ')).rejects.toThrow(SummaryError);
  });
});

describe('summary chain over HTTP (OpenAI-compatible endpoint)', () => {
  let llm: FakeLlm;
  beforeAll(async () => {
    llm = await startFakeLlm(GOOD, 'qwen2.5-7b-instruct');
  });
  afterAll(async () => {
    await llm.close();
  });
  const requests = () => llm.state.requests;
  const model = () => new ChatOpenAI({ model: 'qwen2.5-7b-instruct', apiKey: 'local-key', configuration: { baseURL: llm.url }, temperature: 0, maxRetries: 0 });

  test('the Russian prompt goes to /chat/completions and the structured answer comes back', async () => {
    llm.state.requests.length = 0;
    const s = await new Summarizer(model()).summarize(DIALOGUE);
    expect(s).toEqual(GOOD);
    expect(requests()).toHaveLength(1);
    expect(requests()[0].path).toBe('/v1/chat/completions');
    expect(requests()[0].auth).toBe('Bearer local-key');
    expect(requests()[0].body.model).toBe('qwen2.5-7b-instruct');
    const [system, human] = requests()[0].body.messages;
    expect(system.content).toMatch(/резюме на русском языке/);
    expect(human.content).toContain('ООО «Ромашка»');
  });

  test('a malformed answer is rejected, retried and reported', async () => {
    llm.state.requests.length = 0;
    llm.state.answers.push('{"summary": ', fenced({ summary: '' }), '<html>oops</html>');
    await expect(new Summarizer(model(), { retries: 2 }).summarize(DIALOGUE)).rejects.toThrow(/after 3 tries/);
    expect(requests()).toHaveLength(3);
  });

  test('a model that does not answer times out', async () => {
    llm.state.mode = 'hold';
    try {
      const t0 = Date.now();
      await expect(new Summarizer(model(), { timeoutMs: 300 }).summarize(DIALOGUE)).rejects.toThrow(/did not answer in time/);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      llm.state.mode = 'up';
    }
  });
});
