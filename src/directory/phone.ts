import { CountryCode, findPhoneNumbersInText, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** A phone number as the directory keeps it: E.164 for lookups, the extension apart. */
export interface NormalizedPhone {
  e164: string;
  extension: string;
  /** The country the number belongs to (RU, KZ ...), when known. */
  country?: string;
}

export class PhoneError extends Error {}

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

export type DialFormat = 'e164' | 'national' | 'digits';

/** The number as the installer's dialplan expects it: +74951234567, 84951234567 (national) or 74951234567. */
export function dialNumber(e164: string, format: DialFormat): string {
  if (format === 'e164') return e164;
  if (format === 'digits') return e164.slice(1);
  const p = parsePhoneNumberFromString(e164);
  const national = p ? p.formatNational().replace(/\D/g, '') : '';
  return national || e164.slice(1);
}
