import { CallState, CallStatus, LegState } from './types';

const BUSY = new Set(['USER_BUSY']);
const NO_ANSWER = new Set(['NO_ANSWER', 'NO_USER_RESPONSE', 'ALLOTTED_TIMEOUT', 'PROGRESS_TIMEOUT', 'RECOVERY_ON_TIMER_EXPIRE']);
const FAILED = new Set([
  'SUBSCRIBER_ABSENT',
  'USER_NOT_REGISTERED',
  'UNALLOCATED_NUMBER',
  'NO_ROUTE_DESTINATION',
  'NO_ROUTE_TRANSIT_NET',
  'NORMAL_TEMPORARY_FAILURE',
  'NETWORK_OUT_OF_ORDER',
  'DESTINATION_OUT_OF_ORDER',
  'INVALID_NUMBER_FORMAT',
  'INCOMPATIBLE_DESTINATION',
  'GATEWAY_DOWN',
  'MANDATORY_IE_MISSING',
  'SERVICE_UNAVAILABLE',
  'FACILITY_NOT_SUBSCRIBED',
  'BEARERCAPABILITY_NOTAVAIL',
  'EXCHANGE_ROUTING_ERROR',
  'MEDIA_TIMEOUT',
]);

/**
 * The final status of a call from its legs. One rule for the journal, the API and the panel:
 * answered when two parties talked; otherwise busy / no_answer / failed by the callee's hangup cause,
 * abandoned when the caller gave up while it rang (inbound, internal), missed when nobody picked up.
 */
export function finalStatus(call: CallState, legs: LegState[]): CallStatus {
  if (call.answeredAt) return 'answered';
  const others = legs.filter((l) => l.uuid !== call.firstLeg && l.role === 'party');
  const first = legs.find((l) => l.uuid === call.firstLeg);
  const causes = [...others, ...(first ? [first] : [])].map((l) => l.hangupCause ?? '');
  if (causes.some((c) => BUSY.has(c))) return 'busy';
  if (causes.some((c) => FAILED.has(c))) return 'failed';
  const firstIsCaller = first !== undefined && !first.originated;
  if (call.direction === 'outbound' || !firstIsCaller) {
    return 'no_answer';
  }
  if (others.some((l) => NO_ANSWER.has(l.hangupCause ?? ''))) return 'missed';
  // The caller hung up first (or the dialplan ended a call nobody took).
  const firstHangup = legs.filter((l) => l.endedAt !== undefined).sort((a, b) => a.endedAt! - b.endedAt!)[0];
  if (firstHangup && firstHangup.uuid === call.firstLeg && first?.hangupDisposition !== 'send_bye') return 'abandoned';
  return 'missed';
}
