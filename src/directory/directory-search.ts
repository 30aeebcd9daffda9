/**
 * Smart search over the directory mirror (GET /directory/search, issue 12 T7): customers by part of the name
 * or INN, contact persons by part of the name, owners of a number typed in any notation or of 4+ of its digits.
 */
import type { CountryCode } from 'libphonenumber-js';
import { Db } from '../db/database';
import { likeEscape, marks } from '../db/sql';
import type { PhoneView } from './directory';
import { isPhoneQuery, lookupKey, PHONE_QUERY_RE, wholePhoneDigits } from './phone';

/** One answer of GET /directory/search. */
export interface SearchItem {
  kind: 'customer' | 'contact';
  id: string;
  name: string;
  /** A customer's INN. */
  inn?: string | null;
  /** A contact person's position. */
  position?: string | null;
  /** The customer a contact person belongs to. */
  customer?: { id: string; name: string };
  /** The customer's company phones, or the contact person's phones. */
  phones: PhoneView[];
}

/** Why a search text is refused (undefined: it is fine); the length rules GET /directory/search states. */
export function searchQueryError(typed: string): string | undefined {
  const q = typed.trim();
  if (q.length > SEARCH_MAX) return `q must be at most ${SEARCH_MAX} characters`;
  if (isPhoneQuery(q)) {
    if (q.replace(/\D/g, '').length < 4) return 'q: a number needs at least 4 digits';
    return undefined;
  }
  if (q.length < 3) return 'q must be at least 3 characters (a number: 4 digits)';
  return undefined;
}

export const SEARCH_MAX = 100;

/**
 * Smart search (GET /directory/search): a number in any notation (a whole one exactly, 4+ digits
 * anywhere in a stored number) finds the customers and contact persons owning it, digits also find
 * customers by part of the INN; text finds customers and contact persons by part of the name, case
 * folded for Cyrillic too. Served by trigram indexes (migration 0015_directory_search): FTS5 MATCH on
 * SQLite, pg_trgm on PostgreSQL. The caller checks the length rules (searchQueryError).
 */
export async function searchDirectory(db: Db, region: CountryCode, typed: string, limit: number): Promise<SearchItem[]> {
  const q = typed.trim();
  const sqlite = db.kind === 'sqlite';
  const items = new Map<string, SearchItem>();
  const customerIds: string[] = [];
  const contactIds: string[] = [];
  const add = (it: SearchItem) => {
    const key = `${it.kind}:${it.id}`;
    if (items.size < limit && !items.has(key)) items.set(key, it);
  };
  if (PHONE_QUERY_RE.test(q)) {
    const digits = q.replace(/\D/g, '');
    const whole = wholePhoneDigits(q, region) ? lookupKey(q.replace(/[.\s]+/g, ' '), region) : undefined;
    const rows = await db.query<{ customer_id: string; contact_id: string | null }>(
      whole
        ? 'SELECT customer_id, contact_id FROM customer_phones WHERE e164 = ? LIMIT ?'
        : sqlite
          ? 'SELECT customer_id, contact_id FROM customer_phones WHERE rowid IN (SELECT rowid FROM customer_phones_fts WHERE customer_phones_fts MATCH ? LIMIT ?)'
          : 'SELECT customer_id, contact_id FROM customer_phones WHERE e164 LIKE ? LIMIT ?',
      [whole ?? (sqlite ? phrase(digits) : `%${digits}%`), limit],
    );
    for (const r of rows) {
      if (r.contact_id) contactIds.push(r.contact_id);
      else customerIds.push(r.customer_id);
    }
    const inn = await db.query<{ id: string }>(
      sqlite
        ? 'SELECT id FROM customers WHERE rowid IN (SELECT rowid FROM customers_fts WHERE customers_fts MATCH ? LIMIT ?)'
        : 'SELECT id FROM customers WHERE inn LIKE ? LIMIT ?',
      [sqlite ? `inn : ${phrase(digits)}` : `%${digits}%`, limit],
    );
    customerIds.push(...inn.map((r) => r.id));
  } else {
    const lower = q.toLowerCase();
    const customers = await db.query<{ id: string; name: string }>(
      sqlite
        ? 'SELECT id, name FROM customers WHERE rowid IN (SELECT rowid FROM customers_fts WHERE customers_fts MATCH ? LIMIT ?)'
        : `SELECT id, name FROM customers WHERE lower(name) LIKE ? ESCAPE '\\' LIMIT ?`,
      [sqlite ? `name : ${phrase(q)}` : `%${likeEscape(lower)}%`, limit],
    );
    const contacts = await db.query<{ id: string; name: string }>(
      sqlite
        ? 'SELECT id, name FROM contact_persons WHERE rowid IN (SELECT rowid FROM contact_persons_fts WHERE contact_persons_fts MATCH ? LIMIT ?)'
        : `SELECT id, name FROM contact_persons WHERE lower(name) LIKE ? ESCAPE '\\' LIMIT ?`,
      [sqlite ? phrase(q) : `%${likeEscape(lower)}%`, limit],
    );
    // Names that start with the text first, then alphabetically.
    const rank = (r: { name: string }) => (r.name.toLowerCase().startsWith(lower) ? 0 : 1);
    const order = (a: { name: string }, b: { name: string }) => rank(a) - rank(b) || a.name.localeCompare(b.name, 'ru');
    customerIds.push(...customers.sort(order).map((r) => r.id));
    contactIds.push(...contacts.sort(order).map((r) => r.id));
  }
  const customerUniq = uniq(customerIds);
  const contactUniq = uniq(contactIds);
  const cs = customerIds.length
    ? await db.query<{ id: string; name: string; inn: string | null }>(`SELECT id, name, inn FROM customers WHERE id IN (${marks(customerUniq)})`, customerUniq)
    : [];
  const ks = contactIds.length
    ? await db.query<{ id: string; name: string; position: string | null; customer_id: string; customer_name: string }>(
        `SELECT k.id, k.name, k.position, k.customer_id, c.name AS customer_name FROM contact_persons k JOIN customers c ON c.id = k.customer_id
          WHERE k.id IN (${marks(contactUniq)})`,
        contactUniq,
      )
    : [];
  const byCustomer = new Map(cs.map((c) => [c.id, c]));
  const byContact = new Map(ks.map((k) => [k.id, k]));
  for (const id of customerIds) {
    const c = byCustomer.get(id);
    if (c) add({ kind: 'customer', id: c.id, name: c.name, inn: c.inn, phones: [] });
  }
  for (const id of contactIds) {
    const k = byContact.get(id);
    if (k) add({ kind: 'contact', id: k.id, name: k.name, position: k.position, customer: { id: k.customer_id, name: k.customer_name }, phones: [] });
  }
  const list = [...items.values()];
  if (list.length) {
    const owners = list.map((it) => it.id);
    const phones = await db.query<{ owner_id: string; e164: string; extension: string; kind: string; raw: string; contact_id: string | null }>(
      `SELECT owner_id, e164, extension, kind, raw, contact_id FROM customer_phones WHERE owner_id IN (${marks(owners)}) ORDER BY created_at, e164`,
      owners,
    );
    for (const it of list) {
      it.phones = phones
        .filter((p) => p.owner_id === it.id && (it.kind === 'contact') === (p.contact_id !== null))
        .map((p) => ({ number: p.e164, extension: p.extension || null, kind: p.kind === 'contact' ? 'contact' : 'company', raw: p.raw }));
    }
  }
  return list;
}

/** An FTS5 trigram phrase: the text as a substring, quotes doubled. */
function phrase(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

function uniq(items: string[]): string[] {
  return [...new Set(items)];
}
