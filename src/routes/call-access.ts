import { Principal } from '../auth/tokens';
import { mayHearRecordings } from '../auth/scope';
import { JournalReader } from '../journal/journal-reader';
import { ApiError } from './errors';

/** Call ids are FreeSWITCH UUIDs (or the Job-UUID of an originate that made no channel). */
export const CALL_ID_RE = /^[0-9A-Za-z-]{1,64}$/;

/** The `:id` of a call route, or 400 naming it. */
export function callIdOf(id: string): string {
  if (!CALL_ID_RE.test(id)) throw new ApiError(400, 'invalid_parameter', 'call id must be a FreeSWITCH UUID', 'id');
  return id;
}

/** A call whose recordings (and what is made of them) the token may hear: 400, 404 or 403 otherwise. */
export async function audibleCall(reader: JournalReader, id: string, who: Principal, integration: 'all' | 'none') {
  const call = await reader.getCall(callIdOf(id));
  if (!call) throw new ApiError(404, 'not_found', `no call ${id}`, 'id');
  if (!mayHearRecordings(who, call.employees as string[], integration)) throw new ApiError(403, 'forbidden', 'this token may not hear this call\'s recordings', 'id');
  return call;
}
