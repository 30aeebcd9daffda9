import type { CountryCode } from 'libphonenumber-js';
import { DialFormat, dialNumber, normalizePhone, PhoneError } from '../directory/phone';
import { EXTENSION_RE, valid } from '../calls/commands';
import { ActionError, Actor } from './control';
import { BlindWatch } from './blind-watch';

/** The transfer resource's shapes (src/control/transfers.ts has the state machine and its documentation). */

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
