/**
 * Inbound: what adapters push through the engine's sink. Messages are deduplicated by external id and
 * serialised per peer (no twin chats); a closed chat reopens by `rules.reopen`, an owner away or gone is
 * handled by `rules.ownerAway`; edits, deletions and delivery updates (which only move forward) follow.
 * Chats on an employee's own account (`adapter.owner`) are his from the start and stay his: never in the
 * queue, reopened to him, kept with him when he is away or gone (supervisors still see them).
 */
import { randomUUID } from 'node:crypto';
import type { EventType } from '../events/event-log';
import type { InboundEvent, MessengerAdapter } from '../messengers/adapter';
import type { ChatEngine } from './engine';
import { safeFileName } from './files';
import { ChatRow, MessageRow, messageView } from './types';
import { publish } from './events';
import { addObserverRow, claimOnReply } from './ownership';
import { row } from './views';

/** How far an outbound message got: a delivery update never moves it back. */
const DELIVERY_RANK: Record<string, number> = { queued: 0, sent: 1, failed: 2, delivered: 3, read: 4 };
const DUPLICATE = new Error('duplicate inbound message');
/** A personal account with intake `known`: a new peer the directory does not know is not stored. */
const NOT_TAKEN = new Error('not taken in: a personal account\'s private chat with a peer unknown to the directory');

type InboundMessage = Extract<InboundEvent, { kind: 'message' }>;

/**
 * The engine's inbound handler: resolves once the event is stored (or recognised as a duplicate).
 * `isOnline` is presence (whether the responsible is online).
 */
export function createInbound(e: ChatEngine, isOnline: (extension: string) => boolean): (ev: InboundEvent) => Promise<void> {
  /** One inbound message at a time per peer (Telegram posts up to 40 webhooks at once): no twin chats. */
  const peerLocks = new Map<string, Promise<void>>();

  const inboundMessage = (adapter: MessengerAdapter, ev: InboundMessage): Promise<void> => {
    const key = `${ev.accountId}\u0000${ev.peer.peerId}`;
    const prev = peerLocks.get(key) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => inboundMessageLocked(e, isOnline, adapter, ev));
    const tail = run.catch(() => undefined);
    peerLocks.set(key, tail);
    void tail.then(() => {
      if (peerLocks.get(key) === tail) peerLocks.delete(key);
    });
    return run;
  };

  return async (ev: InboundEvent): Promise<void> => {
    const adapter = e.adapters.get(ev.accountId);
    if (!adapter) throw new Error(`inbound event for unknown account ${ev.accountId}`);
    if (ev.kind === 'message') return inboundMessage(adapter, ev);
    return inboundChange(e, ev);
  };
}

/** An edit, a deletion or a delivery update of a stored message (unknown messages are ignored). */
async function inboundChange(e: ChatEngine, ev: Exclude<InboundEvent, InboundMessage>): Promise<void> {
  const peerId = ev.peerId;
  // Delivery states are about our messages; edits and deletions about the customer's, or (a personal
  // account) about what the employee sent, edited or deleted on his own phone: the customer's first.
  const rows = ev.kind === 'delivery'
    ? await e.db.query<MessageRow>(`SELECT * FROM chat_messages WHERE account_id = ? AND peer_id = ? AND direction = 'out' AND external_id = ?`,
      [ev.accountId, peerId, ev.externalId])
    : await e.db.query<MessageRow>(`SELECT * FROM chat_messages WHERE account_id = ? AND peer_id = ? AND direction IN ('in', 'out') AND external_id = ?
        ORDER BY (CASE WHEN direction = 'in' THEN 0 ELSE 1 END) LIMIT 1`, [ev.accountId, peerId, ev.externalId]);
  if (!rows.length) return;
  const m = rows[0];
  const at = (ev.at ?? new Date()).getTime();
  if (ev.kind === 'edit') {
    await e.db.exec('UPDATE chat_messages SET text = ?, edited_at = ? WHERE id = ?', [ev.text, at, Number(m.id)]);
  } else if (ev.kind === 'delete') {
    await e.db.exec('UPDATE chat_messages SET deleted_at = ? WHERE id = ?', [at, Number(m.id)]);
  } else {
    // Delivery states only move forward (sent → failed / delivered → read): statuses arriving out of
    // order (WhatsApp posts them separately) or twice change nothing.
    if ((DELIVERY_RANK[ev.state] ?? 0) <= (DELIVERY_RANK[m.state] ?? 0)) return;
    await e.db.exec('UPDATE chat_messages SET state = ?, failure = ? WHERE id = ?', [ev.state, ev.reason ?? null, Number(m.id)]);
  }
  const chat = (await row(e, m.chat_id))!;
  const msg = messageView((await e.db.query<MessageRow>('SELECT * FROM chat_messages WHERE id = ?', [Number(m.id)]))[0]);
  if (ev.kind === 'delivery') await publish(e, 'chat.delivery', `chat.delivery:${msg.id}:${ev.state}`, chat, { message: msg });
  else await publish(e, 'chat.message_updated', `chat.${ev.kind}:${msg.id}:${at}`, chat, { change: ev.kind, message: msg });
}

/** One inbound message, its peer locked: dedupe, files, the chat found or made, its rules, then events. */
async function inboundMessageLocked(e: ChatEngine, isOnline: (extension: string) => boolean, adapter: MessengerAdapter, ev: InboundMessage): Promise<void> {
  const peerId = ev.peer.peerId;
  const dup = await e.db.query<{ id: number }>(`SELECT id FROM chat_messages WHERE account_id = ? AND peer_id = ? AND direction IN ('in','out') AND external_id = ?`,
    [ev.accountId, peerId, ev.externalId]);
  if (dup.length) {
    e.stats.duplicates++;
    return;
  }
  // Files first (outside the transaction): a download failure leaves nothing stored, so a retry of the
  // webhook stores the message whole.
  const files: Array<{ id: string; name: string; mime: string; size: number }> = [];
  for (const ref of ev.files ?? []) {
    const f = await adapter.download(ref);
    const stored = await e.files.put(f.bytes, f.fileName).catch(async () => e.files.put(Buffer.from(`(refused file ${f.fileName})`), 'refused.txt'));
    files.push({ id: stored.id, name: safeFileName(f.fileName, stored.mime), mime: stored.mime, size: stored.size });
  }
  const ident = ev.peer.phone ? await e.directory.identify(ev.peer.phone).catch(() => null) : null;
  const at = (ev.at ?? new Date()).getTime();
  const now = Date.now();
  const fromEmployee = ev.direction === 'employee' && ev.employee && e.employees.get(ev.employee) ? ev.employee : null;
  const out: Array<[EventType, string, Record<string, unknown>]> = [];
  // An employee's own account: the chats on it are his (MessengerAdapter.owner).
  const owner = adapter.owner ?? null;
  const result = await e.db.transaction(async (tx): Promise<{ chatId: string; ids: number[] } | null> => {
    let rows = await e.db.query<ChatRow>(`SELECT * FROM chats WHERE account_id = ? AND peer_id = ? ORDER BY (CASE WHEN status = 'closed' THEN 1 ELSE 0 END), last_message_at DESC LIMIT 1`,
      [ev.accountId, peerId], tx);
    let chatId: string;
    if (!rows.length) {
      // A personal account that takes in only known customers: a stranger (his friend) is not stored at all.
      if (owner && adapter.intake === 'known' && !ident?.customer) throw NOT_TAKEN;
      chatId = randomUUID();
      await e.db.exec(`INSERT INTO chats (id, messenger, account_id, peer_id, peer_name, peer_username, phone, customer_id, contact_id, status, responsible, reference, created_at, updated_at, last_message_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [chatId, adapter.kind, ev.accountId, peerId, ev.peer.displayName ?? null, ev.peer.username ?? null, ev.peer.phone ?? null,
        ident?.customer?.id ?? null, ident?.contact?.id ?? null, owner ? 'in_work' : 'queue', owner, ev.reference ?? null, now, now, at], tx);
      out.push(['chat.created', `chat.created:${chatId}`, owner ? { personalAccount: true, responsible: owner } : {}]);
    } else {
      const c = rows[0];
      chatId = c.id;
      await e.db.exec(`UPDATE chats SET peer_name = COALESCE(?, peer_name), peer_username = COALESCE(?, peer_username), phone = COALESCE(phone, ?),
          customer_id = COALESCE(customer_id, ?), contact_id = COALESCE(contact_id, ?), reference = COALESCE(?, reference), updated_at = ?, last_message_at = ? WHERE id = ?`,
      [ev.peer.displayName ?? null, ev.peer.username ?? null, ev.peer.phone ?? null, ident?.customer?.id ?? null, ident?.contact?.id ?? null, ev.reference ?? null, now, Math.max(at, Number(c.last_message_at)), chatId], tx);
      if (owner && (!c.responsible || (!e.employees.get(c.responsible) && e.employees.get(owner)))) {
        // A personal account's chat with nobody (stored in the queue before chats there were personal), or
        // handed to a colleague who has left since: back to the account's owner.
        await e.db.exec(`UPDATE chats SET status = 'in_work', responsible = ?, closed_at = NULL WHERE id = ?`, [owner, chatId], tx);
        out.push(['chat.assigned', `chat.personal:${chatId}:${ev.externalId}`, { reason: 'personal_account', responsible: owner, previous: c.responsible }]);
      } else if (owner) {
        // Personal: reopened to its owner (whatever TELEFONIST_CHAT_REOPEN says), kept with him when away.
        if (c.status === 'closed' && !fromEmployee) {
          await e.db.exec(`UPDATE chats SET status = 'in_work', closed_at = NULL WHERE id = ?`, [chatId], tx);
          out.push(['chat.assigned', `chat.reopened:${chatId}:${ev.externalId}`, { reason: 'reopened', responsible: c.responsible, previous: c.responsible }]);
        } else if (!fromEmployee && c.responsible && e.employees.get(c.responsible) && !isOnline(c.responsible)) {
          out.push(['chat.message', '', { ownerAway: true }]);
        }
      } else if (!fromEmployee) {
        if (c.status === 'closed') {
          const owner = c.responsible && e.employees.get(c.responsible) ? c.responsible : null;
          const toOwner = e.rules.reopen === 'owner' && owner;
          await e.db.exec(`UPDATE chats SET status = ?, responsible = ?, closed_at = NULL WHERE id = ?`, [toOwner ? 'in_work' : 'queue', toOwner ? owner : null, chatId], tx);
          out.push(['chat.assigned', `chat.reopened:${chatId}:${ev.externalId}`, { reason: 'reopened', responsible: toOwner ? owner : null, previous: c.responsible }]);
        } else if (c.status === 'in_work' && c.responsible) {
          const gone = !e.employees.get(c.responsible);
          const away = !gone && !isOnline(c.responsible);
          if (gone || (away && e.rules.ownerAway === 'queue')) {
            await e.db.exec(`UPDATE chats SET status = 'queue', responsible = NULL WHERE id = ?`, [chatId], tx);
            if (!gone) await addObserverRow(e, tx, chatId, c.responsible, null);
            out.push(['chat.assigned', `chat.owner_away:${chatId}:${ev.externalId}`, { reason: gone ? 'owner_left' : 'owner_offline', responsible: null, previous: c.responsible }]);
          } else if (away) {
            out.push(['chat.message', '', { ownerAway: true }]);
          }
        }
      }
    }
    const ins = await e.db.query<{ id: number }>(`INSERT INTO chat_messages (chat_id, account_id, peer_id, direction, author, text, external_id, state, created_at, file_hash, file_name, file_mime, file_size, context)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, peer_id, direction, external_id) DO NOTHING RETURNING id`,
    [chatId, ev.accountId, peerId, fromEmployee ? 'out' : 'in', fromEmployee, ev.text ?? null, ev.externalId, fromEmployee ? 'sent' : 'received', at,
      files[0]?.id ?? null, files[0]?.name ?? null, files[0]?.mime ?? null, files[0]?.size ?? null, ev.reference ? JSON.stringify({ reference: ev.reference }) : null], tx);
    // A twin stored meanwhile (another process): undo this transaction's chat changes too.
    if (!ins.length) throw DUPLICATE;
    const ids = [Number(ins[0].id)];
    for (let i = 1; i < files.length; i++) {
      const more = await e.db.query<{ id: number }>(`INSERT INTO chat_messages (chat_id, account_id, peer_id, direction, author, external_id, state, created_at, file_hash, file_name, file_mime, file_size)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [chatId, ev.accountId, peerId, fromEmployee ? 'out' : 'in', fromEmployee, `${ev.externalId}#${i}`, fromEmployee ? 'sent' : 'received', at, files[i].id, files[i].name, files[i].mime, files[i].size], tx);
      ids.push(Number(more[0].id));
    }
    return { chatId, ids };
  }).catch((err) => {
    if (err === NOT_TAKEN) {
      e.stats.notTaken++;
      return undefined;
    }
    if (err === DUPLICATE) return null;
    throw err;
  });
  if (result === undefined) return;
  if (!result) {
    e.stats.duplicates++;
    return;
  }
  e.stats.inbound++;
  if (fromEmployee) {
    // Written from the employee's own app: the same rules as a reply through the API.
    await claimOnReply(e, result.chatId, e.actor(fromEmployee), ev.text ?? '');
  }
  const chat = (await row(e, result.chatId))!;
  let ownerAway = false;
  for (const [type, key, data] of out) {
    if (type === 'chat.message') ownerAway = true;
    else await publish(e, type, key, chat, data);
  }
  const msgs = await e.db.query<MessageRow>(`SELECT * FROM chat_messages WHERE id IN (${result.ids.map(() => '?').join(',')}) ORDER BY id`, result.ids);
  for (const m of msgs) await publish(e, 'chat.message', `chat.message:${m.id}`, chat, { message: messageView(m), ...(ownerAway ? { ownerAway: true } : {}) });
}
