import { CallState, JournalBatch, Party, TimelineEntry } from '../calls/types';
import { LogEventInput } from './event-log';

const SHORT_NUMBER_RE = /^[0-9]{2,6}$/;

/** What every call event carries: enough for 1C to pop the right card without another request. */
export function callSummary(c: CallState): Record<string, unknown> {
  const id = c.identity;
  return {
    callId: c.id,
    direction: c.direction,
    status: c.status,
    number: c.externalNumber ?? null,
    numberE164: c.externalE164 ?? null,
    callerNumber: c.callerNumber ?? null,
    callerName: c.callerName ?? null,
    destinationNumber: c.destinationNumber ?? null,
    identification: id?.kind ?? null,
    customer: id?.customerId ? { id: id.customerId, name: id.customerName ?? '' } : null,
    contact: id?.contactId ? { id: id.contactId, name: id.contactName ?? '' } : null,
    callEmployees: Object.keys(c.employees).sort(),
    startedAt: new Date(c.startedAt).toISOString(),
    origin: c.origin ?? null,
  };
}

/** What 1C should open when an employee answers: the customer's card, or a form to create one. */
function screenPop(c: CallState): Record<string, unknown> | null {
  if (c.direction === 'internal' || !c.externalNumber) return null;
  if (c.identity?.customerId) return { action: 'open_customer', customerId: c.identity.customerId, contactId: c.identity.contactId ?? null };
  return { action: 'create_customer', number: c.externalE164 ?? c.externalNumber };
}

function partyOf(v: unknown): Party | undefined {
  return v && typeof v === 'object' ? (v as Party) : undefined;
}

/**
 * The events for 1C and the panel that a journal batch implies: ringing (to the employee whose phone
 * rings, or who started the call), answered (to who answered; with the screen pop), transferred (to both
 * ends), ended (to everyone on the call), merged. Keys derive from the timeline's deterministic keys, so
 * replays and resyncs log nothing twice.
 */
export function callEventsOf(batch: JournalBatch, callOf: (id: string) => CallState | undefined): LogEventInput[] {
  if (batch.timeline.length === 0 && batch.merges.length === 0) return [];
  const calls = new Map<string, CallState>();
  for (const c of batch.calls) calls.set(c.id, c);
  const get = (id: string) => calls.get(id) ?? callOf(id);
  const out: LogEventInput[] = [];
  for (const t of batch.timeline) {
    const c = get(t.callId);
    if (c) {
      const e = eventOf(t, c);
      if (e) out.push(e);
    }
  }
  for (const m of batch.merges) {
    const c = get(m.into);
    if (!c) continue;
    out.push({
      key: `merge:${m.from}:${m.into}`,
      type: 'call.merged',
      callId: c.id,
      employees: Object.keys(c.employees),
      data: { ...callSummary(c), mergedCallId: m.from },
    });
  }
  return out;
}

function eventOf(t: TimelineEntry, c: CallState): LogEventInput | null {
  const base = { key: `${t.key}:event`, callId: c.id, at: t.at };
  const everyone = Object.keys(c.employees);
  switch (t.kind) {
    case 'ringing': {
      const party = partyOf(t.data.party);
      if (party?.employee) {
        return { ...base, type: 'call.ringing', employees: [party.employee], data: { ...callSummary(c), leg: t.leg ?? null, role: 'caller' } };
      }
      return { ...base, type: 'call.incoming', employees: [], data: { ...callSummary(c), leg: t.leg ?? null } };
    }
    case 'leg_ringing': {
      const party = partyOf(t.data.party);
      if (party?.employee) {
        return { ...base, type: 'call.ringing', employees: [party.employee], data: { ...callSummary(c), leg: t.leg ?? null, role: 'callee' } };
      }
      // The outside party's phone rings (an outbound call): the employee who placed it was told when the call
      // started (with the number), so this is not news: one call.ringing per employee and call (captures 13, 15).
      return null;
    }
    case 'answered': {
      const party = partyOf(t.data.party);
      // The first leg's answer is the caller's own leg answered by the PBX (IVR, bridge), or the employee
      // picking up a click-to-call: the call is answered when the other side does (once per call).
      if (t.leg === c.firstLeg) return null;
      if (party?.employee) {
        return {
          ...base,
          type: 'call.answered',
          employees: [party.employee],
          data: { ...callSummary(c), leg: t.leg ?? null, answeredBy: party.employee, screenPop: screenPop(c) },
        };
      }
      // An outside party answering an outbound call is news; on an inbound call it is a forward, not an answer.
      if (c.direction === 'inbound') return null;
      return { ...base, type: 'call.answered', employees: everyone, data: { ...callSummary(c), leg: t.leg ?? null, answeredBy: null, screenPop: screenPop(c) } };
    }
    case 'transfer': {
      const from = partyOf(t.data.from);
      const to = partyOf(t.data.to);
      const employees = [from?.employee, to?.employee ?? (to?.number && SHORT_NUMBER_RE.test(to.number) ? to.number : undefined)].filter(
        (x): x is string => !!x,
      );
      return {
        ...base,
        type: 'call.transferred',
        employees,
        data: {
          ...callSummary(c),
          transferType: t.data.type ?? null,
          from: from?.employee ?? from?.number ?? null,
          to: to?.employee ?? to?.number ?? null,
        },
      };
    }
    case 'originate_failed': // a click-to-call that never rang anyone (phone unregistered, no route)
    case 'ended':
      return {
        ...base,
        type: 'call.ended',
        employees: everyone,
        data: {
          ...callSummary(c),
          status: c.status,
          hangupCause: c.hangupCause ?? null,
          endedAt: c.endedAt !== undefined ? new Date(c.endedAt).toISOString() : null,
          talkSeconds: c.answeredAt !== undefined && c.endedAt !== undefined ? Math.max(0, c.endedAt - c.answeredAt) / 1000 : 0,
          durationSeconds: c.endedAt !== undefined ? Math.max(0, c.endedAt - c.startedAt) / 1000 : null,
        },
      };
    default:
      return null;
  }
}
