import { EventEmitter } from 'node:events';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { z } from 'zod';
import { Db } from '../db/database';
import { ChatEngine, ChatView, MessageRow, messageView, MessageView } from '../chats/engine';
import { EventLog, LogEvent } from '../events/event-log';
import { chatAudience } from '../auth/scope';
import { ChainPrompts, StructuredChain, SummarizerOptions, SummaryError } from './summarizer';

/** What an analysis of a chat holds: the structured answer the chain must produce (and is checked against). */
export const chatAnalysisSchema = z.object({
  summary: z.string().min(1).describe('2–4 sentences: what the chat was about and how it ended'),
  request: z.string().describe("the customer's request in one sentence; empty if unclear"),
  agreements: z.array(z.string()).describe('what was agreed (prices, dates, quantities)'),
  nextSteps: z.array(z.object({ who: z.string(), what: z.string(), due: z.string().nullable() })).describe('who does what next, and by when if said'),
  sentiment: z.enum(['positive', 'neutral', 'negative', 'mixed']).describe("the customer's mood"),
  answered: z.enum(['yes', 'no', 'partly']).describe("whether the customer's question was answered: yes, no or partly"),
});
export type ChatAnalysis = z.infer<typeof chatAnalysisSchema>;

const PROMPTS: Record<'ru' | 'en', ChainPrompts> = {
  ru: {
    system:
      'Ты помощник отдела продаж. Тебе дают переписку в мессенджере между клиентом и сотрудниками компании. '
      + 'Участники: {participants}. Вложения названы по имени, их содержимое тебе не показывают: не додумывай его. '
      + 'Составь краткий деловой разбор переписки на русском языке: о чём она, чего хочет клиент, о чём договорились, '
      + 'кто что делает дальше, настроение клиента и получил ли клиент ответ на свой вопрос (yes — да, no — нет, partly — частично). '
      + 'Ничего не придумывай: только то, что есть в тексте.\n{format}',
    chunk: 'Часть {part} из {parts} переписки:\n\n{text}',
    reduce: 'Ниже разборы частей одной переписки по порядку. Объедини их в один разбор всей переписки.\n\n{text}',
  },
  en: {
    system:
      'You assist a sales team. You are given a messenger chat between a customer and employees of the company. '
      + 'Participants: {participants}. Attachments are named only; you are not shown their content: do not guess it. '
      + "Write a short business analysis of the chat in English: what it was about, what the customer wants, what was agreed, "
      + "who does what next, the customer's mood, and whether the customer's question was answered (yes, no, partly). "
      + 'Invent nothing: only what the text says.\n{format}',
    chunk: 'Part {part} of {parts} of the chat:\n\n{text}',
    reduce: 'Below are analyses of the parts of one chat, in order. Merge them into one analysis of the whole chat.\n\n{text}',
  },
};

/** The chat analysis chain: the one LangChain chain (src/ai/summarizer.ts) with the chat schema and prompts. */
export class ChatAnalyzer extends StructuredChain<typeof chatAnalysisSchema> {
  readonly locale: 'ru' | 'en';
  constructor(model: BaseChatModel, opts: SummarizerOptions = {}) {
    super(model, chatAnalysisSchema, PROMPTS[opts.locale ?? 'ru'], opts);
    this.locale = opts.locale ?? 'ru';
  }
}

export type ChatAnalysisStatus = 'disabled' | 'none' | 'pending' | 'done' | 'failed';

export interface ChatAnalysisView {
  chatId: string;
  status: ChatAnalysisStatus;
  /** Why there is none (disabled), in plain words. */
  message?: string;
  analysis?: ChatAnalysis | null;
  model?: string | null;
  /** The reason of a failure, or of the last failed try while it is retried (pending). */
  error?: string | null;
  attempts?: number;
  trigger?: 'auto' | 'manual';
  /** The chat's last message the analysis covers. */
  lastMessageId?: number;
  updatedAt?: string;
}

/** What a chat journal row shows. */
export interface ChatAnalysisBrief {
  status: ChatAnalysisStatus;
  sentiment?: ChatAnalysis['sentiment'];
  answered?: ChatAnalysis['answered'];
  summary?: string;
}

export interface ChatAnalysesOptions {
  /** Waits before the next try after the model failed or did not answer; after the last, the analysis fails. */
  retryDelaysMs?: number[];
  /** At start, chats closed this long ago or less without an analysis are analysed (default 7 days). */
  catchUpMs?: number;
}

export const DISABLED_MESSAGE = {
  ru: 'Анализ чатов не настроен: не задана языковая модель (LLM_PROVIDER=none)',
  en: 'Chat analysis is off: no language model is configured (LLM_PROVIDER=none)',
} as const;

interface Row {
  chat_id: string;
  status: 'pending' | 'done' | 'failed';
  analysis: string | null;
  model: string | null;
  error: string | null;
  attempts: number | string | bigint;
  last_message: number | string | bigint;
  trigger: string;
  updated_at: number | string | bigint;
}

/**
 * Analyses of chats (issue 14, C15): on demand and when a chat is closed without one covering its last
 * message. Durable: the wish is a `pending` row, written before the model is asked; pending rows and
 * chats closed while the server was down are taken up at the next start. One at a time. The model not
 * answering or unreachable is tried again later (stays pending with the reason); an answer that never
 * matches the schema fails with the reason. Without a model: `disabled`, said plainly.
 */
export class ChatAnalyses extends EventEmitter {
  private queue: string[] = [];
  private busy: Promise<void> | null = null;
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly retryDelaysMs: number[];

  constructor(
    private readonly db: Db,
    private readonly engine: ChatEngine,
    private readonly events: EventLog,
    readonly analyzer: ChatAnalyzer | null,
    private readonly opts: ChatAnalysesOptions & { locale?: 'ru' | 'en' } = {},
  ) {
    super();
    this.on('error', () => undefined);
    this.retryDelaysMs = opts.retryDelaysMs ?? [30_000, 120_000, 600_000, 1_800_000];
  }

  get enabled(): boolean {
    return this.analyzer !== null;
  }

  get disabledMessage(): string {
    return DISABLED_MESSAGE[this.opts.locale ?? 'ru'];
  }

  private readonly onAppended = (events: LogEvent[]) => {
    for (const e of events) {
      if (e.type !== 'chat.closed') continue;
      const id = (e.data.chat as { id?: string } | undefined)?.id;
      if (id) this.onClosed(id).catch((err) => this.emit('error', err));
    }
  };

  async start(): Promise<void> {
    if (!this.analyzer) return;
    this.events.on('appended', this.onAppended);
    const since = Date.now() - (this.opts.catchUpMs ?? 7 * 86_400_000);
    const rows = await this.db.query<{ id: string; status: string | null }>(
      `SELECT c.id, a.status FROM chats c LEFT JOIN chat_analyses a ON a.chat_id = c.id
        WHERE a.status = 'pending'
           OR (c.status = 'closed' AND c.closed_at >= ?
               AND (a.chat_id IS NULL OR a.last_message < (SELECT COALESCE(MAX(m.id), 0) FROM chat_messages m WHERE m.chat_id = c.id))
               AND EXISTS (SELECT 1 FROM chat_messages m2 WHERE m2.chat_id = c.id))
        ORDER BY c.closed_at`,
      [since],
    );
    for (const r of rows) {
      if (r.status !== 'pending') await this.markPending(r.id, 'auto');
      this.enqueue(r.id);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.events.off('appended', this.onAppended);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue = [];
    this.abort.abort();
    await this.busy?.catch(() => undefined);
  }

  /** A chat was closed: analysed unless an analysis already covers its last message (or it has none). */
  private async onClosed(chatId: string): Promise<void> {
    if (this.stopped) return;
    const last = await this.lastMessageId(chatId);
    if (!last) return;
    const [a] = await this.db.query<Row>('SELECT * FROM chat_analyses WHERE chat_id = ?', [chatId]);
    if (a && (a.status === 'pending' || Number(a.last_message) >= last)) return;
    await this.markPending(chatId, 'auto');
    this.enqueue(chatId);
  }

  /** On demand (the button, 1C): a new analysis of the chat as it is now. */
  async request(chatId: string): Promise<ChatAnalysisView> {
    await this.markPending(chatId, 'manual');
    this.enqueue(chatId);
    return this.get(chatId);
  }

  async get(chatId: string): Promise<ChatAnalysisView> {
    if (!this.analyzer) return { chatId, status: 'disabled', message: this.disabledMessage };
    const [r] = await this.db.query<Row>('SELECT * FROM chat_analyses WHERE chat_id = ?', [chatId]);
    if (!r) return { chatId, status: 'none' };
    return {
      chatId,
      status: r.status,
      analysis: r.analysis ? (JSON.parse(r.analysis) as ChatAnalysis) : null,
      model: r.model,
      error: r.error,
      attempts: Number(r.attempts),
      trigger: r.trigger === 'manual' ? 'manual' : 'auto',
      lastMessageId: Number(r.last_message),
      updatedAt: new Date(Number(r.updated_at)).toISOString(),
    };
  }

  /** Briefs for a page of the chat journal. */
  async briefs(chatIds: string[]): Promise<Map<string, ChatAnalysisBrief>> {
    const m = new Map<string, ChatAnalysisBrief>();
    if (!this.analyzer) {
      for (const id of chatIds) m.set(id, { status: 'disabled' });
      return m;
    }
    if (chatIds.length) {
      const rows = await this.db.query<Row>(`SELECT * FROM chat_analyses WHERE chat_id IN (${chatIds.map(() => '?').join(',')})`, chatIds);
      for (const r of rows) {
        const a = r.analysis ? (JSON.parse(r.analysis) as ChatAnalysis) : null;
        m.set(r.chat_id, a ? { status: r.status, sentiment: a.sentiment, answered: a.answered, summary: a.summary } : { status: r.status });
      }
    }
    for (const id of chatIds) if (!m.has(id)) m.set(id, { status: 'none' });
    return m;
  }

  /** Resolves when the queue is empty (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.busy) await this.busy.catch(() => undefined);
  }

  private async markPending(chatId: string, trigger: 'auto' | 'manual'): Promise<void> {
    const now = BigInt(Date.now());
    await this.db.exec(
      `INSERT INTO chat_analyses (chat_id, status, attempts, trigger, requested_at, updated_at) VALUES (?, 'pending', 0, ?, ?, ?)
       ON CONFLICT (chat_id) DO UPDATE SET status = 'pending', attempts = 0, error = NULL, trigger = excluded.trigger, requested_at = excluded.requested_at, updated_at = excluded.updated_at`,
      [chatId, trigger, now, now],
    );
  }

  private enqueue(chatId: string): void {
    if (this.stopped || !this.analyzer || this.queue.includes(chatId)) return;
    this.queue.push(chatId);
    if (!this.busy) this.busy = this.drain().finally(() => (this.busy = null));
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.stopped) {
      const chatId = this.queue.shift()!;
      try {
        await this.analyse(chatId);
      } catch (e) {
        this.emit('error', e);
      }
    }
  }

  private async lastMessageId(chatId: string): Promise<number> {
    const r = await this.db.query<{ id: number | string | bigint | null }>('SELECT MAX(id) AS id FROM chat_messages WHERE chat_id = ?', [chatId]);
    return Number(r[0]?.id ?? 0);
  }

  private async analyse(chatId: string): Promise<void> {
    const analyzer = this.analyzer!;
    const now = () => BigInt(Date.now());
    const [row] = await this.db.query<Row>('SELECT * FROM chat_analyses WHERE chat_id = ?', [chatId]);
    if (!row || row.status !== 'pending') return;
    const chat = await this.engine.get(chatId, { all: true }).catch(() => null);
    if (!chat) {
      await this.db.exec(`UPDATE chat_analyses SET status = 'failed', error = 'the chat no longer exists', updated_at = ? WHERE chat_id = ?`, [now(), chatId]);
      return;
    }
    const rows = await this.db.query<MessageRow>('SELECT * FROM chat_messages WHERE chat_id = ? ORDER BY id', [chatId]);
    const messages = rows.map(messageView);
    const last = messages.length ? messages[messages.length - 1].id : 0;
    const { text, participants } = await this.transcript(chat, messages, analyzer.locale);
    try {
      const analysis = await analyzer.run(text, { participants }, this.abort.signal);
      await this.db.exec(
        `UPDATE chat_analyses SET status = 'done', analysis = ?, model = ?, error = NULL, attempts = attempts + 1, last_message = ?, updated_at = ? WHERE chat_id = ?`,
        [JSON.stringify(analysis), analyzer.modelName, BigInt(last), now(), chatId],
      );
      await this.publish(chat);
      this.emit('done', chatId);
    } catch (e) {
      if (this.stopped) return; // stays pending: done at the next start
      const err = e as Error;
      const attempts = Number(row.attempts) + 1;
      const transient = e instanceof SummaryError && (e.kind === 'unavailable' || e.kind === 'timeout');
      if (transient && attempts <= this.retryDelaysMs.length) {
        await this.db.exec(`UPDATE chat_analyses SET error = ?, attempts = ?, updated_at = ? WHERE chat_id = ?`, [err.message.slice(0, 500), attempts, now(), chatId]);
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.enqueue(chatId);
        }, this.retryDelaysMs[attempts - 1]);
        t.unref();
        this.timers.add(t);
        this.emit('retry', chatId, e);
        return;
      }
      await this.db.exec(`UPDATE chat_analyses SET status = 'failed', error = ?, attempts = ?, last_message = ?, updated_at = ? WHERE chat_id = ?`, [
        err.message.slice(0, 500), attempts, BigInt(last), now(), chatId,
      ]);
      await this.publish(chat);
      this.emit('failed', chatId, e);
    }
  }

  /** `chat.analysis` (done or failed) to the employees who see the chat, and to 1C's webhooks. */
  private async publish(chat: ChatView): Promise<void> {
    const view = await this.get(chat.id);
    const employees = this.engine.employees;
    await this.events.append([{
      key: `chat.analysis:${chat.id}:${view.updatedAt}:${view.status}`,
      type: 'chat.analysis',
      employees: chatAudience(chat, employees.list().map((e) => e.extension), employees.supervisors()),
      data: { chatId: chat.id, customerId: chat.customerId, analysis: view },
    }]).catch((e) => this.emit('error', e));
  }

  /** The chat as the model reads it: who wrote, when, what; attachments by name only; deleted messages left out. */
  private async transcript(chat: ChatView, messages: MessageView[], locale: 'ru' | 'en'): Promise<{ text: string; participants: string }> {
    const ru = locale === 'ru';
    const customer = chat.customerId ? await this.engine.directory.getCustomer(chat.customerId).catch(() => null) : null;
    const contact = customer && chat.contactId ? customer.contacts?.find((c: { id: string }) => c.id === chat.contactId) as { name?: string } | undefined : undefined;
    const customerName = [customer?.name, contact?.name ?? chat.peerName].filter(Boolean).join(', ') || chat.peerUsername || chat.phone || (ru ? 'клиент' : 'customer');
    const employeeName = (ext: string) => {
      const n = this.engine.employees.nameOf(ext);
      return n ? `${n} (${ru ? 'сотрудник' : 'employee'} ${ext})` : `${ru ? 'сотрудник' : 'employee'} ${ext}`;
    };
    const staff = new Set<string>();
    for (const e of [chat.responsible, ...chat.observers]) if (e) staff.add(e);
    const lines: string[] = [];
    for (const m of messages) {
      if (m.deletedAt) continue;
      const who = m.direction === 'in'
        ? `${ru ? 'Клиент' : 'Customer'} (${customerName})`
        : m.author ? employeeName(m.author) : ru ? 'Компания' : 'Company';
      if (m.direction !== 'in' && m.author) staff.add(m.author);
      const parts: string[] = [];
      if (m.direction === 'note') parts.push(ru ? '[внутренняя заметка, клиент её не видел]' : '[internal note, not seen by the customer]');
      if (m.text) parts.push(m.text);
      if (m.file) parts.push(ru ? `[вложение: ${m.file.name}, ${m.file.mime}; содержимое не читалось]` : `[attachment: ${m.file.name}, ${m.file.mime}; content not read]`);
      if (!parts.length) continue;
      lines.push(`[${m.createdAt.slice(0, 16).replace('T', ' ')}] ${who}: ${parts.join(' ').replace(/\r?\n/g, ' ')}`);
    }
    const who = [...staff].map(employeeName);
    const participants = ru
      ? `клиент — ${customerName}; сотрудники — ${who.length ? who.join(', ') : 'не указаны'}`
      : `customer — ${customerName}; employees — ${who.length ? who.join(', ') : 'none named'}`;
    return { text: lines.join('\n'), participants };
  }
}
