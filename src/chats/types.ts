/**
 * The chat model: the types the engine and its parts share (views, rows, inputs, rules), the one error a
 * chat rule throws, and the row → view mappers. `engine.ts` re-exports the public ones.
 */
import { ApiError } from '../api-error';
import type { OutboxOptions } from './outbox';
import type { Placeholder } from './templates';

export type ChatStatus = 'queue' | 'in_work' | 'closed';
export type DeliveryState = 'received' | 'queued' | 'sent' | 'delivered' | 'read' | 'failed' | 'note';

/** A chat rule refused the request: an ApiError (src/api-error.ts) the API sends as it is. */
export class ChatError extends ApiError {
  constructor(
    override readonly status: 400 | 403 | 404 | 409 | 422,
    code: string,
    message: string,
    field?: string,
  ) {
    super(status, code, message, field);
  }
}

/** The employee a request acts as, and whether they hold the supervisor right. */
export interface Actor {
  employee: string;
  supervisor: boolean;
}

/** Who looks: an employee (rules apply) or everyone (admin, integration, a supervisor token without an employee). */
export type Viewer = Actor | { all: true; employee?: string };

export interface ChatContext {
  order?: string;
  partner?: string;
  invoice?: string;
}

export interface ChatView {
  id: string;
  messenger: string;
  accountId: string;
  peerId: string;
  peerName: string | null;
  peerUsername: string | null;
  phone: string | null;
  customerId: string | null;
  contactId: string | null;
  status: ChatStatus;
  responsible: string | null;
  observers: string[];
  reference: string | null;
  createdAt: string;
  updatedAt: string;
  lastMessageAt: string;
  closedAt: string | null;
  /** Messages from the customer after the viewer's last read (0 for a viewer without an employee). */
  unread: number;
  /**
   * A messenger's customer service window (WhatsApp Cloud: free-form messages only within 24 hours after the
   * customer's last message; templates always), absent for messengers without one. `closesAt`: null when
   * the customer has not written.
   */
  window?: { open: boolean; closesAt: string | null };
}

export interface MessageView {
  id: number;
  chatId: string;
  direction: 'in' | 'out' | 'note';
  author: string | null;
  text: string | null;
  externalId: string | null;
  state: DeliveryState;
  failure: string | null;
  attempts: number;
  context: ChatContext | null;
  file: { id: string; name: string; mime: string; size: number } | null;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
}

export interface ChatRules {
  /** A closed chat the customer writes in again: back to the queue, or in work with the same owner. */
  reopen: 'queue' | 'owner';
  /**
   * The customer writes while the responsible is offline: keep it with them (reported in the event as
   * `ownerAway`), or return it to the queue (reported as a chat.assigned with `reason`). A responsible
   * who no longer exists always returns it to the queue.
   */
  ownerAway: 'keep' | 'queue';
}

export interface ChatEngineOptions {
  rules?: Partial<ChatRules>;
  /** Whether an employee is online (presence); absent: always online. */
  isOnline?: (extension: string) => boolean;
  outbox?: OutboxOptions;
}

/** A `chats` row as the database returns it. */
export interface ChatRow {
  id: string;
  messenger: string;
  account_id: string;
  peer_id: string;
  peer_name: string | null;
  peer_username: string | null;
  phone: string | null;
  customer_id: string | null;
  contact_id: string | null;
  status: string;
  responsible: string | null;
  reference: string | null;
  created_at: number | string | bigint;
  updated_at: number | string | bigint;
  last_message_at: number | string | bigint;
  closed_at: number | string | bigint | null;
}

export interface MessageRow {
  id: number | string | bigint;
  chat_id: string;
  account_id: string;
  peer_id: string;
  direction: string;
  author: string | null;
  text: string | null;
  external_id: string | null;
  state: string;
  failure: string | null;
  attempts: number | string | bigint;
  next_attempt_at: number | string | bigint | null;
  context: string | null;
  file_hash: string | null;
  file_name: string | null;
  file_mime: string | null;
  file_size: number | string | bigint | null;
  created_at: number | string | bigint;
  edited_at: number | string | bigint | null;
  deleted_at: number | string | bigint | null;
  template?: string | null;
}

/** A stored epoch-milliseconds value as an ISO string (null stays null). */
export const iso = (v: number | string | bigint | null) => (v === null ? null : new Date(Number(v)).toISOString());
/** The active statuses, as an SQL list. */
export const ACTIVE = `('queue','in_work')`;

export interface SendInput {
  text?: string;
  template?: string;
  vars?: Partial<Record<Placeholder, string>>;
  file?: { id: string; name?: string };
  context?: ChatContext;
  /** An internal note: employees see it, the customer does not (mentions work in it too). */
  internal?: boolean;
}

export interface StartInput extends SendInput {
  accountId: string;
  phone: string;
  customerId?: string;
  contactId?: string;
}

/** A `chat_messages` row as the API shows it (a deleted message has no text). */
export function messageView(r: MessageRow): MessageView {
  return {
    id: Number(r.id),
    chatId: r.chat_id,
    direction: r.direction as MessageView['direction'],
    author: r.author,
    text: r.deleted_at !== null ? null : r.text,
    externalId: r.external_id,
    state: r.state as DeliveryState,
    failure: r.failure,
    attempts: Number(r.attempts),
    context: r.context ? (JSON.parse(r.context) as ChatContext) : null,
    file: r.file_hash ? { id: r.file_hash, name: r.file_name ?? 'file', mime: r.file_mime ?? 'application/octet-stream', size: Number(r.file_size ?? 0) } : null,
    createdAt: iso(r.created_at)!,
    editedAt: iso(r.edited_at),
    deletedAt: iso(r.deleted_at),
  };
}

/** The chat as events carry it (no per-viewer unread count). */
export function publicChat(c: ChatView): Omit<ChatView, 'unread'> {
  const { unread: _u, ...rest } = c;
  return rest;
}
