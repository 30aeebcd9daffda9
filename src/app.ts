import express from 'express';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { callerIdMap, Config } from './config';
import { Db } from './db/database';
import { EslConnection, EslConnectionOptions } from './esl/connection';
import { CallTracker } from './calls/tracker';
import { CallService, skipUninterestingEvent, SUBSCRIBED_EVENTS } from './calls/call-service';
import { JournalWriter } from './journal/journal-writer';
import { JournalReader } from './journal/journal-reader';
import { NumberBackfill } from './journal/number-backfill';
import { TokenService } from './auth/tokens';
import { callsRouter } from './routes/calls';
import { tokensRouter } from './routes/tokens';
import { healthRouter } from './routes/health';
import { openApiDocument } from './routes/openapi';
import { errorHandler, methodNotAllowed, notFound } from './routes/errors';
import { jsonClientErrors, securityHeaders } from './routes/security';
import { checkUrl, jsonParser } from './routes/input';
import { AuthThrottle, AuthThrottleOptions } from './auth/throttle';
import { Logger } from './log';
import { Directory } from './directory/directory';
import { assertRegion } from './directory/phone';
import { CallerIdentification } from './calls/caller-identification';
import { EventLog } from './events/event-log';
import { WebhookDispatcher, WebhookOptions } from './events/webhooks';
import { SecretBox } from './events/secret-box';
import { eventsRouter } from './routes/events';
import { ClickToCall } from './calls/click-to-call';
import { Control } from './control/control';
import { Transfers } from './control/transfers';
import { Supervisions, SupervisorRights } from './control/supervision';
import { controlRouter } from './routes/control';
import { ClickToCallAudit } from './control/click-to-call-audit';
import { RecordingFiles } from './recordings/recording-files';
import { recordingsRouter } from './routes/recordings';
import { transcriptsRouter } from './routes/transcripts';
import { Transcriber } from './transcription/transcriber';
import { OpenAiCompatibleEngine } from './transcription/engine';
import { WhisperCppEngine } from './transcription/whisper-cpp';
import { chatModelFrom } from './ai/chat-model';
import { CallSummaries } from './ai/call-summaries';
import { Summarizer } from './ai/summarizer';
import { ChatAnalyses, ChatAnalysesOptions, ChatAnalyzer } from './ai/chat-analyses';
import { chatAnalysesRouter } from './routes/chat-analyses';
import { BULK_SYNC_PATH, customersRouter } from './routes/customers';
import { webhooksRouter } from './routes/webhooks';
import { Employees } from './employees/employees';
import { Presence, PresenceOptions } from './employees/presence';
import { employeesRouter } from './routes/employees';
import { attachDirectoryWriter } from './freeswitch/directory-writer';
import { PanelSessions } from './auth/sessions';
import { sessionRouter } from './routes/session';
import { panelRouter } from './routes/panel';
import { ChatEngine } from './chats/engine';
import { ChatFiles } from './chats/files';
import { OutboxOptions } from './chats/outbox';
import { chatsRouter } from './routes/chats';
import { invoicesRouter } from './routes/invoices';
import { InvoiceService } from './invoices/service';
import { MessengerAdapter } from './messengers/adapter';
import { TelegramBotAdapter } from './messengers/telegram-bot';
import { AdapterRegistry, TelegramAccounts } from './messengers/telegram-accounts';
import { TelegramUserClientFactory } from './messengers/telegram-user-client';
import { mtprotoClientFactory } from './messengers/telegram-user-mtproto';
import { telegramAccountsRouter } from './routes/telegram-accounts';
import { WhatsappCloudAdapter } from './messengers/whatsapp-cloud';
import { WhatsappGatewayAdapter } from './messengers/whatsapp-gateway';
import { WhatsappTemplates } from './messengers/whatsapp-templates';
import { WHATSAPP_WEBHOOK_RE, whatsappRouter } from './routes/whatsapp';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../package.json').version;

export interface Telefonist {
  config: Config;
  db: Db;
  calls: CallService;
  tokens: TokenService;
  reader: JournalReader;
  /** Rewrites calls stored under older phone rules (resolves when the journal is searchable by every notation). */
  numberBackfill: NumberBackfill;
  directory: Directory;
  /** Employees synced from 1C (names, groups, rights: `isSupervisor`), 'changed' on every change. */
  employees: Employees;
  /** Presence per extension (registrations + live calls), published as `employee.presence` events. */
  presence: Presence;
  events: EventLog;
  webhooks: WebhookDispatcher;
  /** Chats (src/chats) and their messenger adapters. */
  chats: ChatEngine;
  /** AI analyses of chats (src/ai/chat-analyses.ts); `enabled` false without a model. */
  chatAnalyses: ChatAnalyses;
  /** Employees' own Telegram accounts (MTProto logins, sessions, one adapter each). */
  telegramAccounts: TelegramAccounts;
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** The composition root: database, ESL connection, call spine, HTTP API. */
export interface StartOptions {
  /** Who holds the supervisor right (default: the employees' `supervisor` right). */
  supervisorRights?: SupervisorRights;
  /** Webhook retry timing (tests shorten it). */
  webhooks?: WebhookOptions;
  /** Transcription retry and scan timing (tests shorten it). */
  transcription?: { baseDelayMs?: number; scanEveryMs?: number; maxAttempts?: number };
  /** Failed-authentication throttle per client (defaults: a burst of 20 per 10 s window). */
  authThrottle?: AuthThrottleOptions;
  /** ESL reconnect and link-watch timing (tests shorten it; defaults in EslConnection). */
  esl?: Pick<EslConnectionOptions, 'initialBackoffMs' | 'maxBackoffMs' | 'commandTimeoutMs' | 'handshakeTimeoutMs' | 'idleProbeMs' | 'probeTimeoutMs'>;
  /** Presence timing (tests shorten it; defaults in Presence). */
  presence?: Pick<PresenceOptions, 'expiryMarginMs' | 'offlineDelayMs' | 'sweepMs'>;
  /** The built panel's folder (default TELEFONIST_PANEL_DIR; tests point it at a fixture). */
  panelDir?: string;
  /** The MTProto client behind employees' Telegram accounts (tests give a fake; default teleproto). */
  telegramUserClient?: TelegramUserClientFactory;
  /** Where connected Telegram accounts' adapters go (default: the chat engine, once wired). */
  messengerRegistry?: AdapterRegistry;
  /** Chats' outbound queue timing and limits (tests, bench). */
  chatOutbox?: OutboxOptions;
  /** More messenger adapters than the configured ones (tests). */
  messengers?: (chats: ChatEngine) => MessengerAdapter[];
  /** Chat analysis retry waits and catch-up window (tests shorten them). */
  chatAnalyses?: ChatAnalysesOptions;
}

export async function startTelefonist(config: Config, log = new Logger(config.LOG_LEVEL), opts: StartOptions = {}): Promise<Telefonist> {
  const startedAt = Date.now();
  const { db, migrations } = await Db.open(config.DATABASE_URL);
  if (migrations?.applied.length) log.info('database migrated', { applied: migrations.applied });
  const tokens = new TokenService(db, new AuthThrottle(opts.authThrottle, log));
  await tokens.bootstrapAdmin(config.TELEFONIST_ADMIN_TOKEN);

  const esl = new EslConnection({
    host: config.FREESWITCH_ESL_HOST,
    port: config.FREESWITCH_ESL_PORT,
    password: config.FREESWITCH_ESL_PASSWORD,
    events: SUBSCRIBED_EVENTS,
    skipEvent: skipUninterestingEvent,
    ...opts.esl,
  });
  const employeeProfiles = new Set(config.TELEFONIST_EMPLOYEE_PROFILES.split(',').map((s) => s.trim()).filter(Boolean));
  const tracker = new CallTracker({ employeeProfiles });
  const employees = await Employees.open(db);
  const region = assertRegion(config.TELEFONIST_PHONE_REGION);
  const writer = new JournalWriter(db, { region });
  writer.on('error', (e) => log.error('journal write failed, will retry', e));
  const reader = new JournalReader(db, region, (ext) => employees.nameOf(ext));
  const directory = new Directory(db, region);
  const events = await EventLog.open(db);
  events.on('error', (e) => log.error('event log write failed, will retry', e));
  const secrets = () => SecretBox.open({ key: config.TELEFONIST_SECRETS_KEY, keyFile: config.TELEFONIST_SECRETS_KEY_FILE, databaseUrl: config.DATABASE_URL });
  const webhooks = new WebhookDispatcher(db, events, { secrets, ...opts.webhooks });
  webhooks.on('failed', (id, ev, error) => log.warn('webhook delivery failed, will retry', { webhook: id, event: ev.id, error }));
  webhooks.on('error', (e) => log.error('webhook worker error', e));
  if (config.TELEFONIST_WEBHOOK_URL) {
    // Registered on every start so a changed URL or secret takes effect; an existing cursor is kept.
    await webhooks.create({
      id: 'config',
      url: config.TELEFONIST_WEBHOOK_URL,
      secret: config.TELEFONIST_WEBHOOK_SECRET,
      basicAuth: config.TELEFONIST_WEBHOOK_BASIC_USER !== undefined
        ? { username: config.TELEFONIST_WEBHOOK_BASIC_USER, password: config.TELEFONIST_WEBHOOK_BASIC_PASSWORD ?? '' }
        : undefined,
      headers: config.TELEFONIST_WEBHOOK_HEADERS,
    });
  }
  const calls = new CallService(esl, tracker, writer, reader, {
    identification: new CallerIdentification(directory, region),
    directory,
    events,
    employeeName: (ext) => employees.nameOf(ext),
  });
  const presence = new Presence(db, esl, calls, events, employees, { profiles: employeeProfiles, ...opts.presence });
  presence.on('error', (e) => log.warn('presence: registrations snapshot or write failed', e));
  calls.on('pipelineError', (e) => log.error('call pipeline error', e));
  esl.on('ready', () => log.info('FreeSWITCH connected', { host: config.FREESWITCH_ESL_HOST, port: config.FREESWITCH_ESL_PORT }));
  esl.on('disconnected', (reason) => log.warn('FreeSWITCH connection lost, reconnecting', { reason }));
  esl.on('authFailed', (reply) => log.error('FreeSWITCH rejected the ESL password (FREESWITCH_ESL_PASSWORD)', { reply }));
  esl.on('malformed', (e) => log.warn('malformed ESL data', e));
  esl.on('link', (link) => link === 'stale' && log.warn('FreeSWITCH link quiet, probing with api status', { lastByteAt: esl.stats.lastByteAt }));
  calls.on('resyncFailed', (e) => log.warn('resync with FreeSWITCH failed', e));

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'extended');
  // Every response, errors included, carries the security headers; every URL is checked before routing.
  app.use(securityHeaders);
  app.use(checkUrl);
  // Bodies are small everywhere except 1C's bulk directory sync, which parses its own (larger) body
  // after the token is checked.
  const smallJson = jsonParser('1mb');
  // WhatsApp webhooks are signed over the raw bytes: their router reads the body itself.
  app.use((req, res, next) => (req.path === `/api/v1${BULK_SYNC_PATH}` || WHATSAPP_WEBHOOK_RE.test(req.path) ? next() : smallJson(req, res, next)));
  const api = express.Router();
  api.use(healthRouter(db, calls, startedAt));
  // Panel sign-ins: a session cookie is accepted wherever a token is (src/routes/auth.ts).
  const sessions = new PanelSessions(db, employees, tokens, config.TELEFONIST_SESSION_HOURS * 3600_000);
  tokens.sessions = sessions;
  tokens.cookieSecure = config.TELEFONIST_COOKIE_SECURE;
  api.use(sessionRouter(tokens, sessions));
  const doc = openApiDocument(VERSION);
  api.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
  const recordingFiles = new RecordingFiles({ dir: config.TELEFONIST_RECORDINGS_DIR, fsDir: config.TELEFONIST_RECORDINGS_FS_DIR });
  api.use(recordingsRouter(tokens, reader, recordingFiles, config.TELEFONIST_INTEGRATION_RECORDINGS));
  const engine = config.TRANSCRIPTION_ENGINE === 'openai'
    ? new OpenAiCompatibleEngine({ baseUrl: config.TRANSCRIPTION_URL!, model: config.TRANSCRIPTION_MODEL, apiKey: config.TRANSCRIPTION_API_KEY })
    : config.TRANSCRIPTION_ENGINE === 'whisper'
      ? new WhisperCppEngine({ model: config.WHISPER_MODEL!, binary: config.WHISPER_BINARY, threads: config.WHISPER_THREADS })
      : null;
  const transcriber = engine
    ? new Transcriber(db, reader, recordingFiles, {
      engine,
      language: config.TRANSCRIPTION_LANGUAGE,
      concurrency: config.TRANSCRIPTION_CONCURRENCY,
      rules: {
        minSeconds: config.TRANSCRIBE_MIN_SECONDS,
        maxSeconds: config.TRANSCRIBE_MAX_SECONDS,
        directions: config.TRANSCRIBE_DIRECTIONS.split(',').filter(Boolean),
        employees: config.TRANSCRIBE_EMPLOYEES.split(',').filter(Boolean),
      },
      silenceDb: config.TRANSCRIBE_SILENCE_DB,
      ...opts.transcription,
    })
    : null;
  if (transcriber) {
    transcriber.on('error', (e) => log.error('transcription queue error', e));
    transcriber.on('retry', (callId, key, e) => log.warn('transcription failed, will retry', { callId, recording: key, error: (e as Error).message }));
    transcriber.on('failed', (callId, key, e) => log.warn('transcription failed', { callId, recording: key, error: (e as Error).message }));
    writer.on('committed', (committed: Array<{ id: string; hasRecording: boolean }>) => {
      const withRecordings = committed.filter((c) => c.hasRecording).map((c) => c.id);
      if (withRecordings.length) transcriber.wake(withRecordings);
    });
  }
  const chatModel = chatModelFrom({ provider: config.LLM_PROVIDER, baseUrl: config.LLM_BASE_URL, model: config.LLM_MODEL, apiKey: config.LLM_API_KEY });
  const summaries = transcriber && chatModel
    ? new CallSummaries(db, transcriber, new Summarizer(chatModel, { locale: config.SUMMARY_LOCALE, timeoutMs: config.LLM_TIMEOUT_SECONDS * 1000 }))
    : null;
  summaries?.on('failed', (callId, e) => log.warn('summary failed', { callId, error: (e as Error).message }));
  const clickToCall = new ClickToCall(esl, directory, {
    region, format: config.TELEFONIST_DIAL_FORMAT, context: config.TELEFONIST_DIAL_CONTEXT,
    callerIdDefault: config.TELEFONIST_CALLER_ID_DEFAULT, callerIdByEmployee: callerIdMap(config),
    outsideAllow: config.TELEFONIST_OUTSIDE_ALLOW,
  });
  api.use(callsRouter(tokens, reader, clickToCall, config.TELEFONIST_INTEGRATION_RECORDINGS, transcriber));
  // Call control: transfers, hold / resume / hang-up, supervision (src/control). Supervisor rights: the
  // employees' `supervisor` right (themself or a group), unless the start options say otherwise.
  const control = new Control(esl, calls, reader, events);
  clickToCall.audited(new ClickToCallAudit(control));
  // An extension names someone's phone when it is a configured employee or registered right now (installations
  // without synced employees keep working); anything else is a typo: 422 `unknown_employee`.
  const knownExtension = (ext: string) => employees.get(ext) !== undefined || presence.get(ext).registrations > 0;
  clickToCall.checksEmployees(knownExtension);
  const transfers = new Transfers(control, {
    region, format: config.TELEFONIST_DIAL_FORMAT, context: config.TELEFONIST_DIAL_CONTEXT,
    // The toll-fraud guard: the supervisor right is the employees' (as for supervision).
    outside: { mode: config.TELEFONIST_TRANSFER_OUTSIDE, allow: config.TELEFONIST_OUTSIDE_ALLOW, isSupervisor: opts.supervisorRights ?? ((ext) => employees.isSupervisor(ext)) },
  });
  const supervisions = new Supervisions(control, opts.supervisorRights ?? ((ext) => employees.isSupervisor(ext)), knownExtension);
  api.use(controlRouter(tokens, control, transfers, supervisions));
  api.use(transcriptsRouter(tokens, reader, transcriber, summaries, config.TELEFONIST_INTEGRATION_RECORDINGS));
  api.use(customersRouter(tokens, directory, reader));
  // Chats (issue 13): the engine, the configured Telegram bots and any adapters the start options add.
  const chats = new ChatEngine(db, events, employees, directory, new ChatFiles(config.TELEFONIST_CHAT_FILES_DIR, Math.round(config.TELEFONIST_CHAT_MAX_FILE_MB * 1024 * 1024)), {
    rules: { reopen: config.TELEFONIST_CHAT_REOPEN, ownerAway: config.TELEFONIST_CHAT_OWNER_AWAY },
    isOnline: (ext) => presence.get(ext).presence !== 'offline',
    outbox: { accountGoneMs: Math.round(config.TELEFONIST_CHAT_ACCOUNT_GONE_MINUTES * 60_000), ...opts.chatOutbox },
  });
  chats.on('error', (e) => log.error('chat outbox error', e));
  for (const b of config.TELEFONIST_TELEGRAM_BOTS) {
    chats.addAdapter(new TelegramBotAdapter(b, { apiRoot: config.TELEFONIST_TELEGRAM_API_ROOT, publicUrl: config.TELEFONIST_PUBLIC_URL }));
  }
  // WhatsApp (issue 14): each configured number through its adapter, Cloud API or gateway, side by side.
  const whatsappTemplates = new WhatsappTemplates(db);
  for (const w of config.TELEFONIST_WHATSAPP_ACCOUNTS) {
    chats.addAdapter(w.kind === 'cloud'
      ? new WhatsappCloudAdapter(w, whatsappTemplates, { graphRoot: config.TELEFONIST_WHATSAPP_GRAPH_ROOT })
      : new WhatsappGatewayAdapter(w, whatsappTemplates));
  }
  api.use(whatsappRouter(tokens, chats, whatsappTemplates));
  for (const a of opts.messengers?.(chats) ?? []) chats.addAdapter(a);
  // AI analysis of chats (issue 14): on demand and when a chat is closed; the same chain as call summaries.
  const chatAnalyses = new ChatAnalyses(db, chats, events,
    chatModel ? new ChatAnalyzer(chatModel, { locale: config.SUMMARY_LOCALE, timeoutMs: config.LLM_TIMEOUT_SECONDS * 1000 }) : null,
    { locale: config.SUMMARY_LOCALE, ...opts.chatAnalyses });
  chatAnalyses.on('retry', (chatId, e) => log.warn('chat analysis failed, will retry', { chatId, error: (e as Error).message }));
  chatAnalyses.on('failed', (chatId, e) => log.warn('chat analysis failed', { chatId, error: (e as Error).message }));
  chatAnalyses.on('error', (e) => log.error('chat analysis error', e));
  api.use(chatAnalysesRouter(tokens, chats, chatAnalyses));
  api.use(chatsRouter(tokens, chats, region, Math.round(config.TELEFONIST_CHAT_MAX_FILE_MB * 1024 * 1024)));
  // Invoices (issue 14, C14): 1C's invoice rendered as a PDF and sent in a chat.
  const invoices = new InvoiceService(chats);
  api.use(invoicesRouter(tokens, invoices, region));
  api.use(eventsRouter(tokens, events));
  api.use(webhooksRouter(tokens, webhooks));
  // The FreeSWITCH directory of our employees (with the supervisor right its dialplan checks), when the
  // installer pointed us at it (docs/installer-guide.md); rewritten and reloadxml'ed on every change.
  const fsDirectory = config.TELEFONIST_FS_DIRECTORY_DIR
    ? attachDirectoryWriter(employees, esl, {
        dir: config.TELEFONIST_FS_DIRECTORY_DIR,
        log: (level, msg) => log[level](msg),
      })
    : null;
  api.use(employeesRouter(tokens, employees, presence));
  api.use(tokensRouter(tokens, employees));
  const telegramAccounts = new TelegramAccounts(db, {
    apiId: config.TELEGRAM_API_ID,
    apiHash: config.TELEGRAM_API_HASH,
    clientFactory: opts.telegramUserClient ?? mtprotoClientFactory,
    intake: config.TELEFONIST_TELEGRAM_USER_INTAKE,
    secrets,
    registry: opts.messengerRegistry ?? chats,
  });
  telegramAccounts.on('error', (m: string, details: unknown) => log.warn(m, details));
  api.use(telegramAccountsRouter(tokens, telegramAccounts, region));
  app.use('/api/v1', api);
  app.use(methodNotAllowed('/api/v1', doc.paths));
  app.use(panelRouter(opts.panelDir ?? config.TELEFONIST_PANEL_DIR));
  app.use(notFound);
  app.use(errorHandler((m, e) => log.error(m, e)));

  // Before the call service writes anything under the current phone rules; the rest runs in the background.
  const numberBackfill = new NumberBackfill(db, region);
  await numberBackfill.prepare();
  await presence.start();
  await calls.start();
  numberBackfill.on('done', (n: number) => n && log.info('journal numbers rewritten under the current phone rules', { calls: n }));
  numberBackfill.run().catch((e) => log.error('journal number backfill failed (restart to resume)', e));
  await webhooks.start();
  await transcriber?.start();
  await summaries?.start();
  await chats.start();
  await chatAnalyses.start();
  await telegramAccounts.start();
  const server = createServer(app);
  jsonClientErrors(server, log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info('Telefonist API listening', { url: `http://${config.HOST}:${port}/api/v1` });

  let closed = false;
  return {
    config,
    db,
    calls,
    tokens,
    reader,
    numberBackfill,
    directory,
    employees,
    presence,
    events,
    webhooks,
    chats,
    chatAnalyses,
    telegramAccounts,
    server,
    port,
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await numberBackfill.stop();
      fsDirectory?.stop();
      await chatAnalyses.stop();
      await chats.stop();
      await calls.stop();
      await presence.stop();
      await webhooks.stop();
      await telegramAccounts.stop();
      await summaries?.stop();
      await transcriber?.stop();
      await events.close();
      directory.cache.close();
      await db.close();
    },
  };
}
