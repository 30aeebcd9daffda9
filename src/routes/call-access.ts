import { Principal } from '../auth/tokens';
import { mayHearRecordings, maySeeCall } from '../auth/scope';
import { JournalReader } from '../journal/journal-reader';
import { ApiError } from './errors';

/**
 * Every view of one call goes through here, so the one scope rule (src/auth/scope.ts) is applied the same
 * way everywhere: the call itself (`GET /calls/{id}`, `POST /customers` with `callId`) through
 * `visibleCall`, its recordings, transcripts and summaries through `audibleCall`. Lists of calls (the
 * journal, a customer's history, linked-call counts) filter by `employeeScope`.
 */

/** Call ids are FreeSWITCH UUIDs (or the Job-UUID of an originate that made no channel). */
export const CALL_ID_RE = /^[0-9A-Za-z-]{1,64}$/;

/** The `:id` of a call route, or 400 naming it. */
export function callIdOf(id: string, field = 'id'): string {
  if (!CALL_ID_RE.test(id)) throw new ApiError(400, 'invalid_parameter', `${field} must be a FreeSWITCH UUID`, field);
  return id;
}

/** A call the token may see: 400 (malformed id), 404 (no such call) or 403 (not the operator's call), naming `field`. */
export async function visibleCall(reader: JournalReader, id: string, who: Principal, field = 'id') {
  const call = await reader.getCall(callIdOf(id, field));
  if (!call) throw new ApiError(404, 'not_found', `no call ${id}`, field);
  if (!maySeeCall(who, call.employees as string[])) throw new ApiError(403, 'forbidden', 'an operator sees only calls they took part in', field);
  return call;
}

/** A call whose recordings (and what is made of them) the token may hear: 400, 404 or 403 otherwise. */
export async function audibleCall(reader: JournalReader, id: string, who: Principal, integration: 'all' | 'none') {
  const call = await reader.getCall(callIdOf(id));
  if (!call) throw new ApiError(404, 'not_found', `no call ${id}`, 'id');
  if (!mayHearRecordings(who, call.employees as string[], integration)) throw new ApiError(403, 'forbidden', 'this token may not hear this call\'s recordings', 'id');
  return call;
}
