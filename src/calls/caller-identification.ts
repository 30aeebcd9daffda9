import type { CountryCode } from 'libphonenumber-js';
import { Directory } from '../directory/directory';
import { CallerIdentity } from '../directory/identity-cache';
import { lookupKey } from '../directory/phone';
import { CallIdentity, CallState } from './types';

export function toCallIdentity(id: CallerIdentity): CallIdentity {
  const out: CallIdentity = { kind: id.kind };
  if (id.customer) {
    out.customerId = id.customer.id;
    out.customerName = id.customer.name;
  }
  if (id.contact) {
    out.contactId = id.contact.id;
    out.contactName = id.contact.name;
  }
  return out;
}

/**
 * Puts the directory's answer on a call: the external party of an inbound call (caller id) or of an
 * outbound call (the dialled number). Synchronous when the number is in the identity cache.
 */
export class CallerIdentification {
  constructor(
    private readonly directory: Directory,
    private readonly region: CountryCode,
  ) {}

  /** Identifies the call if its external number changed since the last look; `targets` get the result. */
  identify(c: CallState, ...also: Array<CallState | undefined>): void | Promise<void> {
    const raw = c.direction === 'internal' ? undefined : c.externalNumber;
    if (c.identifiedNumber === raw && (raw === undefined || c.identity)) return;
    const targets = [c, ...also.filter((x): x is CallState => !!x && x !== c)];
    const set = (fields: Pick<CallState, 'externalE164' | 'identity' | 'identifiedNumber'>) => {
      for (const t of targets) Object.assign(t, fields);
    };
    if (raw === undefined) {
      set({ identifiedNumber: undefined, externalE164: undefined, identity: undefined });
      return;
    }
    const key = lookupKey(raw, this.region);
    if (!key) {
      set({ identifiedNumber: raw, externalE164: undefined, identity: { kind: 'unknown' } });
      return;
    }
    const hit = this.directory.cache.peek(key);
    if (hit) {
      set({ identifiedNumber: raw, externalE164: key, identity: toCallIdentity(hit) });
      return;
    }
    return this.directory.identify(key).then(
      (id) => set({ identifiedNumber: raw, externalE164: key, identity: toCallIdentity(id) }),
      // The directory is unreachable: the call goes on unknown for now and is looked up again on its next event.
      () => set({ identifiedNumber: undefined, externalE164: key, identity: { kind: 'unknown' } }),
    );
  }
}
