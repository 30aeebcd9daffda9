import express, { Request, Router } from 'express';
import { z } from 'zod';
import type { CountryCode } from 'libphonenumber-js';
import { TokenService } from '../auth/tokens';
import { AuthThrottle } from '../auth/throttle';
import { employeeScope, ForbiddenError } from '../auth/scope';
import { Actor, ChatEngine, ChatStatus, Viewer } from '../chats/engine';
import { FileRejected } from '../chats/files';
import { mayUseAccount } from '../chats/visibility';
import { PLACEHOLDERS } from '../chats/templates';
import { normalizePhone } from '../directory/phone';
import { EMPLOYEE_EXTENSION_RE } from '../employees/employee-input';
import { TelegramBotAdapter } from '../messengers/telegram-bot';
import { requireRole, throttleRefusal } from './auth';
import { ApiError, jsonBody, route } from './errors';
import { bad, dateParam, intParam, list, rejectUnknown, single } from './query';

const ALL = ['admin', 'supervisor', 'operator', 'integration'] as const;
const MANAGE = ['admin', 'supervisor', 'integration'] as const;
const STATUSES: readonly ChatStatus[] = ['queue', 'in_work', 'closed'];
const VIEWS = ['my', 'observed', 'queue', 'all'] as const;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ext = z.string().regex(EMPLOYEE_EXTENSION_RE, 'must be an extension: 2 to 6 digits');
const ref = z.string().min(1).max(200);
const context = z.object({ order: ref.optional(), partner: ref.optional(), invoice: ref.optional() }).strict();
const vars = z.object(Object.fromEntries(PLACEHOLDERS.map((p) => [p, z.string().max(500).optional()]))).strict();
const fileRef = z.object({ id: z.string().regex(/^[0-9a-f]{64}$/, 'must be the id POST /chat-files returned'), name: z.string().min(1).max(200).optional() }).strict();
const messageFields = {
  employee: ext.optional(),
  text: z.string().min(1).max(4096).optional(),
  template: z.string().min(1).max(100).optional(),
  vars: vars.optional(),
  file: fileRef.optional(),
  context: context.optional(),
};
const sendBody = z.object({ ...messageFields, internal: z.boolean().optional() }).strict();
const startBody = z.object({
  ...messageFields,
  accountId: z.string().min(1).max(64),
  phone: z.string().min(1).max(200),
  customerId: ref.optional(),
  contactId: ref.optional(),
}).strict();
const observerBody = z.object({ employee: ext.optional(), observer: ext }).strict();
const handoverBody = z.object({ employee: ext.optional(), to: ext, keepAsObserver: z.boolean().default(false) }).strict();
const actorBody = z.object({ employee: ext.optional() }).strict();
const bindBody = z.object({ employee: ext.optional(), customerId: ref, contactId: ref.optional() }).strict();
const templateBody = z.object({ text: z.string().min(1).max(4096) }).strict();

/** The chat list's query parameters (documented from the same list). */
export const CHAT_LIST_PARAMS = [
  { name: 'view', description: 'my (responsible), observed, queue, or all the viewer may see (default).', schema: { type: 'string', enum: VIEWS } },
  { name: 'employee', description: 'Act as this employee (integration and admin; operators are themselves). Views my/observed need one.', schema: { type: 'string' } },
  { name: 'status', description: 'Comma-separated: queue, in_work, closed.', schema: { type: 'string' } },
  { name: 'messenger', description: 'telegram, telegram_user, …', schema: { type: 'string' } },
  { name: 'accountId', description: 'Our messenger account.', schema: { type: 'string' } },
  { name: 'participant', description: 'Chats where this employee is responsible or an observer.', schema: { type: 'string' } },
  { name: 'customerId', description: 'The customer (1C reference).', schema: { type: 'string' } },
  { name: 'from', description: 'Last message at or after (ISO 8601).', schema: { type: 'string', format: 'date-time' } },
  { name: 'to', description: 'Started before (ISO 8601).', schema: { type: 'string', format: 'date-time' } },
  { name: 'q', description: 'Text in the messages, the peer\'s name, username or phone.', schema: { type: 'string' } },
  { name: 'limit', description: '1 to 500 (default 50).', schema: { type: 'integer' } },
  { name: 'offset', description: 'Skip this many (default 0).', schema: { type: 'integer' } },
];
const LIST_KNOWN = new Set(CHAT_LIST_PARAMS.map((p) => p.name));

export function chatId(v: string): string {
  if (!UUID_RE.test(v)) throw bad('id', 'id must be a chat id (UUID)');
  return v;
}

/**
 * Who a request acts as: a token or panel session bound to an employee acts as that employee (naming
 * another is 403, src/auth/scope.ts); admin and integration (1C) act for the employee named in `employee`.
 */
export function actorOf(req: Request, engine: ChatEngine, named: string | undefined): Actor {
  const p = req.principal!;
  if (p.employee) {
    if (named !== undefined && named !== p.employee) throw new ForbiddenError(`this token acts only as employee ${p.employee}`, 'employee');
    return engine.actor(p.employee, p.role === 'supervisor');
  }
  const e = employeeScope(p, named);
  if (!e) throw new ApiError(400, 'invalid_body', `${p.role} acts for an employee: name them in "employee"`, 'employee');
  return engine.actor(e);
}

/** Who reads: an employee (the chat rule applies) or, for admin / integration / supervisor tokens without one, everything. */
export function viewerOf(req: Request, engine: ChatEngine, named: string | undefined): Viewer {
  const p = req.principal!;
  if (p.employee || p.role === 'operator' || named !== undefined) return actorOf(req, engine, named);
  return { all: true };
}

export function mapErrors(e: unknown): never {
  if (e instanceof FileRejected) throw new ApiError(e.status, e.status === 413 ? 'file_too_large' : 'unsupported_file_type', e.message, 'body');
  throw e;
}

/** Routes wrap engine calls: the rules and their 403/404/422 live in the engine. */
export const chatRoute = (fn: Parameters<typeof route>[0]) => route((req, res, next) => fn(req, res, next).catch(mapErrors));

export function phoneOf(v: string, region: CountryCode): string {
  try {
    return normalizePhone(v, region).e164;
  } catch (e) {
    throw new ApiError(400, 'invalid_phone', `phone ${(e as Error).message}`, 'phone');
  }
}

/**
 * Chats for 1C and the panel (issue 13). Every rule lives in the chat engine (src/chats/engine.ts); these
 * routes parse, name the acting employee and map the engine's refusals to HTTP.
 */
export function chatsRouter(tokens: TokenService, engine: ChatEngine, region: CountryCode, maxFileBytes: number): Router {
  const r = Router();
  const all = requireRole(tokens, ALL);
  const manage = requireRole(tokens, MANAGE);

  r.get('/chats', all, chatRoute(async (req, res) => {
    const q = req.query as Record<string, unknown>;
    rejectUnknown(q, LIST_KNOWN);
    const employee = single(q, 'employee');
    if (employee !== undefined && !EMPLOYEE_EXTENSION_RE.test(employee)) throw bad('employee', 'employee must be an extension');
    const view = single(q, 'view');
    if (view !== undefined && !(VIEWS as readonly string[]).includes(view)) throw bad('view', `view must be one of ${VIEWS.join(', ')}`);
    const v = viewerOf(req, engine, employee);
    const out = await engine.list(v, {
      view: view as (typeof VIEWS)[number] | undefined,
      status: list(q, 'status', STATUSES),
      messenger: single(q, 'messenger'),
      accountId: single(q, 'accountId'),
      employee: single(q, 'participant'),
      customerId: single(q, 'customerId'),
      from: dateParam(q, 'from'),
      to: dateParam(q, 'to'),
      q: single(q, 'q'),
      limit: intParam(q, 'limit', 1, 500, 50),
      offset: intParam(q, 'offset', 0, 1_000_000, 0),
    });
    res.json(out);
  }));

  r.get('/chats/counts', all, chatRoute(async (req, res) => {
    const q = req.query as Record<string, unknown>;
    rejectUnknown(q, new Set(['employee']));
    res.json(await engine.counts(actorOf(req, engine, single(q, 'employee'))));
  }));

  r.post('/chats/start', all, chatRoute(async (req, res) => {
    const body = jsonBody(req, startBody);
    const a = actorOf(req, engine, body.employee);
    const out = await engine.startByPhone(a, { ...body, phone: phoneOf(body.phone, region) });
    res.status(out.continued ? 200 : 201).json(out);
  }));

  r.get('/chats/reachability', all, chatRoute(async (req, res) => {
    const query = req.query as Record<string, unknown>;
    for (const k of Object.keys(query)) {
      if (k !== 'phone' && k !== 'accountId' && k !== 'employee') throw new ApiError(400, 'unknown_parameter', `unknown parameter ${k} (known: phone, accountId, employee)`, k);
    }
    const raw = typeof query.phone === 'string' ? query.phone : undefined;
    if (!raw) throw new ApiError(400, 'invalid_parameter', 'phone is required', 'phone');
    const acc = query.accountId;
    const ids = acc === undefined ? undefined : (Array.isArray(acc) ? acc : String(acc).split(',')).map(String).filter(Boolean);
    if (ids && (ids.length > 20 || ids.some((i) => !/^[0-9A-Za-z_.:-]{1,100}$/.test(i)))) {
      throw new ApiError(400, 'invalid_parameter', 'accountId: up to 20 account ids (letters, digits, _.:-)', 'accountId');
    }
    const phone = phoneOf(raw, region);
    res.json({ phone, items: await engine.reachability(viewerOf(req, engine, single(query, 'employee')), phone, ids) });
  }));

  r.get('/chats/:id', all, chatRoute(async (req, res) => {
    const q = req.query as Record<string, unknown>;
    rejectUnknown(q, new Set(['employee']));
    res.json(await engine.get(chatId(req.params.id), viewerOf(req, engine, single(q, 'employee'))));
  }));

  r.get('/chats/:id/messages', all, chatRoute(async (req, res) => {
    const q = req.query as Record<string, unknown>;
    rejectUnknown(q, new Set(['employee', 'after', 'limit']));
    const items = await engine.messages(chatId(req.params.id), viewerOf(req, engine, single(q, 'employee')), {
      after: intParam(q, 'after', 0, 2_000_000_000, 0),
      limit: intParam(q, 'limit', 1, 500, 100),
    });
    res.json({ items });
  }));

  r.post('/chats/:id/messages', all, chatRoute(async (req, res) => {
    const id = chatId(req.params.id);
    const body = jsonBody(req, sendBody);
    const msg = await engine.send(id, actorOf(req, engine, body.employee), body);
    res.status(202).json(msg);
  }));

  r.get('/chats/:id/messages/:n/file', all, chatRoute(async (req, res) => {
    const q = req.query as Record<string, unknown>;
    rejectUnknown(q, new Set(['employee']));
    if (!/^\d{1,10}$/.test(req.params.n)) throw bad('n', 'n must be a message id');
    const m = await engine.message(chatId(req.params.id), Number(req.params.n), viewerOf(req, engine, single(q, 'employee')));
    if (!m.file) throw new ApiError(404, 'not_found', `message ${m.id} has no file`);
    res.set('Content-Type', m.file.mime);
    res.set('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(m.file.name)}`);
    res.set('Cache-Control', 'private, max-age=3600');
    res.send(await engine.files.read(m.file.id));
  }));

  r.post('/chats/:id/observers', all, chatRoute(async (req, res) => {
    const id = chatId(req.params.id);
    const body = jsonBody(req, observerBody);
    res.json(await engine.addObserver(id, actorOf(req, engine, body.employee), body.observer));
  }));

  r.post('/chats/:id/handover', all, chatRoute(async (req, res) => {
    const id = chatId(req.params.id);
    const body = jsonBody(req, handoverBody);
    res.json(await engine.handover(id, actorOf(req, engine, body.employee), body.to, body.keepAsObserver));
  }));

  r.post('/chats/:id/close', all, chatRoute(async (req, res) => {
    const id = chatId(req.params.id);
    const body = jsonBody(req, actorBody);
    res.json(await engine.close(id, actorOf(req, engine, body.employee)));
  }));

  r.post('/chats/:id/read', all, chatRoute(async (req, res) => {
    const id = chatId(req.params.id);
    const body = jsonBody(req, actorBody);
    await engine.markRead(id, actorOf(req, engine, body.employee));
    res.status(204).end();
  }));

  r.put('/chats/:id/customer', all, chatRoute(async (req, res) => {
    const id = chatId(req.params.id);
    const body = jsonBody(req, bindBody);
    res.json(await engine.bind(id, actorOf(req, engine, body.employee), body.customerId, body.contactId));
  }));

  r.get('/customers/:id/chats', all, chatRoute(async (req, res) => {
    const q = req.query as Record<string, unknown>;
    rejectUnknown(q, new Set(['employee']));
    res.json({ items: await engine.activeOfCustomer(req.params.id, viewerOf(req, engine, single(q, 'employee'))) });
  }));

  // Attachments: the raw bytes (any Content-Type but JSON), the type decided from the content.
  const raw = express.raw({ type: () => true, limit: maxFileBytes });
  r.post('/chat-files', all, (req, res, next) => {
    if (req.is('application/json')) return next(new ApiError(415, 'unsupported_media_type', 'send the file\'s bytes as the body (application/octet-stream), not JSON', 'body'));
    raw(req, res, next);
  }, chatRoute(async (req, res) => {
    const q = req.query as Record<string, unknown>;
    rejectUnknown(q, new Set(['name']));
    const name = single(q, 'name');
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw new ApiError(400, 'invalid_body', 'the body must be the file\'s bytes', 'body');
    const f = await engine.files.put(req.body, name);
    res.status(201).json({ id: f.id, size: f.size, mime: f.mime, name: name ?? null });
  }));

  r.get('/chat-templates', all, chatRoute(async (_req, res) => {
    res.json({ items: await engine.templates(), placeholders: PLACEHOLDERS });
  }));
  r.put('/chat-templates/:name', manage, chatRoute(async (req, res) => {
    if (!/^[\p{L}\p{N}_. -]{1,100}$/u.test(req.params.name)) throw bad('name', 'name must be 1 to 100 letters, digits, spaces, _ . -');
    const body = jsonBody(req, templateBody);
    const out = await engine.putTemplate(req.params.name, body.text);
    res.status(out.created ? 201 : 200).json(out.template);
  }));
  r.delete('/chat-templates/:name', manage, chatRoute(async (req, res) => {
    if (!(await engine.deleteTemplate(req.params.name))) throw new ApiError(404, 'not_found', `no template ${req.params.name}`);
    res.status(204).end();
  }));

  r.get('/messengers', all, chatRoute(async (req, res) => {
    // An employee sees the accounts he may write from (a colleague's own Telegram is not among them);
    // admin and integration see every account, personal ones with their owner.
    const viewer = viewerOf(req, engine, undefined);
    res.json({
      items: [...engine.adapters.values()].filter((a) => 'all' in viewer || mayUseAccount(viewer, a)).map((a) => ({
        accountId: a.accountId,
        kind: a.kind,
        owner: a.owner ?? null,
        username: a instanceof TelegramBotAdapter ? a.username : null,
        startLink: a instanceof TelegramBotAdapter && a.username ? `https://t.me/${a.username}?start=` : null,
      })),
    });
  }));

  // Telegram's webhook: no bearer token; the secret token header, compared in constant time.
  r.post('/messengers/telegram/:accountId/webhook', chatRoute(async (req, res) => {
    const a = engine.adapters.get(req.params.accountId);
    if (!(a instanceof TelegramBotAdapter) || a.mode !== 'webhook') throw new ApiError(404, 'not_found', `no Telegram bot ${req.params.accountId} taking webhooks`);
    // Guessing the secret is throttled like bad tokens (per client address).
    const client = AuthThrottle.clientKey(req.ip);
    const refused = await throttleRefusal(tokens.throttle, client, res, () => 'too many wrong webhook secrets from this address', 'X-Telegram-Bot-Api-Secret-Token');
    if (refused) throw refused;
    if (!a.checkSecret(req.get('X-Telegram-Bot-Api-Secret-Token'))) {
      await tokens.throttle.failed(client, 'wrong Telegram webhook secret');
      throw new ApiError(401, 'unauthorized', 'wrong or missing X-Telegram-Bot-Api-Secret-Token', 'X-Telegram-Bot-Api-Secret-Token');
    }
    const update = req.body as { update_id?: unknown };
    if (!req.is('application/json') || typeof update?.update_id !== 'number') throw new ApiError(400, 'invalid_body', 'not a Telegram update', 'body');
    await a.handleUpdate(req.body);
    res.json({ ok: true });
  }));

  return r;
}
