import type { CountryCode } from 'libphonenumber-js';
import { Principal } from '../auth/tokens';
import { EXTENSION_RE } from '../calls/commands';
import { normalizePhone } from '../directory/phone';
import { ActionError } from './control';

/**
 * The toll-fraud guard: who may send a call to an outside number, and which numbers are outside at all
 * (TELEFONIST_TRANSFER_OUTSIDE, TELEFONIST_OUTSIDE_ALLOW; src/config.ts). One function, `checkOutside`, used
 * by blind and attended transfers (src/control/transfers.ts, before any command reaches FreeSWITCH) and by
 * click-to-call (src/calls/click-to-call.ts, the allow list only: dialling customers is what operators do).
 * Extensions (2–6 digits) are internal and never checked.
 *
 * - `mode` (transfers only): `all` anyone; `supervisor` admin, integration and supervisor-role tokens, and an
 *   operator token whose extension holds the supervisor right (the employees' rights, same as supervision);
 *   otherwise 403 `outside_transfer_forbidden`; `none` nobody: 403 `outside_transfer_forbidden` for every role.
 * - `allow` (everyone, transfers and click-to-call): E.164 prefixes (`+7495`); an outside number whose E.164
 *   form (libphonenumber, the configured region) starts with none of them is 403 `outside_number_not_allowed`.
 *   Absent: every number.
 * Both errors name the field (`target` for transfers, `number` for click-to-call).
 */

export const OUTSIDE_MODES = ['all', 'supervisor', 'none'] as const;
export type OutsideMode = (typeof OUTSIDE_MODES)[number];

export interface OutsidePolicy {
  mode: OutsideMode;
  /** E.164 prefixes an outside number must start with; absent or undefined: any number. */
  allow?: readonly string[];
  /** Whether an extension holds the supervisor right (employees' rights); absent: only the token's role counts. */
  isSupervisor?: (extension: string) => boolean | Promise<boolean>;
}

/** No restriction (today's behaviour): the default when nothing is configured. */
export const OPEN_OUTSIDE: OutsidePolicy = { mode: 'all' };

/** A target's E.164 form, or null for an extension (internal). The target has already passed validation. */
export function outsideE164(target: string, region: CountryCode): string | null {
  if (EXTENSION_RE.test(target)) return null;
  return normalizePhone(target, region).e164;
}

/**
 * Throws 403 when `e164` (an outside number; null = internal, always fine) may not be dialled.
 * `sender`: who sends a call there by transfer (the mode applies); absent (click-to-call): only the allow list.
 */
export async function checkOutside(policy: OutsidePolicy, e164: string | null, field: string, sender?: Principal): Promise<void> {
  if (e164 === null) return;
  if (sender) {
    if (policy.mode === 'none') {
      throw new ActionError(403, 'outside_transfer_forbidden', 'calls are not sent to outside numbers here (TELEFONIST_TRANSFER_OUTSIDE=none)', field);
    }
    if (policy.mode === 'supervisor' && !(await mayTransferOutside(policy, sender))) {
      throw new ActionError(403, 'outside_transfer_forbidden', 'only a supervisor, an admin or the integration may send a call to an outside number', field);
    }
  }
  if (policy.allow && !policy.allow.some((prefix) => e164.startsWith(prefix))) {
    throw new ActionError(403, 'outside_number_not_allowed', `${e164} is outside the allowed prefixes (TELEFONIST_OUTSIDE_ALLOW)`, field);
  }
}

async function mayTransferOutside(policy: OutsidePolicy, p: Principal): Promise<boolean> {
  if (p.role !== 'operator') return true;
  return !!p.employee && !!policy.isSupervisor && (await policy.isSupervisor(p.employee));
}
