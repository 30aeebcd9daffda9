/**
 * The chat window's issue-14 parts: a messenger's refusal of free text (WhatsApp's 24-hour window → 422
 * template_required / template_not_mapped), and an invoice PDF sent by 1C through POST /invoices/send shown as
 * «Счёт № … на сумму …» with download and open. The message has no invoice field: the invoice is recognised by
 * its PDF attachment named «Счёт № N от …» (the name /invoices/send gives) and the amount read from its text
 * («… на сумму 1 234,50 руб.», the default invoice text) when there is one.
 */
import { Button, Space, Typography } from 'antd';
import { DownloadOutlined, ExportOutlined, FilePdfOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';
import { ChatMessage } from './api';

export function templateRefusal(e: unknown): { code: string; message: string; at: number } | null {
  if (e instanceof ApiError && e.status === 422 && (e.code === 'template_required' || e.code === 'template_not_mapped' || e.code === 'template_without_document_header')) return { code: e.code, message: e.message, at: Date.now() };
  return null;
}

export interface InvoiceInfo {
  number: string;
  amount: string | null;
}

const NAME_RE = /^Сч[её]т(?: на оплату)?\s*№\s*(.+?)(?:\s+от\s+.+)?\.pdf$/i;
const TEXT_NUMBER_RE = /Сч[её]т(?: на оплату)?\s*№\s*(\S+)/i;
const TEXT_AMOUNT_RE = /на сумму\s+(.+?)\s*$/im;

export function invoiceOf(m: ChatMessage): InvoiceInfo | null {
  const f = m.file;
  if (!f) return null;
  const pdf = f.mime === 'application/pdf' || /\.pdf$/i.test(f.name);
  if (!pdf) return null;
  const byName = NAME_RE.exec(f.name);
  const byText = m.text ? TEXT_NUMBER_RE.exec(m.text) : null;
  const number = byName?.[1] ?? byText?.[1];
  if (!number) return null;
  const amount = m.text ? (TEXT_AMOUNT_RE.exec(m.text)?.[1] ?? null) : null;
  return { number, amount };
}

export function InvoiceAttachment({ message, href }: { message: ChatMessage; href: string }) {
  const { t } = useTranslation();
  const inv = invoiceOf(message)!;
  const f = message.file!;
  return (
    <div
      data-testid="chats-invoice"
      data-number={inv.number}
      style={{ marginTop: 6, padding: '6px 8px', border: '1px solid #d9d9d9', borderRadius: 6, background: '#fff' }}
    >
      <Space align="start">
        <FilePdfOutlined style={{ fontSize: 24, color: '#cf1322' }} />
        <div>
          <Typography.Text strong data-testid="chats-invoice-title">
            {inv.amount ? t('chats.invoice.title', { number: inv.number, amount: inv.amount }) : t('chats.invoice.titleNoAmount', { number: inv.number })}
          </Typography.Text>
          <div style={{ fontSize: 12, color: '#888' }}>
            {f.name} · {Math.ceil(f.size / 1024)} KB
          </div>
          <Space size="small" style={{ marginTop: 4 }}>
            <Button size="small" icon={<DownloadOutlined />} href={href} download={f.name} data-testid="chats-invoice-download">
              {t('chats.invoice.download')}
            </Button>
            <Button size="small" type="link" icon={<ExportOutlined />} href={href} target="_blank" rel="noopener" data-testid="chats-invoice-open">
              {t('chats.invoice.open')}
            </Button>
          </Space>
        </div>
      </Space>
    </div>
  );
}
