import { Router } from 'express';
import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { TokenService } from '../auth/tokens';
import { EMPLOYEE_EXTENSION_RE } from '../employees/employee-input';
import { InvoiceMismatch, invoiceSchema } from '../invoices/invoice';
import { InvoiceService, SendInvoiceInput } from '../invoices/service';
import { requireRole } from './auth';
import { actorOf, mapErrors, phoneOf } from './chats';
import { ApiError, jsonBody, route } from './errors';

const ALL = ['admin', 'supervisor', 'operator', 'integration'] as const;
const ref = z.string().min(1).max(200);
const SHA_RE = /^[0-9a-f]{64}$/;
const B64_RE = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

const pdfBody = z.object({
  fileId: z.string().regex(SHA_RE, 'must be the id POST /chat-files returned').optional(),
  content: z.string().min(1).regex(B64_RE, 'must be base64').optional(),
  fileName: z.string().trim().min(1).max(200).optional(),
  number: z.string().trim().min(1).max(50),
  date: invoiceSchema.shape.date,
  total: invoiceSchema.shape.totals.shape.total,
}).strict();

export const invoiceSendBody = z.object({
  employee: z.string().regex(EMPLOYEE_EXTENSION_RE, 'must be an extension: 2 to 6 digits').optional(),
  chatId: z.string().uuid('must be a chat id (UUID)').optional(),
  accountId: z.string().min(1).max(64).optional(),
  phone: z.string().min(1).max(200).optional(),
  customerId: ref.optional(),
  contactId: ref.optional(),
  template: z.string().min(1).max(100).optional(),
  text: z.string().min(1).max(4096).optional(),
  invoice: invoiceSchema.optional(),
  pdf: pdfBody.optional(),
}).strict();

/**
 * POST /invoices/send (C14): 1C's invoice checked and rendered as a PDF (or 1C's own PDF passed through),
 * sent as an attachment in a chat. Money fields are decimal strings in rubles (src/invoices/invoice.ts).
 */
export function invoicesRouter(tokens: TokenService, service: InvoiceService, region: CountryCode): Router {
  const r = Router();
  const all = requireRole(tokens, ALL);

  r.post('/invoices/send', all, route(async (req, res) => {
    try {
      const body = jsonBody(req, invoiceSendBody);
      if ((body.invoice ? 1 : 0) + (body.pdf ? 1 : 0) !== 1) throw new ApiError(400, 'invalid_body', 'give either invoice (we render the PDF) or pdf (1C\'s own PDF)', 'invoice');
      if (body.chatId && (body.accountId || body.phone)) throw new ApiError(400, 'invalid_body', 'give either chatId or accountId + phone, not both', 'chatId');
      if (!body.chatId && !body.accountId && !body.customerId) throw new ApiError(400, 'invalid_body', 'give chatId, accountId + phone (the active chat there, or a new one), or customerId (the customer\'s active chat)', 'accountId');
      if (body.accountId && !body.phone) throw new ApiError(400, 'invalid_body', 'phone is required with accountId', 'phone');
      if (body.phone && !body.accountId) throw new ApiError(400, 'invalid_body', 'accountId is required with phone', 'accountId');
      if (body.template && body.text) throw new ApiError(400, 'invalid_body', 'give either template or text', 'text');
      let source: SendInvoiceInput['source'];
      if (body.invoice) source = { invoice: body.invoice };
      else {
        const p = body.pdf!;
        if ((p.fileId ? 1 : 0) + (p.content ? 1 : 0) !== 1) throw new ApiError(400, 'invalid_body', 'give either pdf.fileId (uploaded with POST /chat-files) or pdf.content (base64)', 'pdf.fileId');
        let bytes: Buffer;
        if (p.fileId) {
          if (!service.files.has(p.fileId)) throw new ApiError(400, 'invalid_file', `no uploaded file ${p.fileId}: upload it with POST /chat-files first`, 'pdf.fileId');
          bytes = await service.files.read(p.fileId);
        } else bytes = Buffer.from(p.content!, 'base64');
        source = { pdf: { bytes, number: p.number, date: p.date, total: p.total, fileName: p.fileName } };
      }
      const a = actorOf(req, service.engine, body.employee);
      const recipient: SendInvoiceInput['recipient'] = body.chatId
        ? { chatId: body.chatId }
        : body.accountId
          ? { accountId: body.accountId, phone: phoneOf(body.phone!, region), customerId: body.customerId, contactId: body.contactId }
          : { customerId: body.customerId! };
      const out = await service.send(a, { recipient, source, template: body.template, text: body.text });
      res.status(out.continued ? 200 : 201).json({
        ...out,
        invoice: { ...out.invoice, downloadUrl: `/api/v1/chats/${out.chat.id}/messages/${out.message.id}/file` },
      });
    } catch (e) {
      if (e instanceof InvoiceMismatch) throw new ApiError(400, 'invoice_mismatch', e.message, e.field);
      mapErrors(e);
    }
  }));

  return r;
}
