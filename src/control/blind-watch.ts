import { EslEvent, header } from '../esl/event';

/**
 * What a blind hand-over waits for once FreeSWITCH accepted `uuid_transfer <customer leg> <target> XML <ctx>`
 * (src/control/transfers.ts). FreeSWITCH says nothing about the transfer itself (captures 04, 12): the
 * customer's leg runs the dialplan again and its `bridge` creates a new leg that carries the customer's leg as
 * `variable_originating_leg_uuid` (and `Other-Type: originator`, `Other-Leg-Unique-ID`) from its first event.
 *
 *  - that new leg shows up (CREATE / OUTGOING / PROGRESS): the target rings → `ringing` (the transfer's ringback);
 *  - it answers (CHANNEL_ANSWER), or the customer's leg is bridged to a new leg → `answered` (completed);
 *  - the last new leg ends unanswered (capture 11: USER_BUSY at once; 16: NO_ANSWER after the dialplan's
 *    call_timeout; CALL_REJECTED…) → `failed` with its Hangup-Cause;
 *  - the customer's leg ends first: with the cause of a new leg that already failed, or with a cause of its
 *    own that is not a caller's hang-up (no channel at all: USER_NOT_REGISTERED, SUBSCRIBER_ABSENT,
 *    NO_ROUTE_DESTINATION…) → `failed`; a caller's hang-up (NORMAL_CLEARING, ORIGINATOR_CANCEL) → `abandoned`.
 * Legs that existed when the command was sent (the released operator, other phones of a ring group, a
 * cancelled consult leg) are never the new leg.
 */
export interface BlindWatch {
  /** Legs that existed when uuid_transfer was sent. */
  before: Set<string>;
  /** New legs the dialplan rang for the customer and that still ring. */
  ringing: Set<string>;
  /** Why the last new leg ended unanswered. */
  cause?: string;
}

export type BlindStep =
  | { kind: 'ringing'; leg: string }
  | { kind: 'answered'; leg: string }
  | { kind: 'failed'; cause: string }
  | { kind: 'abandoned'; cause: string };

/** Hang-up causes of a caller who simply hung up (anything else on the customer's leg is the dialplan's failure). */
const CALLER_HUNG_UP: ReadonlySet<string> = new Set(['NORMAL_CLEARING', 'ORIGINATOR_CANCEL']);

export function blindWatch(before: Iterable<string>): BlindWatch {
  return { before: new Set(before), ringing: new Set() };
}

/** One channel event seen while the customer leg `transferred` is handed over: what it means, or null. */
export function blindStep(w: BlindWatch, transferred: string, ev: EslEvent): BlindStep | null {
  const uuid = header(ev, 'Unique-ID');
  if (!uuid) return null;
  if (uuid === transferred) {
    if (ev.name === 'CHANNEL_BRIDGE') {
      const other = header(ev, 'Bridge-B-Unique-ID') === transferred ? header(ev, 'Bridge-A-Unique-ID') : header(ev, 'Bridge-B-Unique-ID');
      return other && !w.before.has(other) ? { kind: 'answered', leg: other } : null;
    }
    if (ev.name !== 'CHANNEL_HANGUP') return null;
    const cause = header(ev, 'Hangup-Cause') ?? 'NORMAL_CLEARING';
    if (w.cause) return { kind: 'failed', cause: w.cause };
    return CALLER_HUNG_UP.has(cause) ? { kind: 'abandoned', cause: `customer hung up (${cause})` } : { kind: 'failed', cause };
  }
  if (w.before.has(uuid)) return null;
  const origin = header(ev, 'variable_originating_leg_uuid') ?? (header(ev, 'Other-Type') === 'originator' ? header(ev, 'Other-Leg-Unique-ID') : undefined);
  if (origin !== transferred && !w.ringing.has(uuid)) return null;
  switch (ev.name) {
    case 'CHANNEL_ANSWER':
      w.ringing.delete(uuid);
      return { kind: 'answered', leg: uuid };
    case 'CHANNEL_HANGUP': {
      // Once answered (the ANSWER was missed) a hang-up is no failure of the transfer: the next step decides.
      w.ringing.delete(uuid);
      if ((header(ev, 'Caller-Channel-Answered-Time') ?? '0') !== '0') return null;
      w.cause = header(ev, 'Hangup-Cause') ?? 'NORMAL_CLEARING';
      return w.ringing.size === 0 ? { kind: 'failed', cause: w.cause } : null;
    }
    case 'CHANNEL_DESTROY':
    case 'CHANNEL_HANGUP_COMPLETE':
      return null;
    default:
      if (w.ringing.has(uuid)) return null;
      w.ringing.add(uuid);
      return { kind: 'ringing', leg: uuid };
  }
}
