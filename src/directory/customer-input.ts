import { z } from 'zod';
import type { CountryCode } from 'libphonenumber-js';
import { fieldPath, parseWith, ValidationError } from '../validation';
import { normalizePhone, PhoneError } from './phone';

/** The shapes 1C (and the panel) send for customers, contact persons and phones; one definition for all. */

/** 1C references are GUIDs; we accept any printable id up to 64 characters without spaces or slashes. */
export const REF_RE = /^[0-9A-Za-z_.:-]{1,64}$/;
const ref = z.string().regex(REF_RE, 'must be a 1C reference (GUID): letters, digits, - _ . :, up to 64 characters');
const name = z.string().trim().min(1, 'must not be empty').max(300);
const optionalText = (max: number) => z.string().trim().max(max).nullish();

export const phoneInputSchema = z.union([
  z.string(),
  z.object({ number: z.string() }).strict(),
]);

export const contactInputSchema = z.object({
  id: ref,
  name,
  position: optionalText(200),
  phones: z.array(phoneInputSchema).max(50).default([]),
}).strict();

export const customerFieldsSchema = z.object({
  name,
  inn: optionalText(20),
  comment: optionalText(2000),
  phones: z.array(phoneInputSchema).max(100).default([]),
  contacts: z.array(contactInputSchema).max(500).default([]),
}).strict();

export const customerInputSchema = customerFieldsSchema.extend({ id: ref }).strict();

export type CustomerInput = z.infer<typeof customerInputSchema>;
export type CustomerFields = z.infer<typeof customerFieldsSchema>;

export interface PreparedPhone {
  ownerId: string;
  customerId: string;
  contactId: string | null;
  kind: 'company' | 'contact';
  e164: string;
  extension: string;
  raw: string;
}

export interface PreparedCustomer {
  id: string;
  name: string;
  inn: string | null;
  comment: string | null;
  contacts: Array<{ id: string; name: string; position: string | null }>;
  phones: PreparedPhone[];
}

export function phoneText(p: z.infer<typeof phoneInputSchema>): string {
  return typeof p === 'string' ? p : p.number;
}

/** Normalises one number, or fails naming the field it came from. */
export function preparePhone(raw: string, region: CountryCode, field: string): { e164: string; extension: string } {
  try {
    return normalizePhone(raw, region);
  } catch (e) {
    if (e instanceof PhoneError) throw new ValidationError(field, `${field}: ${e.message}`, 'invalid_phone');
    throw e;
  }
}

/** Checks and normalises customers from 1C; the first bad value stops the whole batch, naming its field. */
export function prepareCustomers(input: unknown, region: CountryCode, root: string): PreparedCustomer[] {
  const list = parseWith(z.array(customerInputSchema).max(5000, 'send at most 5000 customers per request'), input, root);
  const seenCustomers = new Set<string>();
  const seenContacts = new Set<string>();
  return list.map((c, i) => {
    const at = (...p: Array<string | number>) => fieldPath([root, i, ...p]);
    if (seenCustomers.has(c.id)) throw new ValidationError(at('id'), `customer ${c.id} appears twice in the batch`);
    seenCustomers.add(c.id);
    return prepareCustomer(c.id, c, region, at, seenContacts);
  });
}

export function prepareCustomer(
  id: string,
  c: CustomerFields,
  region: CountryCode,
  at: (...p: Array<string | number>) => string = (...p) => fieldPath(p),
  seenContacts = new Set<string>(),
): PreparedCustomer {
  const phones = new Map<string, PreparedPhone>();
  const add = (raw: string, field: string, contactId: string | null) => {
    const n = preparePhone(raw, region, field);
    const ownerId = contactId ?? id;
    phones.set(`${ownerId}|${n.e164}|${n.extension}`, {
      ownerId,
      customerId: id,
      contactId,
      kind: contactId ? 'contact' : 'company',
      e164: n.e164,
      extension: n.extension,
      raw: raw.trim().slice(0, 200),
    });
  };
  c.phones.forEach((p, j) => add(phoneText(p), at('phones', j, ...(typeof p === 'string' ? [] : ['number'])), null));
  const contacts = c.contacts.map((ct, k) => {
    if (seenContacts.has(ct.id) || ct.id === id) throw new ValidationError(at('contacts', k, 'id'), `contact person ${ct.id} appears twice`);
    seenContacts.add(ct.id);
    ct.phones.forEach((p, j) => add(phoneText(p), at('contacts', k, 'phones', j, ...(typeof p === 'string' ? [] : ['number'])), ct.id));
    return { id: ct.id, name: ct.name, position: ct.position ?? null };
  });
  return { id, name: c.name, inn: c.inn ?? null, comment: c.comment ?? null, contacts, phones: [...phones.values()] };
}
