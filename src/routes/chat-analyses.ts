import { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import { TokenService } from '../auth/tokens';
import { ChatEngine, ChatView } from '../chats/engine';
import { ChatAnalyses } from '../ai/chat-analyses';
import { EMPLOYEE_EXTENSION_RE } from '../employees/employee-input';
import { requireRole } from './auth';
import { ApiError, jsonBody } from './errors';
import { rejectUnknown, single } from './query';
import { chatId, chatRoute, viewerOf } from './chats';

const ALL = ['admin', 'supervisor', 'operator', 'integration'] as const;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const actorBody = z.object({ employee: z.string().regex(EMPLOYEE_EXTENSION_RE, 'must be an extension: 2 to 6 digits').optional() }).strict();

/**
 * AI analysis of chats (issue 14, C15): `GET/POST /chats/{id}/analysis` with the chat's rights (the engine's
 * rule: 403 for an employee who may not see it), and the analysis added to the chat card (`analysis`, the
 * whole view) and to the chat journal's rows (`analysis`, a brief). Mounted before the chats router: the
 * card and the journal stay the chats router's; this only adds the field to their answers.
 */
export function chatAnalysesRouter(tokens: TokenService, engine: ChatEngine, analyses: ChatAnalyses): Router {
  const r = Router();
  const all = requireRole(tokens, ALL);

  const addToAnswer = (kind: 'list' | 'card') => (req: Request, res: Response, next: NextFunction) => {
    if (kind === 'card' && !UUID_RE.test(req.params.id)) return next();
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      if (res.statusCode >= 400 || !body || typeof body !== 'object') return json(body);
      (async () => {
        if (kind === 'card') {
          const chat = body as ChatView & { analysis?: unknown };
          const { chatId: _c, ...view } = await analyses.get(chat.id);
          return { ...chat, analysis: view };
        }
        const page = body as { items: Array<ChatView & { analysis?: unknown }> };
        if (!Array.isArray(page.items)) return page;
        const briefs = await analyses.briefs(page.items.map((c) => c.id));
        return { ...page, items: page.items.map((c) => ({ ...c, analysis: briefs.get(c.id) })) };
      })().then((b) => json(b), next);
      return res;
    };
    next();
  };
  r.get('/chats', addToAnswer('list'));
  r.get('/chats/:id', addToAnswer('card'));

  r.get('/chats/:id/analysis', all, chatRoute(async (req, res) => {
    const q = req.query as Record<string, unknown>;
    rejectUnknown(q, new Set(['employee']));
    const chat = await engine.get(chatId(req.params.id), viewerOf(req, engine, single(q, 'employee')));
    res.json(await analyses.get(chat.id));
  }));

  r.post('/chats/:id/analysis', all, chatRoute(async (req, res) => {
    const id = chatId(req.params.id);
    const body = req.is('application/json') ? jsonBody(req, actorBody) : {};
    if (!req.is('application/json') && req.headers['content-length'] && req.headers['content-length'] !== '0') {
      throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json', 'body');
    }
    const chat = await engine.get(id, viewerOf(req, engine, body.employee));
    if (!analyses.enabled) throw new ApiError(409, 'analysis_disabled', analyses.disabledMessage, 'id');
    const [{ n }] = await engine.db.query<{ n: number | string | bigint }>('SELECT COUNT(*) AS n FROM chat_messages WHERE chat_id = ? AND deleted_at IS NULL', [chat.id]);
    if (!Number(n)) throw new ApiError(409, 'not_ready', 'the chat has no messages to analyse', 'id');
    res.status(202).json(await analyses.request(chat.id));
  }));

  return r;
}
