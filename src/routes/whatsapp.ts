import express, { Router } from 'express';
import { z } from 'zod';
import { TokenService } from '../auth/tokens';
import { AuthThrottle } from '../auth/throttle';
import { ChatEngine } from '../chats/engine';
import { PLACEHOLDERS } from '../chats/templates';
import { WhatsappCloudAdapter } from '../messengers/whatsapp-cloud';
import { WhatsappGatewayAdapter } from '../messengers/whatsapp-gateway';
import { WhatsappTemplates } from '../messengers/whatsapp-templates';
import { requireRole, throttleRefusal } from './auth';
import { ApiError, jsonBody, route } from './errors';
import { rejectUnknown } from './query';

const ALL = ['admin', 'supervisor', 'operator', 'integration'] as const;
const MANAGE = ['admin', 'supervisor', 'integration'] as const;

/** The webhook path: the global JSON parser skips it, the signature needs the raw bytes. */
export const WHATSAPP_WEBHOOK_RE = /^\/api\/v1\/messengers\/whatsapp\/[^/]+\/webhook$/;

const mappingBody = z.object({
  waName: z.string().regex(/^[a-z0-9_]{1,512}$/, 'must be the WhatsApp template name (lowercase letters, digits, _)'),
  language: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'must be a language code like ru or en_US'),
  params: z.array(z.enum(PLACEHOLDERS)).max(20).default([]),
}).strict();

type WaAdapter = WhatsappCloudAdapter | WhatsappGatewayAdapter;


/**
 * WhatsApp (issue 14): the Cloud API's and the gateway's webhooks, each account's template catalogue and
 * the mapping of our templates onto it. Sending goes through the chat API like every messenger.
 */
export function whatsappRouter(tokens: TokenService, engine: ChatEngine, templates: WhatsappTemplates): Router {
  const r = Router();
  const all = requireRole(tokens, ALL);
  const manage = requireRole(tokens, MANAGE);
  const account = (id: string): WaAdapter => {
    const a = engine.adapters.get(id);
    if (!(a instanceof WhatsappCloudAdapter) && !(a instanceof WhatsappGatewayAdapter)) throw new ApiError(404, 'not_found', `no WhatsApp account ${id}`);
    return a;
  };

  // Meta's verification of the webhook URL: the challenge back as plain text when the verify token matches.
  r.get('/messengers/whatsapp/:accountId/webhook', route(async (req, res) => {
    const a = account(req.params.accountId);
    if (!(a instanceof WhatsappCloudAdapter)) throw new ApiError(404, 'not_found', `WhatsApp account ${a.accountId} is a gateway: no GET verification`);
    const q = req.query as Record<string, unknown>;
    const challenge = a.verify(q['hub.mode'], q['hub.verify_token'], q['hub.challenge']);
    if (challenge === null) throw new ApiError(403, 'forbidden', 'hub.mode must be subscribe and hub.verify_token the configured verifyToken', 'hub.verify_token');
    res.type('text/plain').send(challenge);
  }));

  // Every POST is authenticated before anything is parsed or stored: the Cloud API's HMAC signature of the
  // raw body, the gateway's bearer token. A wrong one is a 401 and throttled per client like bad tokens.
  const raw = express.raw({ type: () => true, limit: '4mb' });
  r.post('/messengers/whatsapp/:accountId/webhook', raw, route(async (req, res) => {
    const a = account(req.params.accountId);
    const client = AuthThrottle.clientKey(req.ip);
    const refused = await throttleRefusal(tokens.throttle, client, res, () => 'too many unauthenticated webhook requests from this address');
    if (refused) throw refused;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const ok = a instanceof WhatsappCloudAdapter ? a.checkSignature(body, req.get('X-Hub-Signature-256')) : a.checkAuth(req.get('Authorization'));
    if (!ok) {
      await tokens.throttle.failed(client, 'wrong WhatsApp webhook signature');
      const field = a instanceof WhatsappCloudAdapter ? 'X-Hub-Signature-256' : 'Authorization';
      throw new ApiError(401, 'unauthorized', a instanceof WhatsappCloudAdapter ? 'missing or wrong X-Hub-Signature-256 (HMAC-SHA256 of the body with the app secret)' : 'missing or wrong webhook token', field);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ApiError(400, 'invalid_body', 'the webhook body is not JSON', 'body');
    }
    if (!parsed || typeof parsed !== 'object') throw new ApiError(400, 'invalid_body', 'the webhook body is not a JSON object', 'body');
    await a.handleWebhook(parsed);
    res.json({ ok: true });
  }));

  r.get('/messengers/whatsapp/:accountId/templates', all, route(async (req, res) => {
    const a = account(req.params.accountId);
    res.json({ accountId: a.accountId, kind: a instanceof WhatsappCloudAdapter ? 'cloud' : 'gateway', items: await templates.catalogue(a.accountId) });
  }));
  r.post('/messengers/whatsapp/:accountId/templates/sync', manage, route(async (req, res) => {
    const a = account(req.params.accountId);
    try {
      await a.syncTemplates();
    } catch (e) {
      throw new ApiError(502, 'messenger_unavailable', `the template catalogue could not be read: ${(e as Error).message}`);
    }
    res.json({ accountId: a.accountId, items: await templates.catalogue(a.accountId) });
  }));

  r.get('/chat-templates/:name/whatsapp', all, route(async (req, res) => {
    rejectUnknown(req.query as Record<string, unknown>, new Set());
    res.json({ template: req.params.name, items: await templates.mappings(req.params.name) });
  }));
  r.put('/chat-templates/:name/whatsapp/:accountId', manage, route(async (req, res) => {
    const a = account(req.params.accountId);
    const body = jsonBody(req, mappingBody);
    const out = await templates.putMapping(req.params.name, a.accountId, body);
    res.status(out.created ? 201 : 200).json(out.mapping);
  }));
  r.delete('/chat-templates/:name/whatsapp/:accountId', manage, route(async (req, res) => {
    if (!(await templates.deleteMapping(req.params.name, req.params.accountId))) throw new ApiError(404, 'not_found', `template ${req.params.name} has no mapping for ${req.params.accountId}`);
    res.status(204).end();
  }));

  return r;
}
