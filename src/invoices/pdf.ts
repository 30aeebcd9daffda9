import { existsSync, readFileSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import { CheckedInvoice, formatMoney, formatQuantity } from './invoice';

/**
 * Renders «Счёт на оплату» as an A4 PDF with pdfkit and the DejaVu Sans font embedded (subset): the bank
 * requisites table, supplier and buyer, the lines (paged, the header repeated), totals with VAT, the amount
 * in words and the signatures. The font comes from the npm package `dejavu-fonts-ttf` (installed with
 * `npm install`); Debian's fonts-dejavu-core is the fallback. PDF's built-in Helvetica has no Cyrillic.
 */

const FONT_CANDIDATES = {
  regular: ['dejavu-fonts-ttf/ttf/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'],
  bold: ['dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'],
};

let fonts: { regular: Buffer; bold: Buffer } | null = null;

function findFont(candidates: string[]): Buffer {
  for (const c of candidates) {
    try {
      const path = c.startsWith('/') ? c : require.resolve(c);
      if (existsSync(path)) return readFileSync(path);
    } catch {
      // not installed: try the next
    }
  }
  throw new Error(`no Cyrillic font for invoices: run npm install (package dejavu-fonts-ttf) or install Debian's fonts-dejavu-core (looked for ${candidates.join(', ')})`);
}

/** The fonts, read once; throws a clear error when neither the npm package nor the system font is there. */
export function invoiceFonts(): { regular: Buffer; bold: Buffer } {
  fonts ??= { regular: findFont(FONT_CANDIDATES.regular), bold: findFont(FONT_CANDIDATES.bold) };
  return fonts;
}

const MONTHS = ['января', 'февраля', 'марта', 'апреля', 'мая', 'июня', 'июля', 'августа', 'сентября', 'октября', 'ноября', 'декабря'];

/** "2026-11-24" → «24 ноября 2026 г.» */
export function russianDate(iso: string): string {
  const [y, m, d] = iso.split('-').map(Number);
  return `${d} ${MONTHS[m - 1]} ${y} г.`;
}

function partyLine(p: CheckedInvoice['buyer']): string {
  return [p.name, `ИНН ${p.inn}`, p.kpp ? `КПП ${p.kpp}` : null, p.address, p.phone ? `тел.: ${p.phone}` : null].filter(Boolean).join(', ');
}

const A4 = { w: 595.28, h: 841.89 };
const M = 36;
const W = A4.w - 2 * M;

export async function renderInvoicePdf(inv: CheckedInvoice): Promise<Buffer> {
  const f = invoiceFonts();
  const date = new Date(`${inv.date}T00:00:00Z`);
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: M, bottom: M, left: M, right: M },
    info: { Title: `Счёт на оплату № ${inv.number} от ${russianDate(inv.date)}`, Author: inv.seller.name, Creator: 'Telefonist', CreationDate: date, ModDate: date },
    autoFirstPage: true,
    bufferPages: false,
  });
  doc.registerFont('R', f.regular);
  doc.registerFont('B', f.bold);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const cell = (s: string, x: number, y: number, w: number, opts: { font?: 'R' | 'B'; size?: number; align?: 'left' | 'right' | 'center' } = {}) => {
    doc.font(opts.font ?? 'R').fontSize(opts.size ?? 8).text(s, x + 3, y + 3, { width: w - 6, align: opts.align ?? 'left', lineGap: 0 });
  };
  const hOf = (s: string, w: number, font: 'R' | 'B' = 'R', size = 8) => doc.font(font).fontSize(size).heightOfString(s, { width: w - 6, lineGap: 0 }) + 6;
  doc.lineWidth(0.6).strokeColor('#000').fillColor('#000');

  // ---- bank requisites table -------------------------------------------------------------------------
  const b = inv.seller.bank;
  const cA = M, wA = W * 0.55, cB = cA + wA, wB = W * 0.1, cC = cB + wB, wC = W - wA - wB;
  let y = M;
  const bankH = Math.max(hOf(b.name, wA) + 12, 34);
  cell(b.name, cA, y, wA);
  cell('Банк получателя', cA, y + bankH - 14, wA, { size: 7 });
  cell('БИК', cB, y, wB);
  cell(b.bik, cC, y, wC);
  cell('Сч. №', cB, y + 14, wB);
  cell(b.corrAccount, cC, y + 14, wC);
  doc.rect(cA, y, W, bankH).stroke();
  doc.moveTo(cB, y).lineTo(cB, y + bankH).stroke();
  doc.moveTo(cC, y).lineTo(cC, y + bankH).stroke();
  doc.moveTo(cB, y + 14).lineTo(cC, y + 14).stroke();
  y += bankH;
  const sellerH = Math.max(hOf(inv.seller.name, wA) + 12, 34);
  const innH = 14;
  cell(`ИНН ${inv.seller.inn}`, cA, y, wA / 2);
  cell(inv.seller.kpp ? `КПП ${inv.seller.kpp}` : 'КПП', cA + wA / 2, y, wA / 2);
  cell(inv.seller.name, cA, y + innH, wA);
  cell('Получатель', cA, y + innH + sellerH - 14, wA, { size: 7 });
  cell('Сч. №', cB, y, wB);
  cell(b.account, cC, y, wC);
  doc.rect(cA, y, W, innH + sellerH).stroke();
  doc.moveTo(cA, y + innH).lineTo(cB, y + innH).stroke();
  doc.moveTo(cA + wA / 2, y).lineTo(cA + wA / 2, y + innH).stroke();
  doc.moveTo(cB, y).lineTo(cB, y + innH + sellerH).stroke();
  doc.moveTo(cC, y).lineTo(cC, y + innH + sellerH).stroke();
  y += innH + sellerH + 18;

  // ---- title, parties ----------------------------------------------------------------------------------
  doc.font('B').fontSize(13).text(`Счёт на оплату № ${inv.number} от ${russianDate(inv.date)}`, M, y, { width: W });
  y = doc.y + 4;
  doc.lineWidth(1.5).moveTo(M, y).lineTo(M + W, y).stroke().lineWidth(0.6);
  y += 8;
  const labelW = 95;
  const party = (label: string, value: string) => {
    doc.font('R').fontSize(8.5).text(label, M, y, { width: labelW });
    const labelBottom = doc.y;
    doc.font('B').fontSize(8.5).text(value, M + labelW, y, { width: W - labelW });
    y = Math.max(doc.y, labelBottom, y) + 6;
  };
  party('Поставщик\n(Исполнитель):', partyLine(inv.seller));
  party('Покупатель\n(Заказчик):', partyLine(inv.buyer));
  if (inv.basis) party('Основание:', inv.basis);
  y += 4;

  // ---- lines ---------------------------------------------------------------------------------------
  const anyVat = inv.lines.some((l) => l.vatRate !== 'без НДС');
  const anyDiscount = inv.lines.some((l) => l.discount > 0n);
  const cols = [
    { t: '№', w: 24, align: 'center' as const },
    { t: 'Товары (работы, услуги)', w: 0, align: 'left' as const },
    { t: 'Кол-во', w: 48, align: 'right' as const },
    { t: 'Ед.', w: 34, align: 'left' as const },
    { t: 'Цена', w: 64, align: 'right' as const },
    ...(anyDiscount ? [{ t: 'Скидка', w: 58, align: 'right' as const }] : []),
    ...(anyVat ? [{ t: 'НДС', w: 44, align: 'center' as const }] : []),
    { t: 'Сумма', w: 76, align: 'right' as const },
  ];
  cols[1].w = W - cols.reduce((s, c) => s + c.w, 0);
  const xs = cols.reduce<number[]>((acc, c, i) => [...acc, i ? acc[i - 1] + cols[i - 1].w : M], []);
  const bottom = A4.h - M;
  const row = (cells: string[], font: 'R' | 'B') => {
    const h = Math.max(...cells.map((s, i) => hOf(s, cols[i].w, font)));
    if (y + h > bottom) {
      doc.addPage();
      y = M;
      if (font === 'R') row(cols.map((c) => c.t), 'B');
    }
    cells.forEach((s, i) => {
      cell(s, xs[i], y, cols[i].w, { font, align: font === 'B' ? 'center' : cols[i].align });
      doc.rect(xs[i], y, cols[i].w, h).stroke();
    });
    y += h;
  };
  row(cols.map((c) => c.t), 'B');
  inv.lines.forEach((l, i) => {
    row([String(i + 1), l.code ? `${l.name} (${l.code})` : l.name, formatQuantity(l.quantity), l.unit, formatMoney(l.price), ...(anyDiscount ? [l.discount ? formatMoney(l.discount) : ''] : []), ...(anyVat ? [l.vatRate] : []), formatMoney(l.amount)], 'R');
  });
  y += 6;

  // ---- totals ---------------------------------------------------------------------------------------
  const t = inv.totals;
  const totals: Array<[string, string]> = [['Итого:', formatMoney(t.amount)]];
  if (!anyVat) totals.push(['Без налога (НДС)', '-']);
  else totals.push([inv.pricesIncludeVat ? 'В том числе НДС:' : 'НДС:', formatMoney(t.vat)]);
  totals.push(['Всего к оплате:', formatMoney(t.total)]);
  for (const [label, value] of totals) {
    if (y + 14 > bottom) {
      doc.addPage();
      y = M;
    }
    doc.font('B').fontSize(9).text(label, M, y, { width: W - 90, align: 'right' });
    doc.text(value, M + W - 88, y, { width: 88, align: 'right' });
    y += 14;
  }
  y += 4;
  const summary = `Всего наименований ${inv.lines.length}, на сумму ${formatMoney(t.total)} руб.`;
  if (y + 60 > bottom) {
    doc.addPage();
    y = M;
  }
  doc.font('R').fontSize(9).text(summary, M, y, { width: W });
  doc.font('B').fontSize(9).text(inv.amountInWords, M, doc.y + 1, { width: W });
  y = doc.y + 6;
  if (inv.comment) {
    doc.font('R').fontSize(8).text(inv.comment, M, y, { width: W });
    y = doc.y + 6;
  }
  doc.lineWidth(1.5).moveTo(M, y).lineTo(M + W, y).stroke().lineWidth(0.6);
  y += 26;

  // ---- signatures -----------------------------------------------------------------------------------
  if (y + 30 > bottom) {
    doc.addPage();
    y = M + 20;
  }
  const sign = (label: string, name: string | undefined, x: number) => {
    doc.font('B').fontSize(9).text(label, x, y - 9, { width: 80 });
    doc.moveTo(x + 82, y).lineTo(x + 160, y).stroke();
    doc.font('R').fontSize(9).text(name ?? '', x + 164, y - 9, { width: W / 2 - 170 });
    doc.moveTo(x + 162, y).lineTo(x + W / 2 - 6, y).stroke();
  };
  sign('Руководитель', inv.signatures?.director, M);
  sign('Бухгалтер', inv.signatures?.accountant, M + W / 2);
  doc.end();
  return done;
}
