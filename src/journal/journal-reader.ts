import type { CountryCode } from 'libphonenumber-js';
import { Db, SqlValue } from '../db/database';
import { likeEscape } from '../db/sql';
import { DEFAULT_PHONE_REGION, isPhoneQuery, phoneQueryDigits } from '../directory/phone';
import { CallDirection, CallState, CallStatus, LegState } from '../calls/types';
import { ALIVE_MARK } from './journal-writer';

export type CallSort = 'startedAt' | '-startedAt' | 'duration' | '-duration' | 'talk' | '-talk';

export interface CallFilter {
  from?: Date;
  to?: Date;
  direction?: CallDirection[];
  status?: CallStatus[];
  employee?: string;
  /**
   * A number as a person types it (digits, spaces, + ( ) - .): a whole number in any notation finds
   * every call with that number in any of the forms it was reported in; other digits match anywhere in
   * the external, caller or destination number (phoneQueryDigits).
   */
  number?: string;
  customer?: string;
  hasRecording?: boolean;
  q?: string;
}

export interface CallPageRequest {
  filter: CallFilter;
  sort: CallSort;
  limit: number;
  cursor?: string;
}

export interface CallSummary {
  id: string;
  direction: string;
  status: string;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  ringSeconds: number | null;
  talkSeconds: number | null;
  durationSeconds: number | null;
  externalNumber: string | null;
  callerNumber: string | null;
  callerName: string | null;
  destinationNumber: string | null;
  hangupCause: string | null;
  employees: string[];
  hasRecording: boolean;
  /** Part of the call happened while Telefonist was not listening; its facts come from FreeSWITCH's snapshot. */
  uncertain: boolean;
  customerId: string | null;
  /** customer, contact, unknown; null for internal calls. */
  identification: string | null;
  customer: { id: string; name: string | null } | null;
  contact: { id: string; name: string | null } | null;
}

export interface CallPage {
  items: CallSummary[];
  nextCursor: string | null;
}

export class InvalidCursorError extends Error {}

const SORTS: Record<CallSort, { expr: string; dir: 'ASC' | 'DESC' }> = {
  startedAt: { expr: 'calls.started_at', dir: 'ASC' },
  '-startedAt': { expr: 'calls.started_at', dir: 'DESC' },
  duration: { expr: 'COALESCE(calls.duration_ms, -1)', dir: 'ASC' },
  '-duration': { expr: 'COALESCE(calls.duration_ms, -1)', dir: 'DESC' },
  talk: { expr: 'COALESCE(calls.talk_ms, -1)', dir: 'ASC' },
  '-talk': { expr: 'COALESCE(calls.talk_ms, -1)', dir: 'DESC' },
};
export const CALL_SORTS = Object.keys(SORTS) as CallSort[];

const LIST_COLUMNS = ['id', 'direction', 'status', 'started_at', 'answered_at', 'ended_at', 'ring_ms', 'talk_ms', 'duration_ms',
  'external_number', 'caller_number', 'caller_name', 'destination_number', 'hangup_cause', 'employee_list', 'has_recording', 'uncertain', 'customer_id', 'contact_id', 'identification']
  .map((c) => `calls.${c}`)
  .join(', ') + ', cust.name AS customer_name, cont.name AS contact_name';
const NAME_JOINS = 'LEFT JOIN customers cust ON cust.id = calls.customer_id LEFT JOIN contact_persons cont ON cont.id = calls.contact_id';

type Row = Record<string, unknown>;

function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'bigint' ? Number(v) : Number(v);
}
function iso(v: unknown): string | null {
  const n = num(v);
  return n === null ? null : new Date(n).toISOString();
}
function secs(v: unknown): number | null {
  const n = num(v);
  return n === null ? null : Math.round(n / 100) / 10;
}
function bool(v: unknown): boolean {
  return v === true || v === 1 || v === 1n || v === '1' || v === 't';
}
function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

export function summaryFromRow(r: Row): CallSummary {
  return {
    id: String(r.id),
    direction: String(r.direction),
    status: String(r.status),
    startedAt: iso(r.started_at)!,
    answeredAt: iso(r.answered_at),
    endedAt: iso(r.ended_at),
    ringSeconds: secs(r.ring_ms),
    talkSeconds: secs(r.talk_ms),
    durationSeconds: secs(r.duration_ms),
    externalNumber: str(r.external_number),
    callerNumber: str(r.caller_number),
    callerName: str(r.caller_name),
    destinationNumber: str(r.destination_number),
    hangupCause: str(r.hangup_cause),
    employees: String(r.employee_list ?? '').trim().split(' ').filter(Boolean),
    hasRecording: bool(r.has_recording),
    uncertain: bool(r.uncertain),
    customerId: str(r.customer_id),
    identification: str(r.identification),
    customer: r.customer_id ? { id: String(r.customer_id), name: str(r.customer_name) } : null,
    contact: r.contact_id ? { id: String(r.contact_id), name: str(r.contact_name) } : null,
  };
}

/** Reads the journal: filtered, keyset-paginated call lists for 1C, call details, live state for restore. */
export class JournalReader {
  constructor(
    private readonly db: Db,
    /** TELEFONIST_PHONE_REGION: how typed numbers are read (the writer stores under the same). */
    private readonly region: CountryCode = DEFAULT_PHONE_REGION,
    /** Employees' full names (the call detail's `employeeDetails[].name`, present when 1C synced one). */
    private readonly employeeName: (extension: string) => string | undefined = () => undefined,
  ) {}

  async listCalls(req: CallPageRequest): Promise<CallPage> {
    const { filter } = req;
    const sqlite = this.db.kind === 'sqlite';
    const where: string[] = [];
    const params: SqlValue[] = [];
    // With an employee and a time sort, walk that employee's index (extension, started_at, call_id)
    // instead of the whole journal.
    const byEmployee = !!filter.employee && (req.sort === 'startedAt' || req.sort === '-startedAt');
    const sort = byEmployee ? { expr: 'e.started_at', dir: SORTS[req.sort].dir, id: 'e.call_id' } : { ...SORTS[req.sort], id: 'calls.id' };
    if (byEmployee) {
      where.push('e.extension = ?');
      params.push(filter.employee!);
    } else if (filter.employee) {
      where.push('EXISTS (SELECT 1 FROM call_employees x WHERE x.call_id = calls.id AND x.extension = ?)');
      params.push(filter.employee);
    }
    const startCol = byEmployee ? 'e.started_at' : 'calls.started_at';
    // Sorted by talk or duration, SQLite would pick the (status|direction, started_at) index and sort
    // hundreds of thousands of rows; a unary + keeps those low-selectivity filters off the index so the
    // sort-key index is walked instead.
    const noIdx = sqlite && !req.sort.endsWith('startedAt') ? '+' : '';
    if (filter.from) {
      where.push(`${startCol} >= ?`);
      params.push(BigInt(filter.from.getTime()));
    }
    if (filter.to) {
      where.push(`${startCol} < ?`);
      params.push(BigInt(filter.to.getTime()));
    }
    if (filter.direction?.length) {
      where.push(`${noIdx}calls.direction IN (${filter.direction.map(() => '?').join(', ')})`);
      params.push(...filter.direction);
    }
    if (filter.status?.length) {
      where.push(`${noIdx}calls.status IN (${filter.status.map(() => '?').join(', ')})`);
      params.push(...filter.status);
    }
    const digits = filter.number === undefined ? undefined : phoneQueryDigits(filter.number, this.region);
    if (digits) {
      // Digits only: no LIKE escaping needed. One pattern, however the number was typed: the stored
      // forms hold every number's E.164 digits. SQLite answers 3+ characters from the trigram FTS
      // index; PostgreSQL's planner uses the pg_trgm index on its own.
      if (sqlite && digits.length >= 3) {
        where.push('calls.rowid IN (SELECT rowid FROM calls_fts WHERE calls_fts.numbers LIKE ?)');
      } else {
        where.push('calls.numbers LIKE ?');
      }
      params.push(`%${digits}%`);
    }
    if (filter.customer) {
      where.push('calls.customer_id = ?');
      params.push(filter.customer);
    }
    if (filter.hasRecording !== undefined) {
      where.push('calls.has_recording = ?');
      params.push(sqlite ? (filter.hasRecording ? 1 : 0) : filter.hasRecording);
    }
    if (filter.q) {
      // Text that a person types for a number (digits with + ( ) - . and spaces: "4567", "123-45-67",
      // "+7 916 123-45-67") is searched as a number: a whole number in any notation the way the number
      // filter searches it, partial digits as typed, and never inside the call id (a random uuid holds
      // "4567" often enough to put strangers' calls in the list). Any other text (names, causes, call-id
      // fragments such as "8cec2049") is searched as typed, the id included. The search text starts
      // with the id and a space (searchText in journal-writer.ts).
      const phoneLike = isPhoneQuery(filter.q);
      const q = phoneLike ? phoneQueryDigits(filter.q, this.region)! : filter.q.toLowerCase();
      const fts = sqlite && q.length >= 3 && !/[%_\\]/.test(q);
      if (fts) {
        where.push('calls.rowid IN (SELECT rowid FROM calls_fts WHERE calls_fts.search LIKE ?)');
        params.push(`%${q}%`);
      }
      if (phoneLike) {
        where.push(`substr(calls.search, length(calls.id) + 2) LIKE ?`);
        params.push(`%${q}%`);
      } else if (!fts) {
        where.push(`calls.search LIKE ? ESCAPE '\\'`);
        params.push(`%${likeEscape(q)}%`);
      }
    }
    const cmp = sort.dir === 'DESC' ? '<' : '>';
    if (req.cursor) {
      const c = decodeCursor(req.cursor, req.sort);
      where.push(`(${sort.expr} ${cmp} ? OR (${sort.expr} = ? AND ${sort.id} ${cmp} ?))`);
      params.push(BigInt(c.v), BigInt(c.v), c.id);
    }
    const from = byEmployee ? 'call_employees e JOIN calls ON calls.id = e.call_id' : 'calls';
    const sql = `SELECT ${LIST_COLUMNS}, ${sort.expr} AS sort_key FROM ${from} ${NAME_JOINS}
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${sort.expr} ${sort.dir}, ${sort.id} ${sort.dir} LIMIT ${req.limit + 1}`;
    const rows = await this.db.query<Row>(sql, params);
    const more = rows.length > req.limit;
    const page = rows.slice(0, req.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(summaryFromRow),
      nextCursor: more && last ? encodeCursor(req.sort, Number(last.sort_key as bigint), String(last.id)) : null,
    };
  }

  /** Resolves a merged call id to the call it became part of. */
  async resolveId(id: string): Promise<string> {
    const alias = await this.db.prisma.callAlias.findUnique({ where: { aliasId: id } });
    return alias ? alias.callId : id;
  }

  async getCall(id: string) {
    const callId = await this.resolveId(id);
    const call = await this.db.prisma.call.findUnique({
      where: { id: callId },
      include: {
        legs: { orderBy: { createdAt: 'asc' } },
        employees: { orderBy: { extension: 'asc' } },
        timeline: { orderBy: [{ at: 'asc' }, { id: 'asc' }] },
        recordings: { orderBy: { startedAt: 'asc' } },
      },
    });
    if (!call) return null;
    const summary = summaryFromRow({
      id: call.id,
      direction: call.direction,
      status: call.status,
      started_at: call.startedAt,
      answered_at: call.answeredAt,
      ended_at: call.endedAt,
      ring_ms: call.ringMs,
      talk_ms: call.talkMs,
      duration_ms: call.durationMs,
      external_number: call.externalNumber,
      caller_number: call.callerNumber,
      caller_name: call.callerName,
      destination_number: call.destinationNumber,
      hangup_cause: call.hangupCause,
      employee_list: call.employeeList,
      has_recording: call.hasRecording,
      uncertain: call.uncertain,
      customer_id: call.customerId,
      contact_id: call.contactId,
      identification: call.identification,
      customer_name: call.customerId ? (await this.db.prisma.customer.findUnique({ where: { id: call.customerId }, select: { name: true } }))?.name : null,
      contact_name: call.contactId ? (await this.db.prisma.contactPerson.findUnique({ where: { id: call.contactId }, select: { name: true } }))?.name : null,
    });
    const timeline = call.timeline.map((t) => ({
      at: new Date(Number(t.at)).toISOString(),
      kind: t.kind,
      leg: t.leg,
      ...(JSON.parse(t.data) as Record<string, unknown>),
    }));
    return {
      ...summary,
      requestedId: id !== callId ? id : undefined,
      originJob: call.originJob,
      // Click-to-call: where 1C started it (the first leg's telefonist_origin_*, kept on the ringing entry).
      origin: (timeline.find((t) => t.kind === 'ringing' && (t as Record<string, unknown>).origin) as Record<string, unknown> | undefined)?.origin ?? null,
      employeeDetails: call.employees.map((e) => {
        const name = this.employeeName(e.extension);
        return { extension: e.extension, ...(name ? { name } : {}), role: e.role, answered: e.answered };
      }),
      legs: call.legs.map((l) => ({
        uuid: l.uuid,
        direction: l.fsDirection,
        channel: l.channelName,
        employee: l.employee,
        number: l.number,
        name: l.name,
        destination: l.destination,
        role: l.role,
        createdAt: iso(l.createdAt),
        answeredAt: iso(l.answeredAt),
        endedAt: iso(l.endedAt),
        hangupCause: l.hangupCause,
      })),
      transferRoute: timeline.filter((t) => t.kind === 'transfer'),
      timeline,
      recordings: call.recordings.map((r, i) => ({
        url: `/api/v1/calls/${call.id}/recordings/${i}`,
        path: r.path,
        leg: r.leg,
        startedAt: iso(r.startedAt),
        stoppedAt: iso(r.stoppedAt),
        seconds: r.seconds,
        stereo: r.stereo,
      })),
    };
  }

  /** Live (not final) calls with all their legs, for the tracker after a restart. */
  /**
   * The live calls and legs the journal holds, and `aliveMark`: until when (ms, FreeSWITCH clock) the ESL
   * link last showed every live leg alive (journal_marks, written by JournalWriter.markAlive).
   */
  async liveState(): Promise<{ calls: CallState[]; legs: LegState[]; aliveMark?: number }> {
    const mark = await this.db.query<{ at: bigint | number }>('SELECT at FROM journal_marks WHERE name = ?', [ALIVE_MARK]);
    const aliveMark = mark.length ? Number(mark[0].at) : undefined;
    const rows = await this.db.query<{ live_state: string | null }>('SELECT live_state FROM calls WHERE NOT final');
    const calls = rows.filter((r) => r.live_state).map((r) => JSON.parse(r.live_state!) as CallState);
    if (calls.length === 0) return { calls, legs: [], aliveMark };
    const legs: LegState[] = [];
    for (let i = 0; i < calls.length; i += 500) {
      const ids = calls.slice(i, i + 500).map((c) => c.id);
      const lr = await this.db.query<{ state: string | null }>(
        `SELECT state FROM call_legs WHERE call_id IN (${ids.map(() => '?').join(', ')})`,
        ids,
      );
      for (const r of lr) if (r.state) legs.push(JSON.parse(r.state) as LegState);
    }
    return { calls, legs, aliveMark };
  }

  async countCalls(): Promise<number> {
    const r = await this.db.query<{ n: bigint | number }>('SELECT COUNT(*) AS n FROM calls');
    return Number(r[0]?.n ?? 0);
  }
}

export function encodeCursor(sort: CallSort, v: number, id: string): string {
  return Buffer.from(JSON.stringify({ s: sort, v, id })).toString('base64url');
}

export function decodeCursor(cursor: string, sort: CallSort): { v: number; id: string } {
  try {
    const o = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { s?: string; v?: unknown; id?: unknown };
    if (o.s !== sort) throw new InvalidCursorError('cursor belongs to another sort order');
    if (typeof o.v !== 'number' || !Number.isSafeInteger(o.v) || typeof o.id !== 'string' || o.id.length > 200) {
      throw new InvalidCursorError('cursor is malformed');
    }
    return { v: o.v, id: o.id };
  } catch (e) {
    if (e instanceof InvalidCursorError) throw e;
    throw new InvalidCursorError('cursor is malformed');
  }
}
