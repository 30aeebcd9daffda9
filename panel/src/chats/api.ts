/**
 * The chats screen's requests (issue 13): the chat REST API under /api/v1 with the session cookie. The
 * server decides who sees and writes what; a 403 arrives here as an ApiError and is shown as such.
 */
import { API_BASE, ApiError, CSRF_HEADER, request } from '../api/client';

export type ChatView = 'my' | 'observed' | 'queue';
export const CHAT_VIEWS: ChatView[] = ['my', 'observed', 'queue'];

export interface Chat {
  id: string;
  messenger: string;
  accountId: string;
  peerId: string;
  peerName: string | null;
  peerUsername: string | null;
  phone: string | null;
  customerId: string | null;
  contactId: string | null;
  status: 'queue' | 'in_work' | 'closed';
  responsible: string | null;
  observers: string[];
  reference: string | null;
  createdAt: string;
  updatedAt: string;
  lastMessageAt: string;
  closedAt: string | null;
  unread: number;
  /** WhatsApp Cloud's 24-hour customer service window (absent for messengers without one). */
  window?: { open: boolean; closesAt: string | null };
}

export interface ChatFile {
  id: string;
  name: string;
  mime: string;
  size: number;
}

export interface ChatMessage {
  id: number;
  chatId: string;
  direction: 'in' | 'out' | 'note';
  author: string | null;
  text: string | null;
  externalId: string | null;
  state: 'received' | 'queued' | 'sent' | 'delivered' | 'read' | 'failed' | 'note';
  failure: string | null;
  attempts: number;
  file: ChatFile | null;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
}

export interface ChatTemplate {
  name: string;
  text: string;
  placeholders: string[];
  updatedAt: string;
}

export interface Messenger {
  accountId: string;
  kind: string;
  username: string | null;
}

export type Counts = Record<ChatView, { chats: number; unread: number }>;

export interface SendInput {
  text?: string;
  template?: string;
  vars?: Record<string, string>;
  file?: { id: string; name?: string };
  internal?: boolean;
}

export interface StartResult {
  chat: Chat;
  message: ChatMessage | null;
  continued: boolean;
  reachability: { reachable: 'yes' | 'no' | 'unknown'; reason?: string };
}

const enc = encodeURIComponent;

export interface Reach {
  accountId: string;
  kind: string;
  reachable: 'yes' | 'no' | 'unknown';
  canWriteFirst: boolean;
  reason: string | null;
  activeChatId: string | null;
}

export const chatsApi = {
  list: (view: ChatView) => request<{ items: Chat[]; total: number }>('GET', '/chats', { query: { view, status: 'queue,in_work', limit: 200 } }),
  counts: () => request<Counts>('GET', '/chats/counts'),
  get: (id: string) => request<Chat>('GET', `/chats/${enc(id)}`),
  messages: (id: string) => request<{ items: ChatMessage[] }>('GET', `/chats/${enc(id)}/messages`, { query: { limit: 500 } }),
  send: (id: string, body: SendInput) => request<ChatMessage>('POST', `/chats/${enc(id)}/messages`, { body }),
  read: (id: string) => request<unknown>('POST', `/chats/${enc(id)}/read`, { body: {} }),
  close: (id: string) => request<Chat>('POST', `/chats/${enc(id)}/close`, { body: {} }),
  handover: (id: string, to: string, keepAsObserver: boolean) => request<Chat>('POST', `/chats/${enc(id)}/handover`, { body: { to, keepAsObserver } }),
  addObserver: (id: string, observer: string) => request<Chat>('POST', `/chats/${enc(id)}/observers`, { body: { observer } }),
  start: (body: { accountId: string; phone: string; text?: string; template?: string }) => request<StartResult>('POST', '/chats/start', { body }),
  /** Whether each account can write to a phone — checks only, writes nothing (GET /chats/reachability). */
  reachability: (phone: string, accountIds: string[]) =>
    request<{ phone: string; items: Reach[] }>('GET', '/chats/reachability', { query: { phone, accountId: accountIds.join(',') } }),
  templates: () => request<{ items: ChatTemplate[]; placeholders: string[] }>('GET', '/chat-templates'),
  messengers: () => request<{ items: Messenger[] }>('GET', '/messengers'),
  fileUrl: (chatId: string, messageId: number) => `${API_BASE}/chats/${enc(chatId)}/messages/${messageId}/file`,
  /** The raw bytes to POST /chat-files (the server decides the type from the content). */
  async upload(file: File): Promise<{ id: string; size: number; mime: string; name: string | null }> {
    const res = await fetch(`${API_BASE}/chat-files?name=${enc(file.name)}`, {
      method: 'POST',
      headers: { [CSRF_HEADER]: '1', 'Content-Type': 'application/octet-stream', Accept: 'application/json' },
      credentials: 'same-origin',
      body: file,
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, body?.error?.code ?? `http_${res.status}`, body?.error?.message ?? res.statusText, body?.error?.field);
    return body;
  },
};
