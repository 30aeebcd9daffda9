import { z } from 'zod';
import { amountInWords } from './words';

/**
 * An invoice from 1C («Счёт на оплату покупателю»), checked before it is rendered.
 *
 * Money is a **decimal string in rubles** with at most two decimals and a dot ("1234.50", "0.99", "15"),
 * never a JSON number: a float cannot carry 0.1 exactly, and 1C's `Формат(Сумма, "ЧРД=.; ЧГ=0; ЧН=0.00")`
 * writes exactly this. Quantities are decimal strings with at most three decimals ("2", "1.5", "0.125").
 * Inside, money is integer kopecks (`bigint`), quantities integer thousandths: no float ever touches a sum.
 *
 * The checks (a mismatch is a 400 naming the field, e.g. `lines[3].amount`):
 * - each line's `amount` = quantity × price, rounded half up to kopecks (1C's rounding), less the line's
 *   `discount` when 1C gives one (manual and automatic discounts of the order);
 * - each line's `vat` agrees with its rate: prices with VAT (`pricesIncludeVat`, the default: «в т.ч. НДС»)
 *   → amount × rate / (100 + rate); prices without VAT → amount × rate / 100; rounded to kopecks; «без НДС»
 *   and 0% → 0 (or absent);
 * - `totals.amount` = Σ line amounts, `totals.vat` = Σ line VAT, `totals.total` = totals.amount (VAT inside)
 *   or totals.amount + totals.vat (VAT on top).
 */

const MONEY_RE = /^(0|[1-9]\d{0,14})(?:\.(\d{1,2}))?$/;
const QTY_RE = /^(0|[1-9]\d{0,11})(?:\.(\d{1,3}))?$/;

export const VAT_RATES = ['20%', '10%', '0%', 'без НДС'] as const;
export type VatRate = (typeof VAT_RATES)[number];
const VAT_ALIASES: Record<string, VatRate> = { '20': '20%', '20%': '20%', '10': '10%', '10%': '10%', '0': '0%', '0%': '0%', 'без НДС': 'без НДС', none: 'без НДС' };
const RATE_PERCENT: Record<VatRate, bigint> = { '20%': 20n, '10%': 10n, '0%': 0n, 'без НДС': 0n };

/** "1234.5" → 123450n kopecks; null when it is not a money string. */
export function parseMoney(v: string): bigint | null {
  const m = MONEY_RE.exec(v);
  if (!m) return null;
  return BigInt(m[1]) * 100n + BigInt((m[2] ?? '').padEnd(2, '0'));
}

/** "1.5" → 1500n thousandths. */
export function parseQuantity(v: string): bigint | null {
  const m = QTY_RE.exec(v);
  if (!m) return null;
  return BigInt(m[1]) * 1000n + BigInt((m[2] ?? '').padEnd(3, '0'));
}

/** 123450n → "1 234,50" (the form printed on Russian documents). */
export function formatMoney(k: bigint): string {
  const rub = (k / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return `${rub},${String(k % 100n).padStart(2, '0')}`;
}

/** 1500n thousandths → "1,5"; 2000n → "2". */
export function formatQuantity(q: bigint): string {
  const whole = (q / 1000n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  const frac = String(q % 1000n).padStart(3, '0').replace(/0+$/, '');
  return frac ? `${whole},${frac}` : whole;
}

/** a / b rounded half up, for non-negative a and positive b. */
const divRound = (a: bigint, b: bigint) => (2n * a + b) / (2n * b);

const money = z.string().regex(MONEY_RE, 'must be a decimal string in rubles with at most 2 decimals, e.g. "1234.50"');
const qty = z.string().regex(QTY_RE, 'must be a decimal string with at most 3 decimals, e.g. "1.5"').refine((v) => parseQuantity(v)! > 0n, 'must be more than 0');
const text = (max: number) => z.string().trim().min(1).max(max);
const digits = (n: number[], what: string) => z.string().refine((v) => new RegExp(`^\\d+$`).test(v) && n.includes(v.length), `${what} must be ${n.join(' or ')} digits`);

const bank = z.object({
  name: text(300),
  bik: digits([9], 'BIK'),
  account: digits([20], 'the account'),
  corrAccount: digits([20], 'the correspondent account'),
}).strict();

const party = {
  name: text(500),
  inn: digits([10, 12], 'INN'),
  kpp: digits([9], 'KPP').optional(),
  address: text(500).optional(),
  phone: text(100).optional(),
};

const vatRate = z.string().transform((v, ctx) => {
  const r = VAT_ALIASES[v.trim()];
  if (!r) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be one of ${VAT_RATES.map((x) => `"${x}"`).join(', ')}` });
    return z.NEVER;
  }
  return r;
});

export const lineSchema = z.object({
  name: text(1000),
  code: text(100).optional(),
  quantity: qty,
  unit: text(20),
  price: money,
  vatRate,
  /** The line's discount in rubles (1C's СуммаРучнойСкидки + СуммаАвтоматическойСкидки), printed in its own column. */
  discount: money.optional(),
  vat: money.optional(),
  amount: money,
}).strict();

export const invoiceSchema = z.object({
  number: text(50),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD').refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v), 'is not a calendar date'),
  seller: z.object({ ...party, bank }).strict(),
  buyer: z.object({ ...party, bank: bank.optional() }).strict(),
  /** Prices and amounts include VAT («в т.ч. НДС»; 1C's «Цена включает НДС»), the default; false: VAT on top. */
  pricesIncludeVat: z.boolean().default(true),
  basis: text(500).optional(),
  lines: z.array(lineSchema).min(1).max(1000),
  totals: z.object({ amount: money, vat: money, total: money }).strict(),
  /** 1C's «Сумма прописью», printed as given; computed when absent. */
  amountInWords: text(1000).optional(),
  /** Printed under the lines (payment terms and the like). */
  comment: text(2000).optional(),
  signatures: z.object({ director: text(200).optional(), accountant: text(200).optional() }).strict().optional(),
}).strict();

export type InvoiceInput = z.output<typeof invoiceSchema>;

export interface CheckedLine {
  name: string;
  code?: string;
  quantity: bigint;
  unit: string;
  price: bigint;
  vatRate: VatRate;
  discount: bigint;
  vat: bigint;
  amount: bigint;
}

/** An invoice whose sums add up, in kopecks. */
export interface CheckedInvoice extends Omit<InvoiceInput, 'lines' | 'totals' | 'amountInWords'> {
  lines: CheckedLine[];
  totals: { amount: bigint; vat: bigint; total: bigint };
  amountInWords: string;
  /** Whether the words were computed here (1C did not send them). */
  wordsComputed: boolean;
}

/** A sum that does not add up: a 400 naming the field. */
export class InvoiceMismatch extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const rub = (k: bigint) => `${k / 100n}.${String(k % 100n).padStart(2, '0')}`;

/** Checks every line and the totals; throws InvoiceMismatch naming the first field that does not add up. */
export function checkInvoice(inv: InvoiceInput): CheckedInvoice {
  const lines: CheckedLine[] = inv.lines.map((l, i) => {
    const quantity = parseQuantity(l.quantity)!;
    const price = parseMoney(l.price)!;
    const amount = parseMoney(l.amount)!;
    const discount = l.discount === undefined ? 0n : parseMoney(l.discount)!;
    const gross = divRound(quantity * price, 1000n);
    if (discount > gross) throw new InvoiceMismatch(`lines[${i}].discount`, `lines[${i}].discount ${l.discount} is more than quantity × price = ${rub(gross)}`);
    const expected = gross - discount;
    if (amount !== expected) {
      const less = discount ? ` − discount ${l.discount}` : '';
      throw new InvoiceMismatch(`lines[${i}].amount`, `lines[${i}].amount is ${l.amount}, but quantity ${l.quantity} × price ${l.price}${less} = ${rub(expected)} (rounded to kopecks)`);
    }
    const r = RATE_PERCENT[l.vatRate];
    const expectedVat = r === 0n ? 0n : inv.pricesIncludeVat ? divRound(amount * r, 100n + r) : divRound(amount * r, 100n);
    const vat = l.vat === undefined ? null : parseMoney(l.vat)!;
    if (vat === null && r !== 0n) throw new InvoiceMismatch(`lines[${i}].vat`, `lines[${i}].vat is required for VAT rate ${l.vatRate} (expected ${rub(expectedVat)})`);
    if (vat !== null && vat !== expectedVat) {
      const how = r === 0n ? `rate ${l.vatRate} has no VAT` : inv.pricesIncludeVat ? `${l.vatRate} included in ${l.amount} is ${rub(expectedVat)}` : `${l.vatRate} on top of ${l.amount} is ${rub(expectedVat)}`;
      throw new InvoiceMismatch(`lines[${i}].vat`, `lines[${i}].vat is ${l.vat}, but ${how}`);
    }
    return { name: l.name, code: l.code, quantity, unit: l.unit, price, vatRate: l.vatRate, discount, vat: expectedVat, amount };
  });
  const sumAmount = lines.reduce((s, l) => s + l.amount, 0n);
  const sumVat = lines.reduce((s, l) => s + l.vat, 0n);
  const total = inv.pricesIncludeVat ? sumAmount : sumAmount + sumVat;
  const given = { amount: parseMoney(inv.totals.amount)!, vat: parseMoney(inv.totals.vat)!, total: parseMoney(inv.totals.total)! };
  if (given.amount !== sumAmount) throw new InvoiceMismatch('totals.amount', `totals.amount is ${inv.totals.amount}, but the lines add up to ${rub(sumAmount)}`);
  if (given.vat !== sumVat) throw new InvoiceMismatch('totals.vat', `totals.vat is ${inv.totals.vat}, but the lines' VAT adds up to ${rub(sumVat)}`);
  if (given.total !== total) {
    throw new InvoiceMismatch('totals.total', `totals.total is ${inv.totals.total}, but ${inv.pricesIncludeVat ? 'with VAT included it equals totals.amount' : 'totals.amount + totals.vat'} = ${rub(total)}`);
  }
  return {
    ...inv,
    lines,
    totals: { amount: sumAmount, vat: sumVat, total },
    amountInWords: inv.amountInWords ?? amountInWords(total),
    wordsComputed: inv.amountInWords === undefined,
  };
}
