/**
 * Invoices (issue 14, C14) over real HTTP: 1C's invoice checked (a wrong line amount or VAT is a 400 naming
 * the field), rendered as an A4 PDF whose text pdfjs-dist reads back (Cyrillic lines, totals, the № sign,
 * the amount in words), sent in the customer's Telegram chat through telegraf and a local fake Bot API
 * with the bytes the download endpoint serves; a new chat by phone with a template; 1C's own PDF passed
 * through (checked by content). The amount in words for the tricky numbers.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN, api, Stack, startStack, waitFor } from './helpers';
import { customerUpdate, FakeBotApi } from './fake-telegram-bot';
import { InboundSink, MessengerAdapter, OutboundMessage, ReachabilityResult } from '../src/messengers/adapter';
import { amountInWords } from '../src/invoices/words';
import { checkInvoice, invoiceSchema } from '../src/invoices/invoice';
import { renderInvoicePdf } from '../src/invoices/pdf';

const SECRET = 'webhook-secret-0123456789';

/** A messenger that can write first to any phone and keeps the files it was given. */
class ShopAdapter implements MessengerAdapter {
  readonly kind = 'fake';
  readonly accountId = 'shop';
  readonly limits = { perSecond: 1000, perPeerIntervalMs: 0 };
  readonly sent: Array<{ peerId: string; text?: string; file?: { name: string; bytes: Buffer } }> = [];
  async start(_sink: InboundSink) {}
  async stop() {}
  async send(m: OutboundMessage) {
    this.sent.push({ peerId: m.peerId, text: m.text, file: m.file ? { name: m.file.fileName, bytes: m.file.bytes } : undefined });
    return { externalId: `s${this.sent.length}` };
  }
  async download(): Promise<never> {
    throw new Error('no files');
  }
  async checkPhone(phone: string): Promise<ReachabilityResult> {
    return { reachable: 'yes', peerId: `peer-${phone}`, canWriteFirst: true };
  }
}

/** The text of a PDF, page by page, read by pdfjs-dist (an ES module: a child process). */
function pdfText(pdf: Buffer): { pages: string[]; numPages: number; fonts: string[] } {
  return JSON.parse(execFileSync(process.execPath, [join(__dirname, 'pdf-text.mjs')], { input: pdf, maxBuffer: 32 * 1024 * 1024 }).toString());
}

const seller = {
  name: 'ООО «Ромашка»', inn: '7701234567', kpp: '770101001', address: '123456, г. Москва, ул. Ленина, д. 1',
  bank: { name: 'ПАО СБЕРБАНК г. Москва', bik: '044525225', account: '40702810900000000001', corrAccount: '30101810400000000225' },
};
const buyer = { name: 'ИП Иванов Иван Иванович', inn: '770123456789', address: 'г. Тверь, пр. Победы, д. 5' };

/** Four lines, VAT included: 20%, 10%, 0%, без НДС. */
function invoice(): any {
  return structuredClone({
    number: 'ТФ-123',
    date: '2026-11-24',
    seller,
    buyer,
    basis: 'Договор № 15 от 01.02.2026',
    lines: [
      { name: 'Кресло офисное «Эргономик»', code: 'КР-01', quantity: '2', unit: 'шт', price: '12500.00', vatRate: '20%', vat: '4166.67', amount: '25000.00' },
      { name: 'Бумага офисная А4, пачка', quantity: '3.5', unit: 'уп', price: '333.33', vatRate: '10%', vat: '106.06', amount: '1166.66' },
      { name: 'Доставка по Москве', quantity: '1', unit: 'усл', price: '1500', vatRate: '0%', amount: '1500.00' },
      { name: 'Сборка мебели', quantity: '0.125', unit: 'ч', price: '999.99', vatRate: 'без НДС', amount: '125.00' },
    ],
    totals: { amount: '27791.66', vat: '4272.73', total: '27791.66' },
    signatures: { director: 'Петров П. П.', accountant: 'Сидорова С. С.' },
  });
}

describe('amount in words (Russian, рубли / копейки)', () => {
  test.each([
    [100, 'Один рубль 00 копеек'],
    [200, 'Два рубля 00 копеек'],
    [500, 'Пять рублей 00 копеек'],
    [1100, 'Одиннадцать рублей 00 копеек'],
    [2100, 'Двадцать один рубль 00 копеек'],
    [100_000_000, 'Один миллион рублей 00 копеек'],
    [0, 'Ноль рублей 00 копеек'],
    [1, 'Ноль рублей 01 копейка'],
    [2, 'Ноль рублей 02 копейки'],
    [11, 'Ноль рублей 11 копеек'],
    [21, 'Ноль рублей 21 копейка'],
    [112, 'Один рубль 12 копеек'],
    [2_000_00, 'Две тысячи рублей 00 копеек'],
    [1_001_00, 'Одна тысяча один рубль 00 копеек'],
    [5_000_000_00, 'Пять миллионов рублей 00 копеек'],
    [2_781_166, 'Двадцать семь тысяч восемьсот одиннадцать рублей 66 копеек'],
    [101_014_00, 'Сто одна тысяча четырнадцать рублей 00 копеек'],
    [2_000_002_00, 'Два миллиона два рубля 00 копеек'],
    [1_000_000_000_00, 'Один миллиард рублей 00 копеек'],
  ])('%d kopecks → %s', (k, words) => {
    expect(amountInWords(k)).toBe(words);
  });
});

describe('invoices over HTTP', () => {
  let stack: Stack;
  let fake: FakeBotApi;
  let filesDir: string;
  const shop = new ShopAdapter();
  const tokens: Record<string, string> = {};

  const post = (path: string, body: unknown, token?: string) =>
    api(stack, path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), token });
  const hook = (update: unknown) =>
    fetch(`${stack.base}/messengers/telegram/main/webhook`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': SECRET }, body: JSON.stringify(update),
    });
  const download = async (url: string, token = ADMIN_TOKEN) => {
    const res = await fetch(`${stack.base}${url.replace(/^\/api\/v1/, '')}`, { headers: { Authorization: `Bearer ${token}` } });
    return { status: res.status, type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
  };

  beforeAll(async () => {
    fake = new FakeBotApi();
    await fake.listen();
    filesDir = mkdtempSync(join(tmpdir(), 'tf-invoice-files-'));
    stack = await startStack('sqlite', {
      env: {
        TELEFONIST_TELEGRAM_BOTS: JSON.stringify([{ id: 'main', token: '123456:TEST-token', secret: SECRET }]),
        TELEFONIST_TELEGRAM_API_ROOT: fake.apiRoot,
        TELEFONIST_CHAT_FILES_DIR: filesDir,
      },
      start: { chatOutbox: { baseDelayMs: 50, maxDelayMs: 200, limits: { perSecond: 1000, perPeerIntervalMs: 0 } }, messengers: () => [shop] },
    });
    const sync = await post('/employees/sync', { employees: [{ extension: '1000', name: 'Анна Смирнова', login: 'anna' }, { extension: '1001', name: 'Иван Петров', login: 'ivan' }] });
    expect(sync.status).toBe(200);
    for (const ext of ['1000', '1001']) tokens[ext] = (await post('/tokens', { name: `op${ext}`, role: 'operator', employee: ext })).body.token;
  });
  afterAll(async () => {
    await stack?.stop();
    await fake?.close();
    rmSync(filesDir, { recursive: true, force: true });
  });

  test('rendered invoice in the customer\'s Telegram chat: PDF text read back, bytes equal to the download, the chat\'s rights', async () => {
    expect((await hook(customerUpdate(777, 1, { text: 'Пришлите счёт, пожалуйста' }))).status).toBe(200);
    const chat = (await api(stack, '/chats')).body.items.find((c: any) => c.peerId === '777');
    const r = await post('/invoices/send', { chatId: chat.id, invoice: invoice() }, tokens['1000']);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      continued: true,
      chat: { id: chat.id, status: 'in_work', responsible: '1000' },
      message: { direction: 'out', context: { invoice: 'ТФ-123' }, file: { mime: 'application/pdf', name: 'Счёт № ТФ-123 от 2026-11-24.pdf' } },
      invoice: { number: 'ТФ-123', total: '27 791,66', rendered: true, amountInWords: 'Двадцать семь тысяч семьсот девяносто один рубль 66 копеек' },
    });
    expect(r.body.message.text).toBe('Счёт на оплату № ТФ-123 от 24 ноября 2026 г. на сумму 27 791,66 руб.');

    await waitFor(() => fake.sent.some((s) => s.method === 'sendDocument' && s.chatId === '777'), 'invoice sent to Telegram');
    const doc = fake.sent.find((s) => s.method === 'sendDocument' && s.chatId === '777')!;
    expect(doc.caption).toBe(r.body.message.text);
    const got = await download(r.body.invoice.downloadUrl, tokens['1000']);
    expect(got.status).toBe(200);
    expect(got.type).toBe('application/pdf');
    expect(doc.file!.bytes.equals(got.bytes)).toBe(true);
    expect(got.bytes.length).toBe(r.body.invoice.file.size);
    // Ivan is neither responsible nor observer: the chat's rule keeps the invoice from him.
    expect((await download(r.body.invoice.downloadUrl, tokens['1001'])).status).toBe(403);

    // The font is embedded (a TrueType subset of DejaVu Sans), and the text reads back.
    expect(got.bytes.includes('/FontFile2')).toBe(true);
    expect(got.bytes.includes('DejaVuSans')).toBe(true);
    const { pages, numPages } = pdfText(got.bytes);
    expect(numPages).toBe(1);
    const text = pages.join('\n').replace(/\s+/g, ' ');
    for (const s of [
      'Счёт на оплату № ТФ-123 от 24 ноября 2026 г.',
      'ПАО СБЕРБАНК г. Москва', 'Банк получателя', 'БИК', '044525225', '30101810400000000225', '40702810900000000001',
      'ИНН 7701234567', 'КПП 770101001', 'Получатель',
      'Поставщик', 'Покупатель', 'ИП Иванов Иван Иванович, ИНН 770123456789',
      'Основание:', 'Договор № 15 от 01.02.2026',
      'Товары (работы, услуги)', 'Кресло офисное «Эргономик» (КР-01)', 'Бумага офисная А4, пачка', 'Доставка по Москве', 'Сборка мебели',
      '12 500,00', '25 000,00', '3,5', '0,125', 'без НДС',
      'Итого: 27 791,66', 'В том числе НДС: 4 272,73', 'Всего к оплате: 27 791,66',
      'Всего наименований 4, на сумму 27 791,66 руб.',
      'Двадцать семь тысяч семьсот девяносто один рубль 66 копеек',
      'Руководитель', 'Петров П. П.', 'Бухгалтер', 'Сидорова С. С.',
    ]) expect(text).toContain(s);
  });

  test('sums that do not add up: 400 naming the field', async () => {
    const chat = (await api(stack, '/chats')).body.items.find((c: any) => c.peerId === '777');
    const send = (inv: any) => post('/invoices/send', { employee: '1000', chatId: chat.id, invoice: inv });
    const before = fake.sent.length;

    let inv = invoice();
    inv.lines[3].amount = '124.99';
    let r = await send(inv);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invoice_mismatch', field: 'lines[3].amount' });
    expect(r.body.error.message).toMatch(/0\.125 × price 999\.99 = 125\.00/);

    inv = invoice();
    inv.lines[0].vat = '5000.00'; // 20% on top, but prices include VAT
    r = await send(inv);
    expect(r.body.error).toMatchObject({ code: 'invoice_mismatch', field: 'lines[0].vat' });
    expect(r.body.error.message).toMatch(/20% included in 25000\.00 is 4166\.67/);

    inv = invoice();
    inv.lines[3].vat = '20.83'; // без НДС has no VAT
    expect((await send(inv)).body.error).toMatchObject({ code: 'invoice_mismatch', field: 'lines[3].vat' });

    inv = invoice();
    delete inv.lines[1].vat;
    expect((await send(inv)).body.error).toMatchObject({ field: 'lines[1].vat' });

    inv = invoice();
    inv.totals.vat = '4272.72';
    expect((await send(inv)).body.error).toMatchObject({ field: 'totals.vat' });

    inv = invoice();
    inv.totals.total = '32064.39'; // VAT added on top, but prices include it
    expect((await send(inv)).body.error).toMatchObject({ field: 'totals.total' });

    // VAT on top: total = amount + vat.
    inv = invoice();
    inv.pricesIncludeVat = false;
    inv.lines[0].vat = '5000.00';
    inv.lines[1].vat = '116.67';
    inv.totals = { amount: '27791.66', vat: '5116.67', total: '32908.33' };
    expect(checkInvoice(invoiceSchema.parse(inv)).amountInWords).toBe('Тридцать две тысячи девятьсот восемь рублей 33 копейки');

    // A discount (1C's manual + automatic): amount = quantity × price − discount, printed in its own column.
    inv = invoice();
    inv.lines[0] = { ...inv.lines[0], discount: '500.00', amount: '24500.00', vat: '4083.33' };
    inv.totals = { amount: '27291.66', vat: '4189.39', total: '27291.66' };
    const discounted = checkInvoice(invoiceSchema.parse(inv));
    const dText = pdfText(await renderInvoicePdf(discounted)).pages.join(' ').replace(/\s+/g, ' ');
    expect(dText).toContain('Скидка');
    expect(dText).toContain('12 500,00 500,00 20% 24 500,00');
    inv.lines[0].discount = '400.00';
    expect((await send(inv)).body.error).toMatchObject({ field: 'lines[0].amount', message: expect.stringMatching(/− discount 400\.00 = 24600\.00/) });

    // Money is a decimal string, never a float; field-level 400s for the shape too.
    inv = invoice();
    inv.lines[0].price = 12500.0;
    expect((await send(inv)).body.error).toMatchObject({ code: 'invalid_body', field: 'invoice.lines[0].price' });
    inv = invoice();
    inv.lines[2].price = '1500.005';
    expect((await send(inv)).body.error.field).toBe('invoice.lines[2].price');
    inv = invoice();
    inv.lines[0].vatRate = '18%';
    expect((await send(inv)).body.error.field).toBe('invoice.lines[0].vatRate');
    inv = invoice();
    inv.seller.bank.bik = '04452522';
    expect((await send(inv)).body.error.field).toBe('invoice.seller.bank.bik');
    inv = invoice();
    inv.date = '2026-02-30';
    expect((await send(inv)).body.error.field).toBe('invoice.date');
    expect((await post('/invoices/send', { employee: '1000', invoice: invoice() })).body.error.field).toBe('accountId');
    expect((await post('/invoices/send', { employee: '1000', chatId: chat.id })).body.error.field).toBe('invoice');
    // Nothing was sent.
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.sent.length).toBe(before);
  });

  test('a new chat by phone + messenger account, with a template; 1C\'s own PDF passed through, checked by content', async () => {
    expect((await api(stack, '/chat-templates/invoice', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'Добрый день! Счёт № {invoiceNumber} от {date} на {amount} — {employeeName}' }) })).status).toBe(201);
    const r = await post('/invoices/send', { employee: '1001', accountId: 'shop', phone: '+7 916 555-44-33', customerId: 'partner-42', template: 'invoice', invoice: { ...invoice(), amountInWords: 'Двадцать семь тысяч семьсот девяносто один рубль 66 копеек (как в 1С)' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ continued: false, chat: { accountId: 'shop', phone: '+79165554433', responsible: '1001' } });
    expect(r.body.message.text).toBe('Добрый день! Счёт № ТФ-123 от 24 ноября 2026 г. на 27 791,66 руб. — Иван Петров');
    await waitFor(() => shop.sent.length === 1, 'sent by the shop adapter');
    const got = await download(r.body.invoice.downloadUrl, tokens['1001']);
    expect(shop.sent[0].file!.bytes.equals(got.bytes)).toBe(true);
    expect(pdfText(got.bytes).pages.join(' ')).toContain('(как в 1С)');

    // The same phone again: the active chat is continued (200).
    const pdf = await renderInvoicePdf(checkInvoice(invoiceSchema.parse(invoice())));
    const own = Buffer.concat([pdf.subarray(0, pdf.length - 6), Buffer.from('%%EOF\n')]);
    const again = await post('/invoices/send', { employee: '1001', accountId: 'shop', phone: '+79165554433', text: 'Счёт из 1С', pdf: { content: own.toString('base64'), number: '77', date: '2026-11-25', total: '100.00', fileName: 'Счет 77.pdf' } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ continued: true, chat: { id: r.body.chat.id }, invoice: { rendered: false, amountInWords: null, file: { name: 'Счет 77.pdf' } } });
    await waitFor(() => shop.sent.length === 2, 'second invoice sent');
    expect(shop.sent[1].file!.bytes.equals(own)).toBe(true);
    expect(shop.sent[1].text).toBe('Счёт из 1С');
    expect((await download(again.body.invoice.downloadUrl)).bytes.equals(own)).toBe(true);

    // Uploaded first (larger PDFs), then referenced by id.
    const up = await fetch(`${stack.base}/chat-files?name=x.pdf`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/octet-stream' }, body: pdf });
    const id = ((await up.json()) as { id: string }).id;
    const byId = await post('/invoices/send', { employee: '1001', accountId: 'shop', phone: '+79165554433', pdf: { fileId: id, number: '78', date: '2026-11-26', total: '5.50' } });
    expect(byId.status).toBe(200);
    expect(byId.body.message.text).toBe('Счёт на оплату № 78 от 26 ноября 2026 г. на сумму 5.50 руб.');
    await waitFor(() => shop.sent.length === 3, 'third invoice sent'); // the outbound queue sends asynchronously

    // Not a PDF by content, whatever it is called.
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100, 1)]);
    const bad = await post('/invoices/send', { employee: '1001', accountId: 'shop', phone: '+79165554433', pdf: { content: png.toString('base64'), number: '79', date: '2026-11-26', total: '1.00', fileName: 'счёт.pdf' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_pdf', field: 'pdf' });
    const truncated = await post('/invoices/send', { employee: '1001', accountId: 'shop', phone: '+79165554433', pdf: { content: pdf.subarray(0, 2000).toString('base64'), number: '79', date: '2026-11-26', total: '1.00' } });
    expect(truncated.body.error).toMatchObject({ code: 'invalid_pdf' });
    await new Promise((r) => setTimeout(r, 300)); // give a wrongly queued message time to go out
    expect(shop.sent.length).toBe(3); // the refused ones sent nothing

    // Only the 1C customer: his most recent active chat; none → 422 before anything is stored.
    const byCustomer = await post('/invoices/send', { employee: '1001', customerId: 'partner-42', invoice: invoice() });
    expect(byCustomer.status).toBe(200);
    expect(byCustomer.body.chat.id).toBe(r.body.chat.id);
    await waitFor(() => shop.sent.length === 4, 'sent to the customer\'s active chat');
    const none = await post('/invoices/send', { employee: '1001', customerId: 'partner-0', invoice: invoice() });
    expect(none.status).toBe(422);
    expect(none.body.error).toMatchObject({ code: 'no_active_chat', field: 'customerId' });
    // Anna may not write in Ivan's chat: the customer's active chat is not hers.
    expect((await post('/invoices/send', { customerId: 'partner-42', invoice: invoice() }, tokens['1000'])).body.error.code).toBe('no_active_chat');
    expect((await post('/invoices/send', { chatId: r.body.chat.id, invoice: invoice() }, tokens['1000'])).status).toBe(403);
  });

  test('a 50-line invoice pages its lines and keeps every one', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => ({ name: `Позиция ${i + 1}: ёлочная игрушка «Шар» с длинным названием, чтобы строка переносилась`, quantity: '3', unit: 'шт', price: '1000.10', vatRate: '20%', vat: '500.05', amount: '3000.30' }));
    const inv = checkInvoice(invoiceSchema.parse({ ...invoice(), lines, totals: { amount: '150015.00', vat: '25002.50', total: '150015.00' } }));
    const { pages, numPages } = pdfText(await renderInvoicePdf(inv));
    expect(numPages).toBeGreaterThan(1);
    const text = pages.join('\n').replace(/\s+/g, ' ');
    for (let i = 1; i <= 50; i++) expect(text).toContain(`Позиция ${i}:`);
    expect(pages[1]).toContain('Товары (работы, услуги)'); // the header repeated on the next page
    expect(text).toContain('Сто пятьдесят тысяч пятнадцать рублей 00 копеек');
  });
});
