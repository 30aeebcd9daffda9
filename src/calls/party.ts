import { EslEvent, header } from '../esl/event';

/**
 * Who is on a channel. Employees are directory users on the phones' sofia profiles (`internal` by
 * default): an inbound channel authenticated as `variable_user_name`, or a channel FreeSWITCH rang via
 * `user/NNNN` (`variable_dialed_user`). Gateway and other-profile channels are outside parties.
 */
export interface PartyRules {
  employeeProfiles: ReadonlySet<string>;
}

export const DEFAULT_PARTY_RULES: PartyRules = { employeeProfiles: new Set(['internal']) };

const EXTENSION_RE = /^[0-9A-Za-z_.+-]{1,32}$/;

export function profileOf(channelName: string): string | undefined {
  const m = /^sofia\/([^/]+)\//.exec(channelName);
  return m ? m[1] : undefined;
}

export function isEmployeeChannel(channelName: string, rules: PartyRules): boolean {
  if (channelName.startsWith('user/')) return true;
  if (channelName.startsWith('sofia/gateway/')) return false;
  const profile = profileOf(channelName);
  return profile !== undefined && rules.employeeProfiles.has(profile);
}

function userPart(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const at = s.indexOf('@');
  const u = at >= 0 ? s.slice(0, at) : s;
  return EXTENSION_RE.test(u) ? u : undefined;
}

export function employeeFromEvent(ev: EslEvent, channelName: string, rules: PartyRules): string | undefined {
  if (!isEmployeeChannel(channelName, rules)) return undefined;
  const direction = header(ev, 'Call-Direction');
  if (direction === 'inbound') {
    return userPart(header(ev, 'variable_user_name')) ?? userPart(header(ev, 'variable_sip_auth_username'));
  }
  return (
    userPart(header(ev, 'variable_dialed_user')) ??
    userPart(header(ev, 'Caller-Destination-Number')) ??
    userPart(channelName.replace(/^sofia\/[^/]+\//, ''))
  );
}

/** From a `show channels as json` row (no channel variables there; presence_id carries the user). */
export function employeeFromChannelRow(row: Record<string, string>, rules: PartyRules): string | undefined {
  const name = row.name ?? '';
  if (!isEmployeeChannel(name, rules)) return undefined;
  if (row.direction === 'inbound') {
    // Unauthenticated callers on the internal profile have no presence user of their own.
    return userPart(row.presence_id) ?? userPart(row.accountcode);
  }
  return userPart(row.presence_id) ?? userPart(row.dest);
}
