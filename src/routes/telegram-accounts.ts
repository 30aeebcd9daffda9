import { Request, Router } from 'express';
import { z } from 'zod';
import { TokenService } from '../auth/tokens';
import { CountryCode } from 'libphonenumber-js';
import { normalizePhone, PhoneError } from '../directory/phone';
import { NOT_CONFIGURED, TelegramAccounts, TelegramLoginError } from '../messengers/telegram-accounts';
import { requireRole } from './auth';
import { ApiError, jsonBody, route } from './errors';

const EXT_RE = /^[0-9A-Za-z_.+-]{1,32}$/;
const ID_RE = /^[0-9A-Za-z_-]{1,64}$/;

const beginBody = z.object({
  phone: z.string().min(1).max(64),
  /** The employee (extension) the account is for: admins name one; an employee connects his own. */
  employee: z.string().regex(EXT_RE, 'must be an extension').optional(),
}).strict();
const codeBody = z.object({ code: z.string().regex(/^[0-9]{3,10}$/, 'must be the digits Telegram sent') }).strict();
const passwordBody = z.object({ password: z.string().min(1).max(256) }).strict();

/**
 * Employees' own Telegram accounts (C9): connect (phone → code → two-step password), list, disconnect.
 * An employee (operator or supervisor token, or a panel sign-in) connects and sees his own accounts; an admin
 * any employee's. Sessions never leave the server. Without TELEGRAM_API_ID / TELEGRAM_API_HASH: 503.
 */
export function telegramAccountsRouter(tokens: TokenService, accounts: TelegramAccounts, region: CountryCode): Router {
  const r = Router();
  const base = '/messengers/telegram/accounts';
  const who = requireRole(tokens, ['admin', 'supervisor', 'operator']);
  const configured = () => {
    if (!accounts.configured) throw new ApiError(503, 'telegram_not_configured', NOT_CONFIGURED);
  };
  /** The extension the caller acts for: an admin any (named), an employee only himself. */
  const actingFor = (req: Request, requested: string | undefined): string => {
    const p = req.principal!;
    if (p.role === 'admin') {
      if (!requested) throw new ApiError(400, 'invalid_parameter', 'name the employee (extension) whose Telegram account this is', 'employee');
      return requested;
    }
    if (!p.employee) throw new ApiError(403, 'forbidden', 'this token names no employee; an employee connects his own account (operator token or panel sign-in)');
    if (requested !== undefined && requested !== p.employee) throw new ApiError(403, 'forbidden', `an employee connects only his own account (${p.employee})`, 'employee');
    return p.employee;
  };
  const mayTouch = (req: Request, employee: string) => req.principal!.role === 'admin' || req.principal!.employee === employee;
  const wrap = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof TelegramLoginError) throw new ApiError(e.status, e.code, e.message, e.field);
      throw e;
    }
  };
  const loginId = (req: Request): string => {
    if (!ID_RE.test(req.params.id)) throw new ApiError(400, 'invalid_parameter', 'login id is malformed', 'id');
    const owner = accounts.loginOwner(req.params.id);
    if (owner === undefined || !mayTouch(req, owner)) {
      throw new ApiError(404, 'not_found', `no Telegram login ${req.params.id} in progress (it expires after 10 minutes): start again with the phone`, 'id');
    }
    return req.params.id;
  };

  r.post(base, who, route(async (req, res) => {
    configured();
    const body = jsonBody(req, beginBody);
    const employee = actingFor(req, body.employee);
    let phone: string;
    try {
      phone = normalizePhone(body.phone, region).e164;
    } catch (e) {
      if (e instanceof PhoneError) throw new ApiError(400, 'invalid_parameter', `phone ${e.message}`, 'phone');
      throw e;
    }
    res.status(202).json(await wrap(() => accounts.begin(employee, phone)));
  }));
  r.post(`${base}/:id/code`, who, route(async (req, res) => {
    configured();
    const id = loginId(req);
    const body = jsonBody(req, codeBody);
    res.json(await wrap(() => accounts.code(id, body.code)));
  }));
  r.post(`${base}/:id/password`, who, route(async (req, res) => {
    configured();
    const id = loginId(req);
    const body = jsonBody(req, passwordBody);
    res.json(await wrap(() => accounts.password(id, body.password)));
  }));
  r.get(base, who, route(async (req, res) => {
    configured();
    const p = req.principal!;
    if (p.role !== 'admin' && !p.employee) throw new ApiError(403, 'forbidden', 'this token names no employee');
    const employee = typeof req.query.employee === 'string' ? req.query.employee : undefined;
    if (employee !== undefined && !EXT_RE.test(employee)) throw new ApiError(400, 'invalid_parameter', 'must be an extension', 'employee');
    if (p.role !== 'admin' && employee !== undefined && employee !== p.employee) throw new ApiError(403, 'forbidden', `an employee sees only his own accounts (${p.employee})`, 'employee');
    res.json({ items: await accounts.list(p.role === 'admin' ? employee : p.employee) });
  }));
  r.delete(`${base}/:id`, who, route(async (req, res) => {
    configured();
    if (!ID_RE.test(req.params.id)) throw new ApiError(400, 'invalid_parameter', 'account id is malformed', 'id');
    const owner = (await accounts.get(req.params.id))?.employee ?? accounts.loginOwner(req.params.id);
    if (owner === undefined || !mayTouch(req, owner)) throw new ApiError(404, 'not_found', `no Telegram account ${req.params.id}`, 'id');
    await accounts.remove(req.params.id);
    res.status(204).end();
  }));
  return r;
}
