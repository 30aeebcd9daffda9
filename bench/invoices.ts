/**
 * Invoices (issue 14, C14): PDF renders/s of a 50-line «Счёт на оплату» (check + render with pdfkit and the
 * embedded DejaVu Sans subset), one at a time in one process, after a warm-up; and the size of the PDF.
 * BENCH_INVOICE_SECONDS (default 5) sets how long it renders.
 */
import { performance } from 'node:perf_hooks';
import { checkInvoice, invoiceSchema } from '../src/invoices/invoice';
import { renderInvoicePdf } from '../src/invoices/pdf';

const SECONDS = Number(process.env.BENCH_INVOICE_SECONDS ?? 5);

export function benchInvoice(lines = 50) {
  return invoiceSchema.parse({
    number: 'ТФ-000123',
    date: '2026-11-24',
    seller: {
      name: 'Общество с ограниченной ответственностью «Ромашка»', inn: '7701234567', kpp: '770101001', address: '123456, г. Москва, ул. Ленина, д. 1, офис 15',
      bank: { name: 'ПАО СБЕРБАНК г. Москва', bik: '044525225', account: '40702810900000000001', corrAccount: '30101810400000000225' },
    },
    buyer: { name: 'ИП Иванов Иван Иванович', inn: '770123456789', address: 'г. Тверь, пр. Победы, д. 5' },
    lines: Array.from({ length: lines }, (_, i) => ({ name: `Позиция ${i + 1}: кресло офисное «Эргономик», чёрная экокожа, с подлокотниками`, code: `КР-${i + 1}`, quantity: '3', unit: 'шт', price: '1000.10', vatRate: '20%', vat: '500.05', amount: '3000.30' })),
    totals: { amount: (3000.3 * lines).toFixed(2), vat: (500.05 * lines).toFixed(2), total: (3000.3 * lines).toFixed(2) },
    signatures: { director: 'Петров П. П.', accountant: 'Сидорова С. С.' },
  });
}

export async function invoicesBench(): Promise<void> {
  console.log('\n== Invoices: PDF renders/s of a 50-line invoice (check + pdfkit + embedded DejaVu Sans)');
  const input = benchInvoice(50);
  let size = 0;
  for (let i = 0; i < 5; i++) size = (await renderInvoicePdf(checkInvoice(input))).length;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    await renderInvoicePdf(checkInvoice(input));
    n++;
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`${n} renders in ${s.toFixed(1)} s: ${(n / s).toFixed(1)} PDF/s (${((s * 1000) / n).toFixed(1)} ms each), ${Math.round(size / 1024)} KiB per PDF`);
}
