import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import { Db, SqlValue, Tx } from '../db/database';
import { marks } from '../db/sql';
import { ValidationError } from '../validation';
import { CallerIdentity, IdentityCache } from './identity-cache';
import { CustomerFields, PreparedCustomer, PreparedPhone, prepareCustomer, preparePhone } from './customer-input';
import { SearchItem, searchDirectory } from './directory-search';

export { searchQueryError } from './directory-search';
export type { SearchItem } from './directory-search';

export interface CustomerView {
  id: string;
  name: string;
  inn: string | null;
  comment: string | null;
  source: string;
  createdAt: string;
  updatedAt: string;
  phones: PhoneView[];
  contacts: Array<{ id: string; name: string; position: string | null; phones: PhoneView[] }>;
}

export interface PhoneView {
  number: string;
  extension: string | null;
  kind: 'company' | 'contact';
  raw: string;
}

/** How linking earlier calls reports them: `visibleTo` counts only the calls of that extension (an operator's). */
export interface LinkOptions {
  visibleTo?: string;
}


export class NotFoundError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export class ConflictError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}


/**
 * The mirror of 1C's customer directory (Партнеры, Контактные лица, their phones) and caller
 * identification over it. Every change invalidates the identity cache for the numbers it touched and
 * emits 'changed' with them, so live calls can be re-identified.
 */
export class Directory extends EventEmitter {
  readonly cache: IdentityCache;

  constructor(
    private readonly db: Db,
    readonly region: CountryCode,
    cacheOptions: { ttlSeconds?: number } = {},
  ) {
    super();
    this.cache = new IdentityCache((e164) => this.lookupInDb(e164), cacheOptions);
  }

  // ---- identification ---------------------------------------------------------------------------

  /** Who owns this E.164 number: a contact person, a customer, or nobody. Cached. */
  identify(e164: string): Promise<CallerIdentity> {
    return this.cache.get(e164);
  }

  private async lookupInDb(e164: string): Promise<CallerIdentity> {
    const rows = await this.db.query<{ customer_id: string; contact_id: string | null; customer_name: string; contact_name: string | null }>(
      `SELECT p.customer_id, p.contact_id, c.name AS customer_name, cp.name AS contact_name
         FROM customer_phones p
         JOIN customers c ON c.id = p.customer_id
         LEFT JOIN contact_persons cp ON cp.id = p.contact_id
        WHERE p.e164 = ?
        ORDER BY c.updated_at DESC, p.contact_id
        LIMIT 20`,
      [e164],
    );
    if (rows.length === 0) return { kind: 'unknown', number: e164, matches: 0 };
    const customers = new Set(rows.map((r) => r.customer_id));
    const best = rows[0];
    const id: CallerIdentity = {
      kind: best.contact_id ? 'contact' : 'customer',
      number: e164,
      customer: { id: best.customer_id, name: best.customer_name },
      matches: customers.size,
    };
    if (best.contact_id) id.contact = { id: best.contact_id, name: best.contact_name ?? '' };
    return id;
  }

  // ---- search ---------------------------------------------------------------------------------------

  /**
   * Smart search (GET /directory/search): a number in any notation (a whole one exactly, 4+ digits
   * anywhere in a stored number) finds the customers and contact persons owning it, digits also find
   * customers by part of the INN; text finds customers and contact persons by part of the name, case
   * folded for Cyrillic too. Served by trigram indexes (migration 0015_directory_search): FTS5 MATCH on
   * SQLite, pg_trgm on PostgreSQL. The caller checks the length rules (searchQueryError).
   */
  search(typed: string, limit: number): Promise<SearchItem[]> {
    return searchDirectory(this.db, this.region, typed, limit);
  }

  // ---- bulk sync from 1C --------------------------------------------------------------------------

  /**
   * Upserts a batch of customers, each replacing its contact persons and phones. Idempotent: the same
   * batch twice leaves the same state. With `run`, the customers are marked as seen by that full sync.
   */
  async upsertCustomers(customers: PreparedCustomer[], opts: { run?: string; source?: string } = {}): Promise<{ upserted: number }> {
    if (customers.length === 0) return { upserted: 0 };
    const touched = new Set<string>();
    const now = BigInt(Date.now());
    await this.db.transaction(async (tx) => {
      const ids = customers.map((c) => c.id);
      const contactIds = customers.flatMap((c) => c.contacts.map((k) => k.id));
      for (const n of await this.phonesOf(tx, ids, contactIds)) touched.add(n);
      await this.db.execMany(
        'INSERT INTO customers (id, name, inn, comment, source, sync_run, created_at, updated_at)',
        8,
        customers.map((c) => [c.id, c.name, c.inn, c.comment, opts.source ?? '1c', opts.run ?? null, now, now]),
        `ON CONFLICT (id) DO UPDATE SET name = excluded.name, inn = excluded.inn, comment = excluded.comment,
          sync_run = COALESCE(excluded.sync_run, customers.sync_run), updated_at = excluded.updated_at`, tx, BULK_ROWS);
      await this.inChunks(ids, (chunk) => this.db.exec(`DELETE FROM customer_phones WHERE customer_id IN (${marks(chunk)})`, chunk, tx));
      await this.inChunks(contactIds, (chunk) => this.db.exec(`DELETE FROM customer_phones WHERE owner_id IN (${marks(chunk)})`, chunk, tx));
      await this.inChunks(ids, (chunk) => this.db.exec(`DELETE FROM contact_persons WHERE customer_id IN (${marks(chunk)})`, chunk, tx));
      const contacts = customers.flatMap((c) => c.contacts.map((k) => [k.id, c.id, k.name, k.position, now] as SqlValue[]));
      await this.db.execMany(
        'INSERT INTO contact_persons (id, customer_id, name, position, updated_at)',
        5,
        contacts,
        'ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, name = excluded.name, position = excluded.position, updated_at = excluded.updated_at', tx, BULK_ROWS);
      const phones = customers.flatMap((c) => c.phones);
      for (const p of phones) touched.add(p.e164);
      await this.insertPhones(tx, phones, now);
    });
    await this.analyzeAfterBulk(customers.length);
    this.changed(touched);
    return { upserted: customers.length };
  }

  /** Deletes customers (with their contact persons and phones) by 1C reference; unknown ids are ignored. */
  async deleteCustomers(ids: string[]): Promise<{ deleted: number }> {
    if (ids.length === 0) return { deleted: 0 };
    const touched = new Set<string>();
    let deleted = 0;
    await this.db.transaction(async (tx) => {
      for (const n of await this.phonesOf(tx, ids, [])) touched.add(n);
      await this.unlinkCalls(tx, ids);
      await this.inChunks(ids, async (chunk) => {
        await this.db.exec(`DELETE FROM customer_phones WHERE customer_id IN (${marks(chunk)})`, chunk, tx);
        await this.db.exec(`DELETE FROM contact_persons WHERE customer_id IN (${marks(chunk)})`, chunk, tx);
        deleted += await this.db.exec(`DELETE FROM customers WHERE id IN (${marks(chunk)})`, chunk, tx);
      });
    });
    this.changed(touched);
    return { deleted };
  }

  /** Ends a full sync: customers from 1C that the run did not send are gone in 1C, so they go here too. */
  async finishSyncRun(run: string): Promise<{ deleted: number }> {
    const stale = await this.db.query<{ id: string }>(
      `SELECT id FROM customers WHERE source = '1c' AND (sync_run IS NULL OR sync_run <> ?)`,
      [run],
    );
    return this.deleteCustomers(stale.map((r) => r.id));
  }

  // ---- single records -------------------------------------------------------------------------------

  async getCustomer(id: string): Promise<CustomerView | null> {
    const c = await this.db.prisma.customer.findUnique({ where: { id }, include: { contacts: { orderBy: { name: 'asc' } }, phones: { orderBy: { createdAt: 'asc' } } } });
    if (!c) return null;
    const view = (p: { e164: string; extension: string; kind: string; raw: string }): PhoneView => ({
      number: p.e164,
      extension: p.extension || null,
      kind: p.kind === 'contact' ? 'contact' : 'company',
      raw: p.raw,
    });
    return {
      id: c.id,
      name: c.name,
      inn: c.inn,
      comment: c.comment,
      source: c.source,
      createdAt: new Date(Number(c.createdAt)).toISOString(),
      updatedAt: new Date(Number(c.updatedAt)).toISOString(),
      phones: c.phones.filter((p) => !p.contactId).map(view),
      contacts: c.contacts.map((k) => ({ id: k.id, name: k.name, position: k.position, phones: c.phones.filter((p) => p.contactId === k.id).map(view) })),
    };
  }

  /** Creates or replaces one customer (1C's single-record sync). */
  async putCustomer(id: string, fields: CustomerFields): Promise<{ created: boolean; customer: CustomerView }> {
    const prepared = prepareCustomer(id, fields, this.region);
    const existed = (await this.db.query('SELECT 1 AS x FROM customers WHERE id = ?', [id])).length > 0;
    await this.upsertCustomers([prepared]);
    return { created: !existed, customer: (await this.getCustomer(id))! };
  }

  /**
   * Creates a customer from an unknown number (from the journal or the panel): the number becomes its
   * company phone (or its contact person's), and every earlier call from that number that no customer
   * claimed is linked to it, in the same transaction.
   */
  async createFromNumber(input: {
    id?: string;
    name: string;
    number: string;
    inn?: string | null;
    comment?: string | null;
    contactName?: string | null;
  }, opts: LinkOptions = {}): Promise<{ customer: CustomerView; linkedCalls: number }> {
    const id = input.id ?? randomUUID();
    const phone = preparePhone(input.number, this.region, 'number');
    const contactId = input.contactName ? randomUUID() : null;
    const now = BigInt(Date.now());
    let linked = 0;
    await this.db.transaction(async (tx) => {
      const exists = await this.db.query('SELECT 1 AS x FROM customers WHERE id = ?', [id], tx);
      if (exists.length) throw new ConflictError('id', `customer ${id} already exists`);
      await this.db.exec(
        `INSERT INTO customers (id, name, inn, comment, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [id, input.name, input.inn ?? null, input.comment ?? null, input.id ? '1c' : 'telefonist', now, now],
        tx,
      );
      if (contactId) {
        await this.db.exec('INSERT INTO contact_persons (id, customer_id, name, updated_at) VALUES (?, ?, ?, ?)', [contactId, id, input.contactName!, now], tx);
      }
      await this.insertPhones(tx, [{ ownerId: contactId ?? id, customerId: id, contactId, kind: contactId ? 'contact' : 'company', ...phone, raw: input.number.trim().slice(0, 200) }], now);
      linked = await this.linkCalls(tx, phone.e164, id, contactId, [input.name, input.contactName], opts.visibleTo);
    });
    this.changed([phone.e164]);
    return { customer: (await this.getCustomer(id))!, linkedCalls: linked };
  }

  /** Binds a number to a customer as a company phone, or to one of its contact persons. */
  async addPhone(customerId: string, number: string, contactId?: string, opts: LinkOptions = {}): Promise<{ phone: PhoneView; linkedCalls: number }> {
    const phone = preparePhone(number, this.region, 'number');
    const now = BigInt(Date.now());
    let linked = 0;
    let names: Array<string | null> = [];
    await this.db.transaction(async (tx) => {
      const c = await this.db.query<{ name: string }>('SELECT name FROM customers WHERE id = ?', [customerId], tx);
      if (!c.length) throw new NotFoundError('id', `no customer ${customerId}`);
      names = [c[0].name];
      if (contactId) {
        const k = await this.db.query<{ name: string }>('SELECT name FROM contact_persons WHERE id = ? AND customer_id = ?', [contactId, customerId], tx);
        if (!k.length) throw new ValidationError('contactId', `customer ${customerId} has no contact person ${contactId}`);
        names.push(k[0].name);
      }
      await this.insertPhones(tx, [{ ownerId: contactId ?? customerId, customerId, contactId: contactId ?? null, kind: contactId ? 'contact' : 'company', ...phone, raw: number.trim().slice(0, 200) }], now);
      await this.db.exec('UPDATE customers SET updated_at = ? WHERE id = ?', [now, customerId], tx);
      linked = await this.linkCalls(tx, phone.e164, customerId, contactId ?? null, names, opts.visibleTo);
    });
    this.changed([phone.e164]);
    return { phone: { number: phone.e164, extension: phone.extension || null, kind: contactId ? 'contact' : 'company', raw: number.trim() }, linkedCalls: linked };
  }

  async removePhone(customerId: string, number: string): Promise<boolean> {
    const phone = preparePhone(number, this.region, 'number');
    const n = await this.db.exec('DELETE FROM customer_phones WHERE customer_id = ? AND e164 = ?', [customerId, phone.e164]);
    this.changed([phone.e164]);
    return n > 0;
  }

  async counts(): Promise<{ customers: number; contacts: number; phones: number }> {
    const [r] = await this.db.query<{ a: bigint | number; b: bigint | number; c: bigint | number }>(
      'SELECT (SELECT COUNT(*) FROM customers) AS a, (SELECT COUNT(*) FROM contact_persons) AS b, (SELECT COUNT(*) FROM customer_phones) AS c',
    );
    return { customers: Number(r.a), contacts: Number(r.b), phones: Number(r.c) };
  }

  // ---- internals -------------------------------------------------------------------------------------

  /**
   * PostgreSQL plans the next batch's `IN (...)` lookups from table statistics; after a bulk load into
   * fresh tables they still say "tiny" until autovacuum catches up, and every batch scans whole tables
   * (a 200,000-partner first sync went quadratic). Big batches refresh the statistics themselves.
   */
  private async analyzeAfterBulk(rows: number): Promise<void> {
    if (this.db.kind !== 'postgres' || rows < 1000) return;
    await this.db.exec('ANALYZE customers, contact_persons, customer_phones');
  }

  private changed(numbers: Iterable<string>): void {
    const list = [...new Set(numbers)];
    if (list.length === 0) return;
    this.cache.invalidate(list);
    this.emit('changed', list);
  }

  /**
   * Earlier calls from the number that no customer claimed now belong to this customer. Returns how many
   * were linked; with `visibleTo`, only those that extension took part in are counted (all are linked).
   */
  private async linkCalls(
    tx: Tx,
    e164: string,
    customerId: string,
    contactId: string | null,
    names: Array<string | null | undefined>,
    visibleTo?: string,
  ): Promise<number> {
    const words = names.filter((x): x is string => !!x).join(' ').toLowerCase();
    const visible = visibleTo === undefined
      ? null
      : await this.db.query<{ n: bigint | number }>(
        `SELECT COUNT(*) AS n FROM calls
          WHERE external_e164 = ? AND customer_id IS NULL
            AND EXISTS (SELECT 1 FROM call_employees x WHERE x.call_id = calls.id AND x.extension = ?)`,
        [e164, visibleTo],
        tx,
      );
    const linked = await this.db.exec(
      `UPDATE calls SET customer_id = ?, contact_id = ?, identification = ?, search = search || ' ' || ?
        WHERE external_e164 = ? AND customer_id IS NULL`,
      [customerId, contactId, contactId ? 'contact' : 'customer', words, e164],
      tx,
    );
    return visible === null ? linked : Number(visible[0].n);
  }

  /** Calls of deleted customers become calls from unknown numbers again. */
  private async unlinkCalls(tx: Tx, ids: string[]): Promise<void> {
    await this.inChunks(ids, (chunk) =>
      this.db.exec(`UPDATE calls SET customer_id = NULL, contact_id = NULL, identification = 'unknown' WHERE customer_id IN (${marks(chunk)})`, chunk, tx),
    );
  }

  private async phonesOf(tx: Tx, customerIds: string[], contactIds: string[]): Promise<string[]> {
    const out: string[] = [];
    await this.inChunks(customerIds, async (chunk) => {
      for (const r of await this.db.query<{ e164: string }>(`SELECT e164 FROM customer_phones WHERE customer_id IN (${marks(chunk)})`, chunk, tx)) out.push(r.e164);
    });
    await this.inChunks(contactIds, async (chunk) => {
      for (const r of await this.db.query<{ e164: string }>(`SELECT e164 FROM customer_phones WHERE owner_id IN (${marks(chunk)})`, chunk, tx)) out.push(r.e164);
    });
    return out;
  }

  private async insertPhones(tx: Tx, phones: PreparedPhone[], now: bigint): Promise<void> {
    await this.db.execMany(
      'INSERT INTO customer_phones (owner_id, e164, extension, customer_id, contact_id, kind, raw, created_at)',
      8,
      phones.map((p) => [p.ownerId, p.e164, p.extension, p.customerId, p.contactId, p.kind, p.raw, now]),
      'ON CONFLICT (owner_id, e164, extension) DO UPDATE SET raw = excluded.raw', tx, BULK_ROWS);
  }

  private async inChunks<T>(items: T[], fn: (chunk: T[]) => Promise<unknown>): Promise<void> {
    for (let i = 0; i < items.length; i += 500) await fn(items.slice(i, i + 500));
  }


}

/** Rows per multi-row INSERT in bulk sync (8 columns × 1,000 stays far below both databases' parameter limits). */
const BULK_ROWS = 1000;
