import type { CountryCode } from 'libphonenumber-js';
import { DialFormat, dialNumber, normalizePhone, PhoneError } from '../directory/phone';
import { EXTENSION_RE, valid } from '../calls/commands';
import { ActionError, Actor, Control } from './control';
import type { CallState, LegState } from '../calls/types';
import { BlindWatch } from './blind-watch';
import type { OutsidePolicy } from './outside-policy';

/** The transfer resource's shapes and states (the state machine and the commands: src/control/transfers.ts). */

/**
 * The states of a transfer. Blind: starting → ringback → completed | failed | abandoned (src/control/blind-watch.ts).
 * Attended (`flow: attended`, FreeSWITCH's own att_xfer application run on the operator's leg, capture 05b):
 *  starting   `uuid_setvar_multi` recording_follow_transfer / recording_follow_attxfer on both legs, then
 *             `uuid_broadcast <operator leg> att_xfer::{origination_uuid=<consult>,…,telefonist_transfer=<id>}
 *             user/<colleague> aleg`: the customer waits on soft hold (music), att_xfer dials the colleague
 *             from the operator's leg (the operator hears the ringback);
 *  ringback   the consult leg shows up (CHANNEL_CREATE / PROGRESS with our origination_uuid or
 *             variable_telefonist_transfer): the colleague's phone rings showing the operator's extension;
 *  answered   CHANNEL_ANSWER of that leg (att_xfer bridges it to the operator's leg): operator and colleague talk;
 *  completed  PUT …/complete: `uuid_kill <operator leg>`; att_xfer bridges the customer to the colleague,
 *             confirmed by the CHANNEL_BRIDGE customer↔colleague (capture 05b). The operator hanging up their
 *             own phone while talking to the colleague completes it the same way (that is what att_xfer does).
 *             During ringback it becomes blind: the colleague's ringing leg is cancelled (att_xfer returns the
 *             operator to the customer) and the customer `uuid_transfer`red to them; from then on it goes as a
 *             blind transfer does (ringback → completed | failed | abandoned);
 *  cancelled  DELETE, or the colleague hung up after answering: `uuid_kill <colleague>`; att_xfer returns and
 *             the operator is back with the customer;
 *  abandoned  the customer (or, before the colleague answered, the operator) hung up: the colleague's leg is
 *             cancelled;
 *  failed     FreeSWITCH refused a step, or the colleague did not answer (the consult leg ends USER_BUSY,
 *             NO_ANSWER after `timeoutSeconds`, CALL_REJECTED…; or att_xfer returns without one, its
 *             originate_disposition): att_xfer returns the operator to the customer; `cause` says why.
 */
export const TRANSFER_STATES = ['starting', 'ringback', 'answered', 'completed', 'cancelled', 'abandoned', 'failed'] as const;
export type TransferState = (typeof TRANSFER_STATES)[number];

export interface TransferRequest {
  callId: string;
  initiator: string;
  target: string;
  flow: 'attended' | 'blind';
  timeoutSeconds: number;
}

export interface Transfer {
  id: string;
  callId: string;
  flow: 'attended' | 'blind';
  initiator: string;
  /** As asked (extension or number) and as dialled. */
  target: string;
  dial: string;
  state: TransferState;
  /** Completed as blind (the flow, or completion while the colleague still rang). */
  blind: boolean;
  /** Why it ended when not completed (who hung up, FreeSWITCH's cause). */
  cause: string | null;
  transferredLeg: string;
  initiatorLeg: string;
  targetLeg: string | null;
  timeoutSeconds: number;
  createdAt: string;
  updatedAt: string;
  by: Actor;
}

/** A transfer in progress with what its state machine needs (src/control/transfers.ts). */
export interface Live {
  t: Transfer;
  timer?: NodeJS.Timeout;
  /** Legs we hang up ourselves: their CHANNEL_HANGUP is no news. */
  killing: Set<string>;
  /** The operator's leg is gone (our uuid_kill or their own hang-up): att_xfer is to bridge customer↔colleague. */
  completing?: boolean;
  /** Completing as blind (the colleague still rang): att_xfer's return is expected. */
  blinding?: boolean;
  /** Handed over blind (uuid_transfer sent): what the dialplan's new leg does decides. */
  blind?: BlindWatch;
  /** Waiters for the end of the transfer (complete waits for the bridge). */
  waiters: Array<() => void>;
  done?: boolean;
}

/** How long complete waits for att_xfer's bridge after the operator's leg went (capture 05b: ~60 ms). */
export const BRIDGE_WAIT_MS = 5000;

export interface TransferOptions {
  region: CountryCode;
  format: DialFormat;
  context: string;
  /** The toll-fraud guard (src/control/outside-policy.ts); absent: no restriction. */
  outside?: OutsidePolicy;
}

/** A transfer's target: an extension as it is; a number in any notation normalised and put in the dial format (400 naming `target` otherwise). */
export function dialOf(target: string, opts: { region: CountryCode; format: DialFormat }): string {
  if (typeof target !== 'string') throw new ActionError(400, 'invalid_parameter', 'target must be an extension or a phone number', 'target');
  if (EXTENSION_RE.test(target)) return target;
  if (!/^[+0-9 ()-]{7,32}$/.test(target)) throw new ActionError(400, 'invalid_parameter', 'target must be an extension (2 to 6 digits) or a phone number', 'target');
  try {
    return valid.dial('target', dialNumber(normalizePhone(target, opts.region).e164, opts.format));
  } catch (e) {
    if (e instanceof PhoneError) throw new ActionError(400, 'invalid_phone', `target: ${e.message}`, 'target');
    throw e;
  }
}

/** The leg a transfer sends on: the operator's partner or — while the operator's phone still rings — the caller whose bridge rings it. */
export function transferredLeg(control: Control, call: CallState, agent: LegState): LegState | undefined {
  if (agent.partner) return control.leg(agent.partner);
  // The operator's phone still rings: the leg whose bridge rings it (the caller).
  const anchor = control.leg(call.anchorLeg) ?? control.leg(call.firstLeg);
  return anchor && anchor.uuid !== agent.uuid ? anchor : undefined;
}
