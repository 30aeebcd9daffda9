/**
 * Outbound: an employee writes in a chat (the write rule, templates rendered, the messenger's own rule
 * checked up front, first reply claims, the message queued for the outbox or kept as a note), whether a
 * phone is reachable on each account, and starting (or continuing) a chat by phone.
 */
import { randomUUID } from 'node:crypto';
import type { ReachabilityResult } from '../messengers/adapter';
import type { ChatEngine } from './engine';
import { safeFileName } from './files';
import { Placeholder, placeholdersOf, renderTemplate } from './templates';
import { ACTIVE, Actor, ChatError, ChatRow, ChatView, MessageRow, MessageView, messageView, SendInput, StartInput, Viewer } from './types';
import { publish } from './events';
import { claimOnReply, tryClaim } from './ownership';
import { lastInboundAt, row } from './views';
import { mayUseAccount, mayWrite } from './visibility';

/** The text to send and, from a template, the values its placeholders got (adapters with their own templates use them). */
async function render(e: ChatEngine, chat: ChatView, a: Actor, input: SendInput): Promise<{ text: string | undefined; vars?: Record<string, string> }> {
  if (!input.template) return { text: input.text };
  const rows = await e.db.query<{ text: string }>('SELECT text FROM chat_templates WHERE name = ?', [input.template]);
  if (!rows.length) throw new ChatError(400, 'invalid_template', `no template ${input.template}`, 'template');
  const customer = chat.customerId ? await e.directory.getCustomer(chat.customerId).catch(() => null) : null;
  const contact = customer && chat.contactId ? customer.contacts?.find((c: { id: string }) => c.id === chat.contactId) : undefined;
  const vars: Partial<Record<Placeholder, string>> = {
    customerName: customer?.name,
    contactName: (contact as { name?: string } | undefined)?.name,
    orderNumber: input.context?.order,
    invoiceNumber: input.context?.invoice,
    employeeName: e.employees.nameOf(a.employee),
    date: new Date().toLocaleDateString('ru-RU'),
    ...input.vars,
  };
  try {
    const text = renderTemplate(rows[0].text, vars);
    const used: Record<string, string> = {};
    for (const p of placeholdersOf(rows[0].text)) used[p] = vars[p]!;
    return { text, vars: used };
  } catch (caught) {
    const err = caught as { message: string; field?: string };
    throw new ChatError(400, 'invalid_template', err.message, err.field);
  }
}

/** An employee writes in a chat: the rules, then the message goes to the outbox (or stays a note). */
export async function send(e: ChatEngine, chatId: string, a: Actor, input: SendInput): Promise<MessageView> {
  const chat = await e.get(chatId, a).catch((err) => {
    if (err instanceof ChatError && err.status === 403) throw new ChatError(403, 'forbidden', 'only the responsible, observers and supervisors write in a chat in work');
    throw err;
  });
  if (!mayWrite(a, chat)) throw new ChatError(403, 'forbidden', 'only the responsible, observers and supervisors write in a chat in work');
  const rendered = await render(e, chat, a, input);
  const text = rendered.text;
  if (!text && !input.file) throw new ChatError(400, 'invalid_body', 'a message needs text, template or file', 'text');
  const adapter = e.adapters.get(chat.accountId);
  if (input.internal !== true && adapter?.checkOutbound) {
    // A messenger's own rule (WhatsApp's 24-hour window): refused here, plainly, never failed later.
    const lastAt = await lastInboundAt(e, chatId);
    const refusal = await adapter.checkOutbound({ peerId: chat.peerId, template: input.template, hasText: !!input.text, hasFile: !!input.file, lastInboundAt: lastAt });
    if (refusal) throw new ChatError(422, refusal.code, refusal.message, refusal.field);
  }
  let file: { id: string; name: string; mime: string; size: number } | null = null;
  if (input.file) {
    if (!e.files.has(input.file.id)) throw new ChatError(400, 'invalid_file', `no uploaded file ${input.file.id}: upload it with POST /chat-files first`, 'file.id');
    const bytes = await e.files.read(input.file.id);
    const stored = await e.files.put(bytes, input.file.name);
    file = { id: stored.id, name: safeFileName(input.file.name, stored.mime), mime: stored.mime, size: stored.size };
  }
  const internal = input.internal === true;
  if (!internal && !chat.responsible && !(await tryClaim(e, chatId, a))) {
    // Someone else's first reply won the race: the rule applies to the chat as it is now.
    const nowChat = (await row(e, chatId))!;
    if (!mayWrite(a, nowChat)) throw new ChatError(403, 'forbidden', `${nowChat.responsible} answered first: only the responsible, observers and supervisors write in a chat in work`);
  }
  const now = Date.now();
  const ins = await e.db.query<{ id: number }>(`INSERT INTO chat_messages (chat_id, account_id, peer_id, direction, author, text, state, attempts, next_attempt_at, context, file_hash, file_name, file_mime, file_size, created_at, template)
    VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  [chatId, chat.accountId, chat.peerId, internal ? 'note' : 'out', a.employee, text ?? null, internal ? 'note' : 'queued', internal ? null : now,
    input.context && Object.keys(input.context).length ? JSON.stringify(input.context) : null, file?.id ?? null, file?.name ?? null, file?.mime ?? null, file?.size ?? null, now,
    input.template && !internal ? JSON.stringify({ name: input.template, vars: rendered.vars ?? {} }) : null]);
  const id = Number(ins[0].id);
  await e.db.exec('UPDATE chats SET last_message_at = ?, updated_at = ? WHERE id = ?', [now, now, chatId]);
  if (!internal) await claimOnReply(e, chatId, a, text ?? '');
  else for (const m of e.mentions(text ?? '')) await e.addObserver(chatId, a, m, true);
  // The author has read the chat up to his own message.
  await e.db.exec(`INSERT INTO chat_reads (chat_id, employee, last_read) VALUES (?, ?, ?)
    ON CONFLICT (chat_id, employee) DO UPDATE SET last_read = excluded.last_read`, [chatId, a.employee, id]);
  const msg = messageView((await e.db.query<MessageRow>('SELECT * FROM chat_messages WHERE id = ?', [id]))[0]);
  await publish(e, 'chat.message', `chat.message:${id}`, (await row(e, chatId))!, { message: msg });
  if (!internal) e.outbox.wake();
  return msg;
}

/**
 * Whether a phone can be written to on each account, without writing (the panel's "start a chat" shows the
 * answers side by side before anyone sends): `yes` / `no` / `unknown` from the adapter (a gateway's number
 * check, a Telegram user account's contact resolve; a bot or WhatsApp Cloud cannot check: `unknown`), whether
 * the account can write first, and whether an active chat with that phone already exists there.
 */
export async function reachability(e: ChatEngine, v: Viewer, phone: string, accountIds?: string[]): Promise<Array<{
  accountId: string; kind: string; reachable: 'yes' | 'no' | 'unknown'; canWriteFirst: boolean; reason: string | null; activeChatId: string | null;
}>> {
  // Without a list: every account the viewer may use (a colleague's own Telegram is not among them).
  const ids = accountIds?.length ? accountIds : [...e.adapters.keys()].filter((id) => mayUseAccount(v, e.adapters.get(id)!));
  const out = [];
  for (const id of ids) {
    const adapter = e.adapters.get(id);
    if (!adapter) throw new ChatError(400, 'invalid_account', `no messenger account ${id}`, 'accountId');
    if (!mayUseAccount(v, adapter)) throw personalAccount(id);
    const active = await e.db.query<{ id: string }>(`SELECT id FROM chats WHERE account_id = ? AND phone = ? AND status IN ${ACTIVE} LIMIT 1`, [id, phone]);
    const r: ReachabilityResult = await adapter.checkPhone(phone)
      .catch((err) => ({ reachable: 'unknown' as const, reason: `the check failed: ${(err as Error).message}`, canWriteFirst: false }));
    out.push({
      accountId: id,
      kind: adapter.kind,
      reachable: r.reachable,
      canWriteFirst: r.reachable !== 'no' && r.canWriteFirst !== false && (r.peerId !== undefined || active.length > 0),
      reason: r.reason ?? null,
      activeChatId: active[0]?.id ?? null,
    });
  }
  return out;
}

/** 403 for a colleague's own account (mayUseAccount). */
function personalAccount(accountId: string): ChatError {
  return new ChatError(403, 'personal_account', `messenger account ${accountId} is an employee's own: only he starts chats and checks numbers through it`, 'accountId');
}

/**
 * Starts (or continues) a chat with a phone: the adapter's reachability first. `no` is a 422
 * (not_registered); an adapter that cannot write first (a bot) answers 422 (cannot_write_first) unless
 * there is already a chat with that phone on that account, which is continued.
 */
export async function startByPhone(e: ChatEngine, a: Actor, input: StartInput): Promise<{ chat: ChatView; message: MessageView | null; continued: boolean; reachability: ReachabilityResult }> {
  const adapter = e.adapters.get(input.accountId);
  if (!adapter) throw new ChatError(400, 'invalid_account', `no messenger account ${input.accountId}`, 'accountId');
  if (!mayUseAccount(a, adapter)) throw personalAccount(input.accountId);
  const existing = await e.db.query<ChatRow>(`SELECT * FROM chats WHERE account_id = ? AND phone = ? ORDER BY (CASE WHEN status IN ${ACTIVE} THEN 0 ELSE 1 END), last_message_at DESC LIMIT 1`,
    [input.accountId, input.phone]);
  let reach: ReachabilityResult;
  if (existing.length) {
    reach = { reachable: 'yes', peerId: existing[0].peer_id, canWriteFirst: true };
  } else {
    reach = await adapter.checkPhone(input.phone).catch((err) => ({ reachable: 'unknown' as const, reason: `the check failed: ${(err as Error).message}`, canWriteFirst: false }));
    if (reach.reachable === 'no') throw new ChatError(422, 'not_registered', reach.reason ?? `${input.phone} is not registered in ${adapter.kind}`, 'phone');
    if (!reach.peerId || reach.canWriteFirst === false) {
      throw new ChatError(422, 'cannot_write_first', reach.reason ?? `${adapter.kind} account ${adapter.accountId} cannot write first to ${input.phone}`, 'phone');
    }
  }
  let chatId: string;
  let continued = false;
  const active = existing.find((c) => c.status === 'queue' || c.status === 'in_work');
  const peer = reach.peerId!;
  const open = active ?? (await e.db.query<ChatRow>(`SELECT * FROM chats WHERE account_id = ? AND peer_id = ? AND status IN ${ACTIVE} LIMIT 1`, [input.accountId, peer]))[0];
  if (!open && adapter.checkOutbound && input.internal !== true && (input.text || input.template || input.file)) {
    // A new chat whose first message the messenger would refuse (WhatsApp: a template is needed): no chat is made.
    const refusal = await adapter.checkOutbound({ peerId: peer, template: input.template, hasText: !!input.text, hasFile: !!input.file, lastInboundAt: null });
    if (refusal) throw new ChatError(422, refusal.code, refusal.message, refusal.field);
  }
  if (open) {
    chatId = open.id;
    continued = true;
    const view = (await row(e, chatId))!;
    if (!mayWrite(a, view)) throw new ChatError(403, 'forbidden', `an active chat with ${input.phone} is in work with ${view.responsible}: only they, observers and supervisors write in it`);
  } else {
    const ident = input.customerId ? null : await e.directory.identify(input.phone).catch(() => null);
    chatId = randomUUID();
    const now = Date.now();
    await e.db.exec(`INSERT INTO chats (id, messenger, account_id, peer_id, phone, customer_id, contact_id, status, responsible, reference, created_at, updated_at, last_message_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, 'in_work', ?, ?, ?, ?, ?)`,
    [chatId, adapter.kind, input.accountId, peer, input.phone, input.customerId ?? ident?.customer?.id ?? null, input.contactId ?? ident?.contact?.id ?? null,
      a.employee, input.context?.order ?? input.context?.partner ?? null, now, now, now]);
    const chat = (await row(e, chatId))!;
    await publish(e, 'chat.created', `chat.created:${chatId}`, chat, { by: a.employee });
    await publish(e, 'chat.assigned', `chat.assigned:${chatId}:${a.employee}:start`, chat, { reason: 'started', responsible: a.employee, previous: null });
  }
  const message = input.text || input.template || input.file ? await e.send(chatId, a, input) : null;
  return { chat: (await e.get(chatId, a)), message, continued, reachability: reach };
}
