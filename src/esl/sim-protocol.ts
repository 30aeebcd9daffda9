import { Server } from 'node:net';
import { encodeFrame } from './frame';
import { EslHeaders } from './event';

/**
 * The Event Socket protocol as both FreeSWITCH stand-ins speak it (src/esl/simulator.ts, the capture replay
 * for tests and the demo; src/esl/chaos/, the chaos bench's switch): command parsing, `event …`
 * subscriptions, reply/api/event framing and the api answers whose shapes come from the 1.10.12 captures.
 * One implementation of each, so that the two cannot drift apart. For tests and benches only.
 */

export const FS_VERSION =
  'FreeSWITCH Version 1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit (git a88d069 2024-08-02 21:02:27Z 64bit)';

// ---- commands ------------------------------------------------------------------------------------------

export interface EslCommand {
  /** The command line, trimmed. */
  line: string;
  verb: string;
  /** The words after the verb. */
  rest: string[];
  /** The line after the verb. */
  args: string;
  /** Headers on the following lines (e.g. a bgapi's Job-UUID). */
  extra: Record<string, string>;
}

/** Takes the complete commands (each ended by a blank line) out of a connection's buffer. */
export function takeCommands(conn: { buf: string }, chunk: Buffer): string[] {
  conn.buf += chunk.toString('utf8');
  const out: string[] = [];
  let i: number;
  while ((i = conn.buf.indexOf('\n\n')) >= 0) {
    out.push(conn.buf.slice(0, i));
    conn.buf = conn.buf.slice(i + 2);
  }
  return out;
}

export function parseCommand(raw: string): EslCommand {
  const lines = raw.replace(/\r/g, '').split('\n');
  const line = lines[0].trim();
  const extra: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const k = l.indexOf(': ');
    if (k > 0) extra[l.slice(0, k)] = l.slice(k + 2);
  }
  const [verb, ...rest] = line.split(' ');
  return { line, verb, rest, args: rest.join(' '), extra };
}

/** What a command before auth gets: `+OK accepted`, or `-ERR invalid` and the disconnect, or not found. */
export function authAnswer(cmd: EslCommand, password: string): { accepted: boolean; reply: string; hangUp: boolean } {
  if (cmd.verb !== 'auth') return { accepted: false, reply: '-ERR command not found', hangUp: false };
  if (cmd.args !== password) return { accepted: false, reply: '-ERR invalid', hangUp: true };
  return { accepted: true, reply: '+OK accepted', hangUp: false };
}

// ---- subscriptions -----------------------------------------------------------------------------------

export type EventFormat = 'json' | 'plain';

/** Which events a subscription wants (`event json ALL`, `event plain CHANNEL_CREATE CUSTOM a::b`, …). */
export interface EventFilter {
  all: boolean;
  names: Set<string>;
  subclasses: Set<string>;
}

export interface EventKeywords {
  format: EventFormat;
  all: boolean;
  names: string[];
  subclasses: string[];
}

/**
 * The words after `event`: the format, then event names (unknown ones are ignored), `ALL`, and `CUSTOM`
 * followed by subclasses. Null when FreeSWITCH answers `-ERR no keywords supplied`.
 */
export function parseEventKeywords(rest: string[]): EventKeywords | null {
  const [format, ...words] = rest;
  if ((format !== 'json' && format !== 'plain') || words.length === 0) return null;
  const k: EventKeywords = { format, all: false, names: [], subclasses: [] };
  let custom = false;
  let any = false;
  for (const n of words) {
    if (n === 'ALL') {
      k.all = true;
      any = true;
    } else if (n === 'CUSTOM') {
      custom = true;
      any = true;
    } else if (custom && n.includes('::')) {
      k.subclasses.push(n);
    } else if (KNOWN_EVENTS.has(n)) {
      k.names.push(n);
      any = true;
    }
  }
  return any ? k : null;
}

/** A further `event …` adds to what the connection already listens to. */
export function addKeywords(f: EventFilter, k: EventKeywords): void {
  if (k.all) f.all = true;
  for (const n of k.names) f.names.add(n);
  for (const s of k.subclasses) f.subclasses.add(s);
}

export function eventReplyText(k: EventKeywords | null): string {
  return k ? `+OK event listener enabled ${k.format}` : '-ERR no keywords supplied';
}

export function wants(f: EventFilter, name: string, subclass?: string): boolean {
  if (f.all) return true;
  if (name === 'CUSTOM') return f.subclasses.has(subclass ?? '');
  return f.names.has(name);
}

// ---- frames ----------------------------------------------------------------------------------------------

export function authRequestFrame(): Buffer {
  return encodeFrame([['Content-Type', 'auth/request']]);
}

export function replyFrame(text: string, extra: Array<[string, string]> = []): Buffer {
  return encodeFrame([['Content-Type', 'command/reply'], ['Reply-Text', text], ...extra]);
}

export function apiFrame(body: string): Buffer {
  return encodeFrame([['Content-Type', 'api/response'], ['Content-Length', '']], body);
}

export function disconnectNoticeFrame(): Buffer {
  return encodeFrame(
    [['Content-Type', 'text/disconnect-notice'], ['Content-Length', '']],
    'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n',
  );
}

/** An event: Content-Length first, then Content-Type (as FreeSWITCH writes it). */
export function eventFrame(format: EventFormat, body: string): Buffer {
  return encodeFrame([['Content-Length', ''], ['Content-Type', `text/event-${format}`]], body);
}

// ---- api answers --------------------------------------------------------------------------------------

/** `show channels|calls as json` with no rows, exactly as 1.10.12 writes it. */
export const NO_ROWS = '{"row_count": 0}\n';
export const NO_SUCH_CHANNEL = '-ERR No such channel!\n';

export function showJson(rows: Array<Record<string, string>>): string {
  return rows.length === 0 ? NO_ROWS : JSON.stringify({ row_count: rows.length, rows });
}

/** `uuid_dump <uuid> [json]` from the channel's CHANNEL_DATA headers (undefined: no such channel). */
export function uuidDumpAnswer(data: EslHeaders | undefined, json: boolean): string {
  if (!data) return NO_SUCH_CHANNEL;
  if (json) return JSON.stringify(data);
  return Object.entries(data).map(([k, v]) => `${k}: ${encodeURIComponent(Array.isArray(v) ? `ARRAY::${v.join('|:')}` : v)}`).join('\n') + '\n';
}

/** BACKGROUND_JOB's own headers for `bgapi <args>`. */
export function jobHeaders(jobUuid: string, args: string): EslHeaders {
  const [command, ...cmdArgs] = args.split(' ');
  return { 'Job-UUID': jobUuid, 'Job-Command': command, ...(cmdArgs.length ? { 'Job-Command-Arg': cmdArgs.join(' ') } : {}) };
}

/** What a stand-in knows for the api answers that come from its own state. */
export interface ApiState {
  /** Scripted answers by command (tests), asked first. */
  custom?: Map<string, (args: string) => string>;
  status(): string;
  showChannels(): string;
  showCalls(): string;
  uuidDump(uuid: string, json: boolean): string;
  hasChannel(uuid: string): boolean;
  /** Who answers `-ERR Unsupported by …` for other `show`s. */
  who: string;
}

/** `api <args>` (and what `bgapi <args>` puts in the BACKGROUND_JOB body). */
export function answerApi(args: string, s: ApiState): string {
  const [cmd, ...rest] = args.trim().split(/\s+/);
  const a = rest.join(' ');
  const custom = s.custom?.get(cmd);
  if (custom) return custom(a);
  switch (cmd) {
    case 'status':
      return s.status();
    case 'version':
      return `${FS_VERSION}\n`;
    case 'show':
      if (a === 'channels as json') return s.showChannels();
      if (a === 'calls as json') return s.showCalls();
      return `-ERR Unsupported by the ${s.who}\n`;
    case 'uuid_dump':
      return s.uuidDump(rest[0] ?? '', rest[1] === 'json');
    case 'uuid_kill':
    case 'uuid_transfer':
    case 'uuid_hold':
    case 'uuid_bridge':
    case 'uuid_record':
    case 'uuid_setvar':
      return s.hasChannel(rest[0] ?? '') ? '+OK\n' : NO_SUCH_CHANNEL;
    case 'originate':
      if (!a) return '-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n';
      return '-ERR SUBSCRIBER_ABSENT\n';
    default:
      return `-ERR ${cmd} Command not found!\n`;
  }
}

// ---- server ---------------------------------------------------------------------------------------------

/** Listens on `port` (0: any free one) and resolves with the port it got. */
export async function listenOn(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : port;
}

/** Polls until `count()` reaches `n` subscribers. */
export async function waitForCount(count: () => number, n: number, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (count() < n) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`no ${n} subscriber(s) within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The event names `event json …` accepts (FreeSWITCH's switch_event_types_t). */
export const KNOWN_EVENTS: ReadonlySet<string> = new Set([
  'CUSTOM', 'CLONE', 'CHANNEL_CREATE', 'CHANNEL_DESTROY', 'CHANNEL_STATE', 'CHANNEL_CALLSTATE', 'CHANNEL_ANSWER',
  'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_HOLD',
  'CHANNEL_UNHOLD', 'CHANNEL_BRIDGE', 'CHANNEL_UNBRIDGE', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_OUTGOING', 'CHANNEL_PARK', 'CHANNEL_UNPARK', 'CHANNEL_APPLICATION', 'CHANNEL_ORIGINATE', 'CHANNEL_UUID',
  'API', 'LOG', 'INBOUND_CHAN', 'OUTBOUND_CHAN', 'STARTUP', 'SHUTDOWN', 'PUBLISH', 'UNPUBLISH', 'TALK', 'NOTALK',
  'SESSION_CRASH', 'MODULE_LOAD', 'MODULE_UNLOAD', 'DTMF', 'MESSAGE', 'PRESENCE_IN', 'NOTIFY_IN', 'PRESENCE_OUT',
  'PRESENCE_PROBE', 'MESSAGE_WAITING', 'MESSAGE_QUERY', 'ROSTER', 'CODEC', 'BACKGROUND_JOB', 'DETECTED_SPEECH',
  'DETECTED_TONE', 'PRIVATE_COMMAND', 'HEARTBEAT', 'TRAP', 'ADD_SCHEDULE', 'DEL_SCHEDULE', 'EXE_SCHEDULE',
  'RE_SCHEDULE', 'RELOADXML', 'NOTIFY', 'PHONE_FEATURE', 'PHONE_FEATURE_SUBSCRIBE', 'SEND_MESSAGE', 'RECV_MESSAGE',
  'REQUEST_PARAMS', 'CHANNEL_DATA', 'GENERAL', 'COMMAND', 'SESSION_HEARTBEAT', 'CLIENT_DISCONNECTED',
  'SERVER_DISCONNECTED', 'SEND_INFO', 'RECV_INFO', 'RECV_RTCP_MESSAGE', 'SEND_RTCP_MESSAGE', 'CALL_SECURE', 'NAT',
  'RECORD_START', 'RECORD_STOP', 'PLAYBACK_START', 'PLAYBACK_STOP', 'CALL_UPDATE', 'FAILURE', 'SOCKET_DATA',
  'MEDIA_BUG_START', 'MEDIA_BUG_STOP', 'CONFERENCE_DATA_QUERY', 'CONFERENCE_DATA', 'CALL_SETUP_REQ',
  'CALL_SETUP_RESULT', 'CALL_DETAIL', 'DEVICE_STATE', 'TEXT', 'SHUTDOWN_REQUESTED', 'ALL',
]);
