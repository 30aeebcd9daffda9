import { VAT_RATES } from '../invoices/invoice';
import { errorResponses, json, nullable, ref } from './openapi-parts';

/** OpenAPI parts for invoices (issue 14, C14): POST /invoices/send. */

const money = (description: string) => ({ type: 'string', pattern: '^(0|[1-9][0-9]{0,14})(\\.[0-9]{1,2})?$', description: `${description} Rubles as a decimal string with at most 2 decimals ("1234.50"), never a number.`, example: '1234.50' });
const digits = (n: string, description: string) => ({ type: 'string', pattern: `^[0-9]{${n}}$`, description });
const bank = {
  type: 'object', required: ['name', 'bik', 'account', 'corrAccount'], additionalProperties: false,
  properties: {
    name: { type: 'string', description: 'Банк получателя.' },
    bik: digits('9', 'БИК.'),
    account: digits('20', 'Расчётный счёт.'),
    corrAccount: digits('20', 'Корреспондентский счёт.'),
  },
};
const party = (withBank: boolean) => ({
  type: 'object', required: ['name', 'inn', ...(withBank ? ['bank'] : [])], additionalProperties: false,
  properties: {
    name: { type: 'string' },
    inn: { type: 'string', pattern: '^([0-9]{10}|[0-9]{12})$', description: 'ИНН: 10 digits (organisation) or 12 (individual entrepreneur).' },
    kpp: digits('9', 'КПП.'),
    address: { type: 'string' },
    phone: { type: 'string' },
    bank,
  },
});

export const invoiceSchemas = {
  Invoice: {
    type: 'object',
    required: ['number', 'date', 'seller', 'buyer', 'lines', 'totals'],
    additionalProperties: false,
    description: 'An invoice from 1C (Счёт на оплату). Every sum is checked: a line\'s amount = quantity × price rounded half up to kopecks, less its `discount`; its VAT agrees with the rate (included: amount × rate / (100 + rate); on top: amount × rate / 100); the totals are the sums of the lines. A mismatch is a 400 `invoice_mismatch` whose `field` names it (`lines[3].amount`, `lines[0].vat`, `totals.total`).',
    properties: {
      number: { type: 'string', maxLength: 50 },
      date: { type: 'string', format: 'date', description: 'YYYY-MM-DD.' },
      seller: party(true),
      buyer: party(false),
      pricesIncludeVat: { type: 'boolean', default: true, description: 'Prices and amounts include VAT («в т.ч. НДС»); false: VAT is added on top.' },
      basis: { type: 'string', description: 'Основание (a contract, an order).' },
      lines: {
        type: 'array', minItems: 1, maxItems: 1000,
        items: {
          type: 'object', required: ['name', 'quantity', 'unit', 'price', 'vatRate', 'amount'], additionalProperties: false,
          properties: {
            name: { type: 'string' },
            code: { type: 'string', description: 'Артикул, printed after the name.' },
            quantity: { type: 'string', pattern: '^(0|[1-9][0-9]{0,11})(\\.[0-9]{1,3})?$', description: 'A decimal string with at most 3 decimals, more than 0.', example: '1.5' },
            unit: { type: 'string', example: 'шт' },
            price: money('Price per unit.'),
            vatRate: { type: 'string', enum: [...VAT_RATES, '20', '10', '0', 'none'], description: '"20%", "10%", "0%" or "без НДС" ("20", "10", "0", "none" are accepted too).' },
            discount: money('The line\'s discount (1C: manual + automatic); amount = quantity × price − discount.'),
            vat: money('The line\'s VAT; required unless the rate is 0% or без НДС.'),
            amount: money('quantity × price, rounded to kopecks.'),
          },
        },
      },
      totals: {
        type: 'object', required: ['amount', 'vat', 'total'], additionalProperties: false,
        properties: { amount: money('Σ line amounts (Итого).'), vat: money('Σ line VAT.'), total: money('Всего к оплате: amount (VAT included) or amount + vat.') },
      },
      amountInWords: { type: 'string', description: 'Сумма прописью, printed as given; computed in Russian when absent.' },
      comment: { type: 'string', description: 'Printed under the lines (payment terms).' },
      signatures: { type: 'object', additionalProperties: false, properties: { director: { type: 'string' }, accountant: { type: 'string' } } },
    },
  },
  SentInvoice: {
    type: 'object',
    required: ['chat', 'message', 'continued', 'invoice'],
    properties: {
      chat: ref('Chat'),
      message: ref('ChatMessage'),
      continued: { type: 'boolean', description: 'An existing chat was used (200); false: a new chat was started (201).' },
      invoice: {
        type: 'object',
        required: ['number', 'date', 'total', 'amountInWords', 'rendered', 'file', 'downloadUrl'],
        properties: {
          number: { type: 'string' },
          date: { type: 'string', format: 'date' },
          total: { type: 'string', description: 'As printed: "1 234,50".' },
          amountInWords: nullable({ type: 'string', description: 'Null for 1C\'s own PDF.' }),
          rendered: { type: 'boolean', description: 'true: we rendered the PDF; false: 1C\'s PDF passed through.' },
          file: { type: 'object', required: ['id', 'name', 'size'], properties: { id: { type: 'string' }, name: { type: 'string' }, size: { type: 'integer' } } },
          downloadUrl: { type: 'string', description: 'GET it with the chat\'s rights: /api/v1/chats/{id}/messages/{n}/file.' },
        },
      },
    },
  },
};

export const invoicePaths = {
  '/invoices/send': {
    post: {
      summary: 'Send an invoice as a PDF in the customer\'s chat (rendered from 1C\'s data, or 1C\'s own PDF)',
      description: [
        'Either `invoice` (we check the sums, render an A4 «Счёт на оплату» with an embedded Cyrillic font) or `pdf` (1C\'s own file: `fileId` from POST /chat-files, or `content` in base64 up to the 1 MB JSON limit; checked to be a PDF by content → 400 `invalid_pdf`).',
        'Where: `chatId`; or `accountId` + `phone` (the active chat with that phone on that account is continued, else a new one is started with the same rules as POST /chats/start); or only `customerId` (the 1C customer\'s most recent active chat the employee may write in; none → 422 `no_active_chat`).',
        'The text: `template` (rendered with invoiceNumber, date, amount and the chat\'s customer), `text`, or by default «Счёт на оплату № {invoiceNumber} от {date} на сумму {amount}».',
        'The PDF is stored with the message; download it with the chat\'s rights from `invoice.downloadUrl`.',
      ].join('\n\n'),
      security: [{ bearer: [] }],
      requestBody: {
        required: true,
        content: json({
          type: 'object', additionalProperties: false,
          properties: {
            employee: { type: 'string', pattern: '^[0-9]{2,6}$', description: 'The employee this request acts for (integration, admin).' },
            chatId: { type: 'string', format: 'uuid' },
            accountId: { type: 'string' },
            phone: { type: 'string' },
            customerId: { type: 'string' },
            contactId: { type: 'string' },
            template: { type: 'string' },
            text: { type: 'string', maxLength: 4096 },
            invoice: ref('Invoice'),
            pdf: {
              type: 'object', required: ['number', 'date', 'total'], additionalProperties: false,
              properties: {
                fileId: { type: 'string', description: 'From POST /chat-files.' },
                content: { type: 'string', format: 'byte', description: 'The PDF in base64.' },
                fileName: { type: 'string' },
                number: { type: 'string' },
                date: { type: 'string', format: 'date' },
                total: money('For the message text.'),
              },
            },
          },
        }),
      },
      responses: {
        '200': { description: 'Sent in an existing chat.', content: json(ref('SentInvoice')) },
        '201': { description: 'Sent in a new chat.', content: json(ref('SentInvoice')) },
        '422': { description: 'The phone is not reachable in that messenger (`not_registered`), the account cannot write first (`cannot_write_first`), (customerId only) the customer has no active chat (`no_active_chat`); WhatsApp Cloud outside the 24-hour window: free text without `template` (`template_required`), a template with no WhatsApp form for this account (`template_not_mapped`), or a mapped template without a DOCUMENT header for the PDF (`template_without_document_header`).', content: json(ref('Error')) },
        ...errorResponses(400, 401, 403, 404, 413, 415),
      },
    },
  },
};
