import { Actor, ChatEngine, ChatError, ChatView, MessageView } from '../chats/engine';
import { sniffType } from '../chats/files';
import { renderTemplate } from '../chats/templates';
import { checkInvoice, CheckedInvoice, formatMoney, InvoiceInput } from './invoice';
import { renderInvoicePdf, russianDate } from './pdf';

/** The message text when 1C names no template and gives no text (the same placeholders as templates). */
export const DEFAULT_INVOICE_TEXT = 'Счёт на оплату № {invoiceNumber} от {date} на сумму {amount}';

/**
 * Where the invoice goes: a chat by id; the active chat with a phone on an account (else a new one); or the
 * 1C customer's most recent active chat the employee may write in (none: 422 `no_active_chat`).
 */
export type InvoiceRecipient =
  | { chatId: string }
  | { accountId: string; phone: string; customerId?: string; contactId?: string }
  | { customerId: string };

export interface SendInvoiceInput {
  recipient: InvoiceRecipient;
  /** 1C's invoice to render, or 1C's own PDF (already stored in the chat files). */
  source: { invoice: InvoiceInput } | { pdf: { bytes: Buffer; number: string; date: string; total: string; fileName?: string } };
  template?: string;
  text?: string;
}

export interface SentInvoice {
  chat: ChatView;
  message: MessageView;
  continued: boolean;
  invoice: { number: string; date: string; total: string; amountInWords: string | null; rendered: boolean; file: { id: string; name: string; size: number } };
}

/** A ready PDF from 1C, checked by its content (not its name or a header). */
export function checkPdf(bytes: Buffer): void {
  if (sniffType(bytes) !== 'application/pdf' || !bytes.subarray(Math.max(0, bytes.length - 1024)).includes('%%EOF')) {
    throw new ChatError(400, 'invalid_pdf', 'pdf is not a PDF document (it must start with %PDF- and end with %%EOF)', 'pdf');
  }
}

/**
 * Invoices (C14): checks 1C's sums, renders the PDF (or takes 1C's own), stores it with the chat files and
 * sends it as an attachment through the chat engine, with a template text. Every chat rule (who may
 * write, starting by phone, the outbox) is the engine's.
 */
export class InvoiceService {
  readonly stats = { rendered: 0, passedThrough: 0 };

  constructor(readonly engine: ChatEngine) {}

  get files() {
    return this.engine.files;
  }

  check(inv: InvoiceInput): CheckedInvoice {
    return checkInvoice(inv);
  }

  render(inv: CheckedInvoice): Promise<Buffer> {
    return renderInvoicePdf(inv);
  }

  async send(a: Actor, input: SendInvoiceInput): Promise<SentInvoice> {
    // Where first: a customer without an active chat is refused before anything is rendered or stored.
    const r = input.recipient;
    let chatId: string | null = null;
    if ('chatId' in r) chatId = r.chatId;
    else if (!('phone' in r)) {
      const active = await this.engine.activeOfCustomer(r.customerId, a);
      if (!active.length) throw new ChatError(422, 'no_active_chat', `customer ${r.customerId} has no active chat this employee may write in: give accountId + phone to start one`, 'customerId');
      chatId = active[0].id;
    }
    let pdf: Buffer;
    let meta: SentInvoice['invoice'];
    let fileName: string;
    if ('invoice' in input.source) {
      const inv = checkInvoice(input.source.invoice);
      pdf = await renderInvoicePdf(inv);
      fileName = `Счёт № ${inv.number} от ${inv.date}.pdf`;
      meta = { number: inv.number, date: inv.date, total: formatMoney(inv.totals.total), amountInWords: inv.amountInWords, rendered: true, file: { id: '', name: '', size: 0 } };
      this.stats.rendered++;
    } else {
      const p = input.source.pdf;
      checkPdf(p.bytes);
      pdf = p.bytes;
      fileName = p.fileName ?? `Счёт № ${p.number} от ${p.date}.pdf`;
      meta = { number: p.number, date: p.date, total: p.total, amountInWords: null, rendered: false, file: { id: '', name: '', size: 0 } };
      this.stats.passedThrough++;
    }
    fileName = fileName.replace(/[\\/]/g, '-');
    const stored = await this.engine.files.put(pdf, fileName);
    const vars = { invoiceNumber: meta.number, date: russianDate(meta.date), amount: `${meta.total} руб.` };
    let text = input.text;
    if (!input.template && !text) text = renderTemplate(DEFAULT_INVOICE_TEXT, vars);
    const message = {
      text,
      template: input.template,
      vars,
      file: { id: stored.id, name: fileName },
      context: { invoice: meta.number },
    };
    let chat: ChatView;
    let sent: MessageView;
    let continued = true;
    if (chatId) {
      sent = await this.engine.send(chatId, a, message);
      chat = await this.engine.get(chatId, a);
    } else {
      const out = await this.engine.startByPhone(a, { ...(input.recipient as Extract<InvoiceRecipient, { phone: string }>), ...message });
      chat = out.chat;
      sent = out.message!;
      continued = out.continued;
    }
    meta.file = { id: stored.id, name: sent.file?.name ?? fileName, size: stored.size };
    return { chat, message: sent, continued, invoice: meta };
  }
}
