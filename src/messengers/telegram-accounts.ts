import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ApiError } from '../api-error';
import { Db } from '../db/database';
import { SecretBox } from '../events/secret-box';
import { MessengerAdapter } from './adapter';
import { TelegramClientError, TelegramUserClient, TelegramUserClientFactory, TgUser } from './telegram-user-client';
import { TelegramUserAdapter, TelegramUserStore } from './telegram-user';

/** Where connected accounts' adapters go: the chat engine's registry (a local map until it is wired). */
export interface AdapterRegistry {
  add(adapter: MessengerAdapter): Promise<void> | void;
  /** `forever`: the account is disconnected for good (its id never comes back): what waits for it fails. */
  remove(accountId: string, forever?: boolean): Promise<void> | void;
}

/** A connected account as the API shows it: never the session. */
export interface TelegramAccountView {
  id: string;
  /** The account id chats carry (`telegram-user:<id>`). */
  accountId: string;
  employee: string;
  phone: string;
  telegramUserId: string;
  username: string | null;
  name: string | null;
  /** connected: the session works; revoked: Telegram ended it (log in again); offline: reconnecting. */
  state: 'connected' | 'offline' | 'revoked';
  connectedAt: string;
}

/** A login in progress (in memory: an MTProto login lives on its connection). */
interface PendingLogin {
  id: string;
  employee: string;
  phone: string;
  client: TelegramUserClient;
  phoneCodeHash: string;
  step: 'code' | 'password';
  hint?: string;
  expiresAt: number;
}

export type LoginStep =
  | { id: string; status: 'code_sent'; employee: string; phone: string; next: 'code'; viaApp: boolean; expiresAt: string }
  | { id: string; status: 'password_needed'; employee: string; phone: string; next: 'password'; hint: string | null; expiresAt: string }
  | { id: string; status: 'connected'; account: TelegramAccountView };

/** A login step failed for a reason the person can fix: 400 naming the field (or 404/409 for the login itself). */
export class TelegramLoginError extends ApiError {}

interface Row {
  id: string;
  employee: string;
  phone: string;
  tg_user_id: string;
  username: string | null;
  name: string | null;
  state: string;
  session: string | null;
  created_at: number | bigint;
  last_message_id: number | bigint | string | null;
}

const LOGIN_TTL_MS = 10 * 60_000;
export const accountIdOf = (id: string) => `telegram-user:${id}`;
/** The AES-GCM additional data of an account's session: a sealed session copied onto another row does not open. */
const owner = (id: string) => `telegram-account:${id}`;

/**
 * Employees' own Telegram accounts (C9): the login steps (phone → code → two-step password), sessions
 * stored sealed with SecretBox (AES-256-GCM, TELEFONIST_SECRETS_KEY or its key file) and never returned or
 * logged, one TelegramUserAdapter per connected account handed to the registry, reconnect at start, and
 * disconnect (log out on Telegram, the session row removed). Emits 'error' (message, details without secrets).
 */
export class TelegramAccounts extends EventEmitter {
  private readonly pending = new Map<string, PendingLogin>();
  private readonly live = new Map<string, { client: TelegramUserClient; adapter: TelegramUserAdapter; state: TelegramAccountView['state'] }>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly opts: {
      apiId?: number;
      apiHash?: string;
      clientFactory: TelegramUserClientFactory;
      secrets: () => SecretBox;
      registry?: AdapterRegistry;
      /** Which private chats the accounts take in (TelegramUserAdapter's intake); default all. */
      intake?: 'all' | 'known';
      /** How a failed save is retried (TelegramUserAdapterOptions.retry); tests shorten it. */
      retry?: { firstMs?: number; maxMs?: number; attempts?: number };
    },
  ) {
    super();
  }

  /** Whether TELEGRAM_API_ID and TELEGRAM_API_HASH are configured. */
  get configured(): boolean {
    return !!this.opts.apiId && !!this.opts.apiHash;
  }

  /** The adapter of a connected account (by row id or `telegram-user:` account id). */
  adapter(id: string): TelegramUserAdapter | undefined {
    return this.live.get(id.replace(/^telegram-user:/, ''))?.adapter;
  }

  adapters(): TelegramUserAdapter[] {
    return [...this.live.values()].map((l) => l.adapter);
  }

  /** Reconnects every stored account (in the background: Telegram being unreachable does not stop the server). */
  async start(): Promise<void> {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
    if (!this.configured) return;
    const rows = await this.db.query<Row>("SELECT * FROM telegram_accounts WHERE state <> 'revoked'");
    // Adapters are registered now; their connections come up in the background (`ready`).
    this.ready = Promise.all(rows.map((r) => this.reconnect(r).catch((e) => this.emit('error', 'Telegram account reconnect failed', { account: r.id, error: describe(e) })))).then(() => undefined);
  }

  /** Resolves when every stored account has tried its first reconnect (tests wait for it). */
  ready: Promise<void> = Promise.resolve();

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const p of this.pending.values()) await p.client.disconnect().catch(() => undefined);
    this.pending.clear();
    for (const [id, l] of this.live) {
      await l.adapter.stop().catch(() => undefined);
      await this.opts.registry?.remove(accountIdOf(id));
      await l.client.disconnect().catch(() => undefined);
    }
    this.live.clear();
  }

  /** Step 1: Telegram sends a login code to the phone's Telegram apps (or SMS). */
  async begin(employee: string, phone: string): Promise<LoginStep> {
    const client = this.newClient('');
    let sent: { phoneCodeHash: string; viaApp: boolean };
    try {
      await client.connect();
      sent = await client.sendCode(phone);
    } catch (e) {
      await client.disconnect().catch(() => undefined);
      throw loginError(e, 'phone');
    }
    const p: PendingLogin = { id: newId(), employee, phone, client, phoneCodeHash: sent.phoneCodeHash, step: 'code', expiresAt: Date.now() + LOGIN_TTL_MS };
    this.pending.set(p.id, p);
    return { id: p.id, status: 'code_sent', employee, phone, next: 'code', viaApp: sent.viaApp, expiresAt: new Date(p.expiresAt).toISOString() };
  }

  /** Who started a login in progress (for the rights check), or undefined when there is none. */
  loginOwner(id: string): string | undefined {
    const p = this.pending.get(id);
    return p && p.expiresAt > Date.now() ? p.employee : undefined;
  }

  /** Step 2: the code; connected, or the two-step password is needed. */
  async code(id: string, code: string): Promise<LoginStep> {
    const p = this.step(id, 'code');
    let r: Awaited<ReturnType<TelegramUserClient['signIn']>>;
    try {
      r = await p.client.signIn(p.phone, code, p.phoneCodeHash);
    } catch (e) {
      throw loginError(e, 'code');
    }
    if (r.passwordNeeded) {
      p.step = 'password';
      p.hint = r.hint;
      return { id, status: 'password_needed', employee: p.employee, phone: p.phone, next: 'password', hint: r.hint ?? null, expiresAt: new Date(p.expiresAt).toISOString() };
    }
    return { id, status: 'connected', account: await this.finish(p, r.user) };
  }

  /** Step 3 (two-step verification on): the cloud password. */
  async password(id: string, password: string): Promise<LoginStep> {
    const p = this.step(id, 'password');
    let user: TgUser;
    try {
      user = await p.client.checkPassword(password);
    } catch (e) {
      throw loginError(e, 'password');
    }
    return { id, status: 'connected', account: await this.finish(p, user) };
  }

  async list(employee?: string): Promise<TelegramAccountView[]> {
    const rows = employee === undefined
      ? await this.db.query<Row>('SELECT * FROM telegram_accounts ORDER BY created_at, id')
      : await this.db.query<Row>('SELECT * FROM telegram_accounts WHERE employee = ? ORDER BY created_at, id', [employee]);
    return rows.map((r) => this.view(r));
  }

  async get(id: string): Promise<TelegramAccountView | undefined> {
    const [r] = await this.db.query<Row>('SELECT * FROM telegram_accounts WHERE id = ?', [id]);
    return r ? this.view(r) : undefined;
  }

  /** Disconnect: logs the session out on Telegram (best effort), removes the adapter and the row. A login in progress is abandoned. */
  async remove(id: string): Promise<boolean> {
    const p = this.pending.get(id);
    if (p) {
      this.pending.delete(id);
      await p.client.disconnect().catch(() => undefined);
      return true;
    }
    const [r] = await this.db.query<Row>('SELECT * FROM telegram_accounts WHERE id = ?', [id]);
    if (!r) return false;
    const l = this.live.get(id);
    this.live.delete(id);
    if (l) {
      await l.adapter.stop().catch(() => undefined);
      await this.opts.registry?.remove(accountIdOf(id), true);
      await l.client.logOut().catch((e) => this.emit('error', 'Telegram log-out failed (the session is removed here anyway)', { account: id, error: describe(e) }));
    }
    await this.db.exec('DELETE FROM telegram_accounts WHERE id = ?', [id]);
    return true;
  }

  private step(id: string, step: PendingLogin['step']): PendingLogin {
    const p = this.pending.get(id);
    if (!p || p.expiresAt <= Date.now()) {
      if (p) this.drop(p);
      throw new TelegramLoginError(404, 'not_found', `no Telegram login ${id} in progress (it expires after 10 minutes): start again with the phone`, 'id');
    }
    if (p.step !== step) {
      throw new TelegramLoginError(409, 'wrong_step', p.step === 'code' ? 'this login waits for the code first' : 'the code was accepted; this login waits for the two-step verification password', step);
    }
    return p;
  }

  private async finish(p: PendingLogin, user: TgUser): Promise<TelegramAccountView> {
    this.pending.delete(p.id);
    const now = Date.now();
    const [existing] = await this.db.query<Row>('SELECT * FROM telegram_accounts WHERE tg_user_id = ?', [user.id]);
    // The same Telegram account connected again keeps its id, so its chats stay where they are.
    const id = existing?.id ?? p.id;
    const sealed = this.opts.secrets().seal(p.client.getSessionString(), owner(id));
    const name = [user.firstName, user.lastName].filter(Boolean).join(' ') || null;
    if (existing) {
      const old = this.live.get(id);
      this.live.delete(id);
      if (old) {
        await old.adapter.stop().catch(() => undefined);
        await this.opts.registry?.remove(accountIdOf(id));
        await old.client.logOut().catch(() => undefined);
      }
      await this.db.exec('UPDATE telegram_accounts SET employee = ?, phone = ?, username = ?, name = ?, state = ?, session = ?, updated_at = ? WHERE id = ?', [
        p.employee, user.phone ?? p.phone, user.username ?? null, name, 'connected', sealed, BigInt(now), id,
      ]);
    } else {
      await this.db.exec(
        'INSERT INTO telegram_accounts (id, employee, phone, tg_user_id, username, name, state, session, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [id, p.employee, user.phone ?? p.phone, user.id, user.username ?? null, name, 'connected', sealed, BigInt(now), BigInt(now)],
      );
    }
    const adapter = await this.attach(id, p.employee, p.client, user.id, 'connected', cursorOf(existing));
    // A new account starts its cursor at its newest message; one connected again catches up from its own.
    await adapter.catchUp().catch((e) => this.emit('error', 'Telegram account catch-up failed (the next reconnect tries again)', { account: id, error: describe(e) }));
    const [row] = await this.db.query<Row>('SELECT * FROM telegram_accounts WHERE id = ?', [id]);
    return this.view(row);
  }

  private async reconnect(r: Row): Promise<void> {
    const session = r.session ? this.opts.secrets().open(r.session, owner(r.id)) : null;
    if (!session) {
      this.emit('error', 'a Telegram session cannot be opened with this secrets key: the employee must connect the account again', { account: r.id });
      await this.markRevoked(r.id);
      return;
    }
    const client = this.newClient(session);
    const adapter = await this.attach(r.id, r.employee, client, r.tg_user_id, 'offline', cursorOf(r));
    try {
      await client.connect();
      await client.getMe();
      const l = this.live.get(r.id);
      if (l && l.adapter === adapter) l.state = 'connected';
    } catch (e) {
      await this.connectFailed(r, client, adapter, e);
      return;
    }
    // What came while the server was down (or the account offline).
    await adapter.catchUp().catch((e) => this.emit('error', 'Telegram account catch-up failed (the next reconnect tries again)', { account: r.id, error: describe(e) }));
  }

  private async connectFailed(r: Row, client: TelegramUserClient, adapter: TelegramUserAdapter, e: unknown): Promise<void> {
    const err = e instanceof TelegramClientError ? e : undefined;
    if (err && ['AUTH_KEY_UNREGISTERED', 'SESSION_REVOKED', 'USER_DEACTIVATED', 'USER_DEACTIVATED_BAN', 'SESSION_EXPIRED'].includes(err.code)) {
      this.emit('error', 'a Telegram session was ended on Telegram\'s side: the employee must connect the account again', { account: r.id, code: err.code });
      this.live.delete(r.id);
      await adapter.stop();
      await this.opts.registry?.remove(accountIdOf(r.id));
      await client.disconnect().catch(() => undefined);
      await this.markRevoked(r.id);
      return;
    }
    // Network: the client keeps reconnecting; the account stays offline until then.
    this.emit('error', 'Telegram account not reachable yet, retrying', { account: r.id, error: describe(e) });
  }

  private async attach(id: string, employee: string, client: TelegramUserClient, selfId: string, state: TelegramAccountView['state'], cursor: number | null): Promise<TelegramUserAdapter> {
    const adapter = new TelegramUserAdapter({
      accountId: accountIdOf(id),
      employee,
      client,
      selfId,
      intake: this.opts.intake,
      cursor,
      store: this.store(id),
      retry: this.opts.retry,
      onError: (e) => this.emit('error', 'Telegram user-account inbound event not stored yet (retried)', { account: id, error: describe(e) }),
    });
    this.live.set(id, { client, adapter, state });
    await this.opts.registry?.add(adapter);
    return adapter;
  }

  /** The adapter's storage: the catch-up cursor on the account's row; stored messages by id for deletions and read receipts. */
  private store(id: string): TelegramUserStore {
    const accountId = accountIdOf(id);
    return {
      saveCursor: async (cursor) => {
        await this.db.exec('UPDATE telegram_accounts SET last_message_id = ? WHERE id = ? AND (last_message_id IS NULL OR last_message_id < ?)', [cursor, id, cursor]);
      },
      peersOf: async (externalIds) => {
        if (!externalIds.length) return [];
        const rows = await this.db.query<{ external_id: string; peer_id: string }>(
          `SELECT external_id, peer_id FROM chat_messages WHERE account_id = ? AND external_id IN (${externalIds.map(() => '?').join(',')})`,
          [accountId, ...externalIds],
        );
        return rows.map((r) => ({ externalId: r.external_id, peerId: r.peer_id }));
      },
      unreadOutgoing: async (peerId, maxId) => {
        const rows = await this.db.query<{ external_id: string | null }>(
          "SELECT external_id FROM chat_messages WHERE account_id = ? AND peer_id = ? AND direction = 'out' AND state IN ('sent', 'delivered') AND external_id IS NOT NULL",
          [accountId, peerId],
        );
        return rows.map((r) => r.external_id!).filter((x) => /^[0-9]+$/.test(x) && Number(x) <= maxId);
      },
    };
  }

  private async markRevoked(id: string): Promise<void> {
    await this.db.exec("UPDATE telegram_accounts SET state = 'revoked', session = NULL, updated_at = ? WHERE id = ?", [BigInt(Date.now()), id]);
  }

  private view(r: Row): TelegramAccountView {
    const l = this.live.get(r.id);
    const state: TelegramAccountView['state'] = r.state === 'revoked' ? 'revoked' : (l?.state ?? 'offline');
    return {
      id: r.id,
      accountId: accountIdOf(r.id),
      employee: r.employee,
      phone: r.phone,
      telegramUserId: r.tg_user_id,
      username: r.username,
      name: r.name,
      state,
      connectedAt: new Date(Number(r.created_at)).toISOString(),
    };
  }

  private newClient(session: string): TelegramUserClient {
    if (!this.configured) throw new TelegramLoginError(503, 'telegram_not_configured', NOT_CONFIGURED);
    return this.opts.clientFactory({ apiId: this.opts.apiId!, apiHash: this.opts.apiHash!, session });
  }

  private drop(p: PendingLogin): void {
    this.pending.delete(p.id);
    p.client.disconnect().catch(() => undefined);
  }

  private sweep(): void {
    const now = Date.now();
    for (const p of this.pending.values()) if (p.expiresAt <= now) this.drop(p);
  }
}

export const NOT_CONFIGURED =
  'Подключение аккаунтов Telegram не настроено: задайте TELEGRAM_API_ID и TELEGRAM_API_HASH (https://my.telegram.org → API development tools) и перезапустите сервер.';

function cursorOf(r: Row | undefined): number | null {
  return r?.last_message_id === null || r?.last_message_id === undefined ? null : Number(r.last_message_id);
}

function newId(): string {
  return randomBytes(9).toString('base64url');
}

function describe(e: unknown): string {
  return e instanceof TelegramClientError ? e.code : ((e as Error)?.message ?? String(e)).slice(0, 200);
}

/** Telegram's login errors as answers naming the field the person must fix. */
function loginError(e: unknown, field: 'phone' | 'code' | 'password'): Error {
  if (e instanceof TelegramLoginError) return e;
  if (!(e instanceof TelegramClientError)) return e as Error;
  switch (e.code) {
    case 'PHONE_NUMBER_INVALID':
      return new TelegramLoginError(400, 'invalid_phone', 'Telegram does not accept this phone number', 'phone');
    case 'PHONE_NUMBER_BANNED':
      return new TelegramLoginError(400, 'invalid_phone', 'this phone number is banned in Telegram', 'phone');
    case 'PHONE_NUMBER_UNOCCUPIED':
      return new TelegramLoginError(400, 'invalid_phone', 'this phone number has no Telegram account (create it in the Telegram app first)', 'phone');
    case 'PHONE_CODE_INVALID':
    case 'PHONE_CODE_EMPTY':
      return new TelegramLoginError(400, 'invalid_code', 'the code is wrong: enter the code Telegram sent', 'code');
    case 'PHONE_CODE_EXPIRED':
      return new TelegramLoginError(400, 'invalid_code', 'the code expired: start the login again', 'code');
    case 'PASSWORD_HASH_INVALID':
      return new TelegramLoginError(400, 'invalid_password', 'the two-step verification password is wrong', 'password');
    case 'FLOOD_WAIT':
      return new TelegramLoginError(429, 'too_many_requests', `Telegram asks to wait ${e.seconds ?? 60} s before trying again`, field);
    default:
      return new TelegramLoginError(502, 'telegram_error', `Telegram answered ${e.code}`, field);
  }
}
