import { ALL_DIRECTIONS, ALL_STATUSES, CallDirection, CallStatus } from '../calls/types';
import { CALL_SORTS, CallPageRequest, CallSort } from '../journal/journal-reader';
import { bad, dateParam, intParam, list, QueryParam, rejectUnknown, single } from './query';
export type { QueryParam } from './query';

const EXT_RE = /^[0-9A-Za-z_.+-]{1,32}$/;

export const CALL_LIST_PARAMS: QueryParam[] = [
  { name: 'from', description: 'Calls that started at or after this moment (ISO 8601).', schema: { type: 'string', format: 'date-time' } },
  { name: 'to', description: 'Calls that started before this moment (ISO 8601).', schema: { type: 'string', format: 'date-time' } },
  { name: 'direction', description: 'Comma-separated: inbound, outbound, internal.', schema: { type: 'string', example: 'inbound,outbound' } },
  { name: 'status', description: `Comma-separated: ${ALL_STATUSES.join(', ')}.`, schema: { type: 'string', example: 'missed,abandoned' } },
  { name: 'employee', description: 'Extension of an employee who took part (rang, answered, transferred, listened).', schema: { type: 'string', pattern: EXT_RE.source } },
  {
    name: 'number',
    description: 'A phone number as people write it: a whole number in any notation (+79161234567, 79161234567, 8 (916) 123-45-67, '
      + '916 123-45-67) finds every call with that number as external, caller or destination number, whichever form FreeSWITCH '
      + 'reported it in; fewer digits (1234567, 4567) are found anywhere in those numbers. Spaces and + ( ) - . are allowed.',
    schema: { type: 'string', example: '8 (916) 123-45-67' },
  },
  { name: 'customer', description: 'Customer id (1C reference) the call is linked to.', schema: { type: 'string' } },
  { name: 'hasRecording', description: 'true: only calls with a recording; false: only without.', schema: { type: 'boolean' } },
  { name: 'q', description: 'Free text: name, employee, status, hangup cause, call id. Text of digits and + ( ) - . only is a number (in any notation, as for `number`; partial digits as typed) and is not searched inside call ids; a call-id fragment needs its letters (`8cec2049`) or the whole uuid.', schema: { type: 'string', maxLength: 200 } },
  { name: 'sort', description: 'startedAt, -startedAt (default), duration, -duration, talk, -talk.', schema: { type: 'string', enum: CALL_SORTS } },
  { name: 'limit', description: 'Page size, 1..500 (default 50).', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
  { name: 'cursor', description: 'nextCursor of the previous page; pages stay stable while new calls arrive.', schema: { type: 'string' } },
];

const KNOWN = new Set(CALL_LIST_PARAMS.map((p) => p.name));


export function parseCallListQuery(query: Record<string, unknown>): CallPageRequest {
  rejectUnknown(query, KNOWN);
  const from = dateParam(query, 'from');
  const to = dateParam(query, 'to');
  if (from && to && from >= to) throw bad('to', 'to must be later than from');
  const employee = single(query, 'employee');
  if (employee !== undefined && !EXT_RE.test(employee)) throw bad('employee', 'employee must be an extension (letters, digits, ._+-; up to 32)');
  let number = single(query, 'number');
  if (number !== undefined) {
    if (!/^[\d\s()+\-.]+$/.test(number)) throw bad('number', 'number may contain only digits, spaces and + ( ) - .');
    const digits = number.replace(/\D/g, '').length;
    if (digits === 0 || digits > 20) throw bad('number', 'number must contain 1 to 20 digits');
    number = number.trim();
  }
  const customer = single(query, 'customer');
  if (customer !== undefined && (customer.length === 0 || customer.length > 100)) throw bad('customer', 'customer must be 1..100 characters');
  const hr = single(query, 'hasRecording');
  let hasRecording: boolean | undefined;
  if (hr !== undefined) {
    if (!['true', 'false', '1', '0'].includes(hr)) throw bad('hasRecording', 'hasRecording must be true or false');
    hasRecording = hr === 'true' || hr === '1';
  }
  const q = single(query, 'q');
  if (q !== undefined && (q.trim().length === 0 || q.length > 200)) throw bad('q', 'q must be 1..200 characters');
  const sort = (single(query, 'sort') ?? '-startedAt') as CallSort;
  if (!CALL_SORTS.includes(sort)) throw bad('sort', `sort must be one of ${CALL_SORTS.join(', ')}`);
  const limit = intParam(query, 'limit', 1, 500, 50);
  const cursor = single(query, 'cursor');
  if (cursor !== undefined && (cursor.length === 0 || cursor.length > 500)) throw bad('cursor', 'cursor is malformed');
  return {
    filter: {
      from,
      to,
      direction: list<CallDirection>(query, 'direction', ALL_DIRECTIONS),
      status: list<CallStatus>(query, 'status', ALL_STATUSES),
      employee,
      number,
      customer,
      hasRecording,
      q: q?.trim(),
    },
    sort,
    limit,
    cursor,
  };
}
