import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { OutputParserException, StructuredOutputParser } from '@langchain/core/output_parsers';
import { z } from 'zod';

/** What a summary holds: the structured answer the chain must produce (and is checked against). */
export const summarySchema = z.object({
  summary: z.string().min(1).describe('2–4 sentences: what the conversation was about and how it ended'),
  keyPoints: z.array(z.string()).describe('the main points, one short sentence each'),
  customerWants: z.string().describe('what the customer wants, in one sentence; empty if unclear'),
  agreements: z.array(z.string()).describe('what was agreed (prices, dates, quantities)'),
  nextActions: z.array(z.object({ who: z.string(), what: z.string(), due: z.string().nullable() })).describe('who does what next, and by when if said'),
  sentiment: z.enum(['positive', 'neutral', 'negative', 'mixed']).describe("the customer's mood"),
});
export type Summary = z.infer<typeof summarySchema>;

/** Why a chain failed: `format` (answers never matched the schema), `unavailable` (the model failed or could not be reached), `timeout`, `empty` (nothing to send). */
export type SummaryFailure = 'format' | 'unavailable' | 'timeout' | 'empty';

export class SummaryError extends Error {
  constructor(message: string, readonly kind: SummaryFailure = 'unavailable') {
    super(message);
  }
}

/** The three prompts of a map-reduce chain: `{format}` in the system prompt; `{part} {parts} {text}` in chunk; `{text}` in reduce. */
export interface ChainPrompts {
  system: string;
  chunk: string;
  reduce: string;
}

const PROMPTS = {
  ru: {
    system:
      'Ты помощник отдела продаж. Тебе дают расшифровку телефонного разговора (или часть переписки) между клиентом и сотрудником компании. '
      + 'Составь краткое деловое резюме на русском языке. Ничего не придумывай: только то, что есть в тексте.\n{format}',
    chunk: 'Часть {part} из {parts} разговора:\n\n{text}',
    reduce: 'Ниже резюме частей одного разговора по порядку. Объедини их в одно резюме всего разговора.\n\n{text}',
  },
  en: {
    system:
      'You assist a sales team. You are given the transcript of a phone call (or a chat) between a customer and an employee. '
      + 'Write a short business summary in English. Invent nothing: only what the text says.\n{format}',
    chunk: 'Part {part} of {parts} of the conversation:\n\n{text}',
    reduce: 'Below are summaries of the parts of one conversation, in order. Merge them into one summary of the whole conversation.\n\n{text}',
  },
} as const;

export interface SummarizerOptions {
  locale?: 'ru' | 'en';
  /** Longer dialogues are split at line breaks into parts of at most this many characters, then reduced. */
  maxChunkChars?: number;
  /** Malformed answers are asked again this many times before the summary fails. */
  retries?: number;
  timeoutMs?: number;
}

/**
 * The one LangChain chain behind every AI text here (call summaries, chat analyses): prompt → chat model →
 * structured output checked by a zod schema; long input maps (per part) and reduces. A malformed answer
 * (not JSON, or not the schema) is rejected and asked again; after the retries it fails with the reason —
 * nothing is made up. `vars` fill any further placeholders of the prompts (e.g. who took part).
 */
export class StructuredChain<S extends z.ZodTypeAny> {
  private readonly parser: StructuredOutputParser<S>;

  constructor(
    protected readonly model: BaseChatModel,
    schema: S,
    private readonly prompts: ChainPrompts,
    protected readonly opts: SummarizerOptions = {},
  ) {
    this.parser = StructuredOutputParser.fromZodSchema(schema);
  }

  get modelName(): string {
    const m = this.model as unknown as { model?: string; modelName?: string };
    return m.model ?? m.modelName ?? this.model._llmType();
  }

  async run(input: string, vars: Record<string, string> = {}, signal?: AbortSignal): Promise<z.infer<S>> {
    const text = input.trim();
    if (!text) throw new SummaryError('nothing to summarise: the transcript is empty', 'empty');
    const parts = splitText(text, this.opts.maxChunkChars ?? 12_000);
    if (parts.length === 1) return this.ask(this.prompts.chunk, { ...vars, part: 1, parts: 1, text }, signal);
    const partial: Array<z.infer<S>> = [];
    for (let i = 0; i < parts.length; i++) partial.push(await this.ask(this.prompts.chunk, { ...vars, part: i + 1, parts: parts.length, text: parts[i] }, signal));
    return this.ask(this.prompts.reduce, { ...vars, text: partial.map((p, i) => `${i + 1}. ${JSON.stringify(p)}`).join('\n') }, signal);
  }

  private async ask(human: string, vars: Record<string, unknown>, signal?: AbortSignal): Promise<z.infer<S>> {
    const prompt = ChatPromptTemplate.fromMessages([
      ['system', this.prompts.system],
      ['human', human],
    ]);
    const chain = prompt.pipe(this.model).pipe(this.parser);
    const tries = (this.opts.retries ?? 2) + 1;
    let last: unknown;
    for (let i = 0; i < tries; i++) {
      try {
        return (await chain.invoke({ ...vars, format: this.parser.getFormatInstructions() }, { signal, timeout: this.opts.timeoutMs ?? 120_000 })) as z.infer<S>;
      } catch (e) {
        last = e;
        if (e instanceof OutputParserException) continue;
        const msg = (e as Error).message;
        if ((e as Error).name === 'AbortError' || /abort|timeout|timed out/i.test(msg)) throw new SummaryError(`the model did not answer in time: ${msg}`, 'timeout');
        throw new SummaryError(`the model failed: ${msg}`, 'unavailable');
      }
    }
    throw new SummaryError(`the model's answer did not match the summary format after ${tries} tries: ${(last as Error).message.slice(0, 300)}`, 'format');
  }
}

/** Call summaries: the chain with the summary schema and the call prompts. */
export class Summarizer extends StructuredChain<typeof summarySchema> {
  constructor(model: BaseChatModel, opts: SummarizerOptions = {}) {
    super(model, summarySchema, PROMPTS[opts.locale ?? 'ru'], opts);
  }

  summarize(dialogue: string, signal?: AbortSignal): Promise<Summary> {
    return this.run(dialogue, {}, signal);
  }
}

/** Parts of at most `max` characters, cut at line breaks (a single longer line is cut hard). */
export function splitText(text: string, max: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const line of text.split('\n')) {
    for (let piece = line; piece.length; piece = piece.slice(max)) {
      const chunk = piece.slice(0, max);
      if (cur && cur.length + 1 + chunk.length > max) {
        out.push(cur);
        cur = '';
      }
      cur = cur ? `${cur}\n${chunk}` : chunk;
      if (piece.length <= max) break;
    }
  }
  if (cur) out.push(cur);
  return out;
}
