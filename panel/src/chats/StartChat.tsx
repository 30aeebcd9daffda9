/**
 * Начать чат: a phone, every messenger account that may write to it (Telegram, WhatsApp), and the first
 * message or a template. There is no check-only endpoint: each ticked account gets POST /chats/start and its
 * answer is shown beside the others — "есть в WhatsApp", "нет в Telegram" (422 not_registered), "не
 * проверить" (reachability unknown, or 422 cannot_write_first: a bot, an unknown number), "нужен шаблон"
 * (422 template_required / template_not_mapped: WhatsApp Cloud's first message).
 */
import { useEffect, useState } from 'react';
import { Alert, Checkbox, Col, Form, Input, Modal, Row, Select, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';
import { Chat, ChatTemplate, chatsApi, Messenger } from './api';

type Answer = { type: 'error' | 'warning' | 'success' | 'info'; code: string; text: string; detail?: string };

const TONE: Record<Answer['type'], { bg: string; border: string; text: string }> = {
  success: { bg: '#f6ffed', border: '#b7eb8f', text: '#389e0d' },
  info: { bg: '#e6f4ff', border: '#91caff', text: '#0958d9' },
  warning: { bg: '#fffbe6', border: '#ffe58f', text: '#d48806' },
  error: { bg: '#fff2f0', border: '#ffccc7', text: '#cf1322' },
};

/** A bot cannot write first; user accounts and WhatsApp numbers can. */
const writesFirst = (m: Messenger) => m.kind !== 'telegram';

export function StartChat({ open, onClose, onStarted }: { open: boolean; onClose: () => void; onStarted: (chat: Chat) => void }) {
  const { t } = useTranslation();
  const [accounts, setAccounts] = useState<Messenger[]>([]);
  const [picked, setPicked] = useState<string[]>([]);
  const [templates, setTemplates] = useState<ChatTemplate[]>([]);
  const [template, setTemplate] = useState<string | null>(null);
  const [phone, setPhone] = useState('');
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [answers, setAnswers] = useState<Record<string, Answer>>({});
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!open) return;
    setAnswers({});
    setError(null);
    void chatsApi
      .messengers()
      .then((r) => {
        setAccounts(r.items);
        setPicked(r.items.filter(writesFirst).map((x) => x.accountId));
      })
      .catch(() => setAccounts([]));
    void chatsApi.templates().then((r) => setTemplates(r.items)).catch(() => setTemplates([]));
  }, [open]);

  const kindName = (a: Messenger) => t(`chats.messenger.${a.kind}`, { defaultValue: a.kind });
  const label = (a: Messenger) => `${kindName(a)} · ${a.username ? `@${a.username}` : a.accountId}`;

  async function one(a: Messenger): Promise<{ answer: Answer; chat?: Chat }> {
    const messenger = kindName(a);
    try {
      const r = await chatsApi.start({
        accountId: a.accountId,
        phone: phone.trim(),
        ...(template ? { template } : text.trim() ? { text: text.trim() } : {}),
      });
      const reach = r.reachability?.reachable ?? 'unknown';
      const extra = r.continued ? t('chats.start.continued') : t('chats.start.started');
      return {
        chat: r.chat,
        answer: { type: reach === 'yes' ? 'success' : 'info', code: reach, text: t(`chats.start.reach_${reach}`, { messenger }), detail: r.reachability?.reason ? `${extra} ${r.reachability.reason}` : extra },
      };
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) {
        if (e.code === 'not_registered') return { answer: { type: 'error', code: e.code, text: t('chats.start.reach_no', { messenger }), detail: e.message } };
        if (e.code === 'cannot_write_first') return { answer: { type: 'warning', code: e.code, text: t('chats.start.reach_unknown', { messenger }), detail: t('chats.start.cannotWriteFirst', { reason: e.message }) } };
        if (e.code === 'template_required' || e.code === 'template_not_mapped')
          return { answer: { type: 'warning', code: e.code, text: t('chats.start.templateNeeded', { messenger }), detail: e.message } };
        return { answer: { type: 'warning', code: e.code, text: e.message } };
      }
      if (e instanceof ApiError && e.status === 403) return { answer: { type: 'error', code: 'forbidden', text: `${t('errors.forbidden')}: ${e.message}` } };
      return { answer: { type: 'error', code: 'error', text: (e as Error).message } };
    }
  }

  async function submit() {
    const chosen = accounts.filter((a) => picked.includes(a.accountId));
    if (!chosen.length || !phone.trim()) return;
    setBusy(true);
    setAnswers({});
    setError(null);
    try {
      const results = await Promise.all(chosen.map(async (a) => [a.accountId, await one(a)] as const));
      setAnswers(Object.fromEntries(results.map(([id, r]) => [id, r.answer])));
      const first = results.find(([, r]) => r.chat)?.[1].chat;
      if (first) onStarted(first);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const shown = accounts.filter((a) => answers[a.accountId]);
  return (
    <Modal
      open={open}
      title={t('chats.start.title')}
      onCancel={onClose}
      onOk={() => void submit()}
      okText={t('chats.start.ok')}
      confirmLoading={busy}
      width={720}
      okButtonProps={{ disabled: !picked.length || !phone.trim(), 'data-testid': 'chats-start-ok' } as never}
      destroyOnHidden
    >
      <Form layout="vertical">
        <Form.Item label={t('chats.start.phone')}>
          <Input value={phone} onChange={(e) => setPhone(e.target.value)} placeholder="+7 916 123-45-67" data-testid="chats-start-phone" />
        </Form.Item>
        <Form.Item label={t('chats.start.accounts')} extra={t('chats.start.accountsHint')}>
          {accounts.length ? (
            <Checkbox.Group value={picked} onChange={(v) => setPicked(v as string[])} data-testid="chats-start-accounts">
              {accounts.map((a) => (
                <span key={a.accountId} data-testid="chats-start-account" data-account={a.accountId}>
                  <Checkbox value={a.accountId}>{label(a)}</Checkbox>
                </span>
              ))}
            </Checkbox.Group>
          ) : (
            <Typography.Text type="secondary">{t('chats.start.noAccounts')}</Typography.Text>
          )}
        </Form.Item>
        <Form.Item label={t('chats.start.text')}>
          <Input.TextArea rows={2} value={text} disabled={!!template} onChange={(e) => setText(e.target.value)} data-testid="chats-start-text" />
        </Form.Item>
        <Form.Item label={t('chats.template.pick')} extra={t('chats.start.templateHint')}>
          <Select
            allowClear
            value={template}
            onChange={(v) => setTemplate(v ?? null)}
            options={templates.map((x) => ({ value: x.name, label: x.name }))}
            notFoundContent={t('chats.template.none')}
            data-testid="chats-start-template"
          />
        </Form.Item>
      </Form>
      {error ? <Alert type="error" showIcon message={error} /> : null}
      {shown.length ? (
        <Row gutter={8} data-testid="chats-start-answers">
          {shown.map((a) => {
            const ans = answers[a.accountId];
            return (
              <Col key={a.accountId} flex="1 1 0" style={{ minWidth: 120 }}>
                <div
                  data-testid="chats-start-answer"
                  data-account={a.accountId}
                  data-code={ans.code}
                  style={{ height: '100%', padding: '6px 10px', borderRadius: 6, border: `1px solid ${TONE[ans.type].border}`, background: TONE[ans.type].bg }}
                >
                  <Typography.Text strong style={{ color: TONE[ans.type].text }}>{ans.text}</Typography.Text>
                  <div style={{ fontSize: 12, color: '#888' }}>{label(a)}</div>
                  {ans.detail ? <Typography.Paragraph style={{ fontSize: 12, marginBottom: 0 }} ellipsis={{ rows: 3, tooltip: ans.detail }}>{ans.detail}</Typography.Paragraph> : null}
                </div>
              </Col>
            );
          })}
        </Row>
      ) : null}
    </Modal>
  );
}
