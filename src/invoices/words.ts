/**
 * The amount in words, in Russian, the way 1C prints it on an invoice («Сумма прописью»):
 * «Одна тысяча двести тридцать четыре рубля 05 копеек». Rubles in words, kopecks as two digits, both
 * with the right form of the noun (1 рубль, 2 рубля, 5 рублей; 1 копейка, 2 копейки, 5 копеек; 11–14 are
 * always the "many" form). Thousands are feminine (одна тысяча, две тысячи), rubles and millions masculine.
 * Written here (about 60 lines) rather than taken from npm: the packages that do this are small, mostly
 * unmaintained, and several print kopecks in words or drop «ноль рублей».
 */

const ONES_M = ['', 'один', 'два', 'три', 'четыре', 'пять', 'шесть', 'семь', 'восемь', 'девять'];
const ONES_F = ['', 'одна', 'две', 'три', 'четыре', 'пять', 'шесть', 'семь', 'восемь', 'девять'];
const TEENS = ['десять', 'одиннадцать', 'двенадцать', 'тринадцать', 'четырнадцать', 'пятнадцать', 'шестнадцать', 'семнадцать', 'восемнадцать', 'девятнадцать'];
const TENS = ['', '', 'двадцать', 'тридцать', 'сорок', 'пятьдесят', 'шестьдесят', 'семьдесят', 'восемьдесят', 'девяносто'];
const HUNDREDS = ['', 'сто', 'двести', 'триста', 'четыреста', 'пятьсот', 'шестьсот', 'семьсот', 'восемьсот', 'девятьсот'];

type Forms = readonly [one: string, few: string, many: string];
const RUBLE: Forms = ['рубль', 'рубля', 'рублей'];
const KOPECK: Forms = ['копейка', 'копейки', 'копеек'];
const SCALES: Array<{ forms: Forms; feminine: boolean }> = [
  { forms: ['', '', ''], feminine: false },
  { forms: ['тысяча', 'тысячи', 'тысяч'], feminine: true },
  { forms: ['миллион', 'миллиона', 'миллионов'], feminine: false },
  { forms: ['миллиард', 'миллиарда', 'миллиардов'], feminine: false },
  { forms: ['триллион', 'триллиона', 'триллионов'], feminine: false },
];

/** The noun's form for a count: 1, 21, 101 → one; 2–4, 22–24 → few; 0, 5–20, 25–30, 111–114 → many. */
export function plural(n: bigint | number, forms: Forms): string {
  const v = BigInt(n) % 100n;
  if (v >= 11n && v <= 14n) return forms[2];
  const d = v % 10n;
  if (d === 1n) return forms[0];
  if (d >= 2n && d <= 4n) return forms[1];
  return forms[2];
}

function triad(n: number, feminine: boolean): string[] {
  const out: string[] = [];
  const h = Math.floor(n / 100);
  const t = Math.floor((n % 100) / 10);
  const o = n % 10;
  if (h) out.push(HUNDREDS[h]);
  if (t === 1) out.push(TEENS[o]);
  else {
    if (t) out.push(TENS[t]);
    if (o) out.push((feminine ? ONES_F : ONES_M)[o]);
  }
  return out;
}

/** A whole number of rubles in words, without the noun: 0 → «ноль», 1 000 000 → «один миллион». */
export function integerInWords(n: bigint, feminine = false): string {
  if (n < 0n) throw new RangeError('negative amount');
  if (n === 0n) return 'ноль';
  const words: string[] = [];
  let rest = n;
  let scale = 0;
  const groups: Array<[number, number]> = [];
  while (rest > 0n) {
    groups.push([Number(rest % 1000n), scale]);
    rest /= 1000n;
    scale++;
  }
  if (scale > SCALES.length) throw new RangeError('amount too large');
  for (const [g, s] of groups.reverse()) {
    if (!g) continue;
    words.push(...triad(g, s === 0 ? feminine : SCALES[s].feminine));
    if (s > 0) words.push(plural(g, SCALES[s].forms));
  }
  return words.join(' ');
}

/** «Сто двадцать три рубля 45 копеек» for 12345 kopecks; the first letter capitalised. */
export function amountInWords(kopecks: bigint | number): string {
  const k = BigInt(kopecks);
  if (k < 0n) throw new RangeError('negative amount');
  const rubles = k / 100n;
  const kop = k % 100n;
  const text = `${integerInWords(rubles)} ${plural(rubles, RUBLE)} ${String(kop).padStart(2, '0')} ${plural(kop, KOPECK)}`;
  return text.charAt(0).toUpperCase() + text.slice(1);
}
