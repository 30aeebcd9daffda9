import { CountryCode, findPhoneNumbersInText, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** A phone number as the directory keeps it: E.164 for lookups, the extension apart. */
export interface NormalizedPhone {
  e164: string;
  extension: string;
  /** The country the number belongs to (RU, KZ ...), when known. */
  country?: string;
}

export class PhoneError extends Error {}

/** TELEFONIST_PHONE_REGION's default: the country of numbers written without one. */
export const DEFAULT_PHONE_REGION: CountryCode = 'RU';

export function assertRegion(region: string): CountryCode {
  if (!isSupportedCountry(region)) throw new PhoneError(`unknown phone region ${JSON.stringify(region)} (use an ISO code such as RU)`);
  return region as CountryCode;
}

const MAX_INPUT = 200;

/**
 * Normalises a phone as a person or 1C wrote it: `8 (495) 123-45-67`, `+7 495 1234567`, `74951234567`,
 * a number with text around it (pasted from an e-mail), `... доб. 123` / `ext 12`. Throws PhoneError
 * with a message for the user when the text holds no valid phone number.
 */
export function normalizePhone(input: string, region: CountryCode): NormalizedPhone {
  if (typeof input !== 'string') throw new PhoneError('must be a string');
  const text = input.trim();
  if (!text) throw new PhoneError('is empty');
  if (text.length > MAX_INPUT) throw new PhoneError(`is longer than ${MAX_INPUT} characters`);
  const direct = parsePhoneNumberFromString(text, region);
  if (direct?.isValid()) return result(direct.number, direct.ext, direct.country);
  // Text around the number: take the first valid number found in it.
  const found = findPhoneNumbersInText(text, region).find((f) => f.number.isValid());
  if (found) return result(found.number.number, found.number.ext, found.number.country);
  // 11 digits starting with 7 or 8 without a plus are Russian/Kazakh numbers written the 1C way.
  const digits = text.replace(/\D/g, '');
  if (digits.length === 11 && /^[78]/.test(digits)) {
    const ru = parsePhoneNumberFromString(`+7${digits.slice(1)}`);
    if (ru?.isValid()) return result(ru.number, ru.ext, ru.country);
  }
  throw new PhoneError(`${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)} is not a phone number`);
}

function result(e164: string, ext: string | undefined, country: string | undefined): NormalizedPhone {
  const out: NormalizedPhone = { e164, extension: ext ?? '' };
  if (country) out.country = country;
  return out;
}

/**
 * The lookup key of a number FreeSWITCH reports (caller id, dialled number): E.164 when it is a real
 * phone number, undefined for extensions, short codes, anonymous and garbage. Never throws.
 */
export function lookupKey(raw: string | undefined, region: CountryCode): string | undefined {
  if (!raw) return undefined;
  const s = raw.trim();
  if (s.length < 5 || s.length > 40) return undefined;
  if (!/^\+?[0-9 ()-]+$/.test(s)) return undefined;
  try {
    return normalizePhone(s, region).e164;
  } catch {
    return undefined;
  }
}

/** The national dialling digits of an E.164 number (+79161234567 → 89161234567); '' when unknown. */
export function nationalDigits(e164: string): string {
  const p = parsePhoneNumberFromString(e164);
  return p ? p.formatNational().replace(/\D/g, '') : '';
}

/**
 * Changes whenever the rules below would store a different text for the same raw number: the journal
 * keeps it beside each call's stored forms, and a start-up backfill redoes calls stored under another.
 */
export function phoneFormsVersion(region: CountryCode): string {
  return `1:${region}`;
}

/**
 * The forms a stored number is found by: the raw text as FreeSWITCH reported it and, when it is a real
 * phone number, its E.164 digits (79161234567) and national digits (89161234567); a form that is
 * already inside another is left out. `e164` is the lookup key (lookupKey).
 */
export function phoneForms(raw: string | undefined, region: CountryCode): PhoneForms {
  if (!raw) return NO_FORMS;
  const key = `${region}|${raw}`;
  const hit = formsCache.get(key);
  if (hit) return hit;
  const e164 = lookupKey(raw, region);
  const out: PhoneForms = e164 ? { e164, forms: withoutContained([raw, e164.slice(1), nationalDigits(e164)]) } : { forms: [raw] };
  // The journal writes a live call's numbers on every change: parse each number once, not every time.
  if (formsCache.size >= FORMS_CACHE_SIZE) formsCache.delete(formsCache.keys().next().value as string);
  formsCache.set(key, out);
  return out;
}

export interface PhoneForms {
  readonly e164?: string;
  readonly forms: readonly string[];
}
const NO_FORMS: PhoneForms = { forms: [] };
const FORMS_CACHE_SIZE = 10_000;
const formsCache = new Map<string, PhoneForms>();

/** Distinct, non-empty texts, each not a substring of another (the first of equal texts stays). */
export function withoutContained(texts: Array<string | undefined>): string[] {
  const list = texts.filter((t): t is string => !!t);
  return list.filter((t, i) => !list.some((o, j) => j !== i && o.includes(t) && (o.length > t.length || j < i)));
}

/** What a person types to search numbers: digits, spaces and + ( ) - . only. */
export const PHONE_QUERY_RE = /^[\d\s()+\-.]+$/;

/** A search text that is a number being typed: PHONE_QUERY_RE's characters only, with at least one digit. */
export function isPhoneQuery(q: string): boolean {
  return PHONE_QUERY_RE.test(q) && /\d/.test(q);
}

/**
 * The digits to look for inside stored number forms (phoneForms) when a person typed a whole number in
 * any notation (+7 916 123-45-67, 79161234567, 8 (916) 123-45-67, 916 123 45 67): its E.164 digits, which
 * every stored form of that number contains, or the typed digits when they already lie inside those
 * (9161234567 matches every form, and more, as typed). Undefined when the text is not a whole number.
 */
export function wholePhoneDigits(typed: string, region: CountryCode): string | undefined {
  if (!PHONE_QUERY_RE.test(typed)) return undefined;
  const digits = typed.replace(/\D/g, '');
  if (digits.length < 5) return undefined;
  const e164 = lookupKey(typed.trim().replace(/[.\s]+/g, ' '), region);
  if (!e164) return undefined;
  const e = e164.slice(1);
  // Only a number the typed digits end with (not one picked out of the middle of a longer string).
  const national = parsePhoneNumberFromString(e164)?.nationalNumber ?? '';
  if (!national || !digits.endsWith(national)) return undefined;
  return e.includes(digits) ? digits : e;
}

/**
 * The number filter: a whole number in any notation as wholePhoneDigits reads it; anything else (1234567,
 * 4567, 123-45) as the digits typed, found anywhere. Undefined when the text holds no digits.
 */
export function phoneQueryDigits(typed: string, region: CountryCode): string | undefined {
  const whole = wholePhoneDigits(typed, region);
  if (whole) return whole;
  const digits = typed.replace(/\D/g, '');
  return digits || undefined;
}

export type DialFormat = 'e164' | 'national' | 'digits';

/** The number as the installer's dialplan expects it: +74951234567, 84951234567 (national) or 74951234567. */
export function dialNumber(e164: string, format: DialFormat): string {
  if (format === 'e164') return e164;
  if (format === 'digits') return e164.slice(1);
  return nationalDigits(e164) || e164.slice(1);
}
