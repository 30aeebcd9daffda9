/**
 * Начать чат: a phone and the messenger accounts to ask. «Проверить номер» asks each ticked account whether it
 * can write to that phone (GET /chats/reachability: checks only, sends nothing, makes no chat) and shows the
 * answers side by side — "есть в WhatsApp", "нет в Telegram", "не проверить" (a bot or WhatsApp Cloud cannot
 * check). Then the employee picks ONE account to write from and «Начать» sends the first message there
 * (POST /chats/start); "нужен шаблон" (422 template_required / template_not_mapped: WhatsApp Cloud's first
 * message) and "нельзя написать первым" come back on that account's answer.
 */
import { useEffect, useState } from 'react';
import { Alert, Button, Checkbox, Col, Form, Input, Modal, Radio, Row, Select, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';
import { Chat, ChatTemplate, chatsApi, Messenger, Reach } from './api';

type Answer = { type: 'error' | 'warning' | 'success' | 'info'; code: string; text: string; detail?: string };

const TONE: Record<Answer['type'], { bg: string; border: string; text: string }> = {
  success: { bg: '#f6ffed', border: '#b7eb8f', text: '#389e0d' },
  info: { bg: '#e6f4ff', border: '#91caff', text: '#0958d9' },
  warning: { bg: '#fffbe6', border: '#ffe58f', text: '#d48806' },
  error: { bg: '#fff2f0', border: '#ffccc7', text: '#cf1322' },
};

/** The answer a reachability check gives, as shown in a box. */
function reachAnswer(r: Reach, messenger: string, t: (k: string, o?: Record<string, unknown>) => string): Answer {
  const type: Answer['type'] = r.reachable === 'yes' ? 'success' : r.reachable === 'no' ? 'error' : 'info';
  const notes = [r.activeChatId ? t('chats.start.activeChat') : null, r.reachable !== 'no' && !r.canWriteFirst ? t('chats.start.cannotFirst') : null, r.reason]
    .filter(Boolean).join(' · ');
  return { type, code: r.reachable, text: t(`chats.start.reach_${r.reachable}`, { messenger }), detail: notes || undefined };
}

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
  const [reach, setReach] = useState<Reach[]>([]);
  const [from, setFrom] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!open) return;
    setAnswers({});
    setReach([]);
    setFrom(null);
    setError(null);
    void chatsApi
      .messengers()
      .then((r) => {
        setAccounts(r.items);
        setPicked(r.items.map((x) => x.accountId));
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

  /** Asks every ticked account; writes nothing. The account to write from defaults to the first that can. */
  async function check() {
    const chosen = accounts.filter((a) => picked.includes(a.accountId));
    if (!chosen.length || !phone.trim()) return;
    setBusy(true);
    setAnswers({});
    setError(null);
    try {
      const r = await chatsApi.reachability(phone.trim(), chosen.map((a) => a.accountId));
      setReach(r.items);
      const byId = new Map(accounts.map((a) => [a.accountId, a]));
      setAnswers(Object.fromEntries(r.items.map((x) => [x.accountId, reachAnswer(x, byId.get(x.accountId) ? kindName(byId.get(x.accountId)!) : x.kind, t)])));
      const writable = r.items.filter((x) => x.activeChatId || (x.canWriteFirst && x.reachable !== 'no'));
      setFrom((writable.find((x) => x.reachable === 'yes') ?? writable[0])?.accountId ?? null);
    } catch (e) {
      setError(e instanceof ApiError && e.field === 'phone' ? e.message : (e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  /** Starts the chat on the one chosen account (its answer box shows what came back). */
  async function submit() {
    const a = accounts.find((x) => x.accountId === from);
    if (!a) return;
    setBusy(true);
    setError(null);
    try {
      const r = await one(a);
      setAnswers((prev) => ({ ...prev, [a.accountId]: r.answer }));
      if (r.chat) onStarted(r.chat);
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
      okButtonProps={{ disabled: !from || !phone.trim(), 'data-testid': 'chats-start-ok' } as never}
      destroyOnHidden
    >
      <Form layout="vertical">
        <Form.Item label={t('chats.start.phone')}>
          <Input
            value={phone}
            onChange={(e) => {
              setPhone(e.target.value);
              setReach([]);
              setAnswers({});
              setFrom(null);
            }}
            onPressEnter={() => void check()}
            placeholder="+7 916 123-45-67"
            data-testid="chats-start-phone"
          />
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
          <div style={{ marginTop: 8 }}>
            <Button onClick={() => void check()} loading={busy} disabled={!picked.length || !phone.trim()} data-testid="chats-start-check">
              {t('chats.start.check')}
            </Button>
          </div>
        </Form.Item>
        {reach.length ? (
          <Form.Item label={t('chats.start.from')} extra={t('chats.start.fromHint')}>
            <Radio.Group value={from} onChange={(e) => setFrom(e.target.value as string)} data-testid="chats-start-from">
              {reach.map((x) => {
                const a = accounts.find((y) => y.accountId === x.accountId);
                const can = !!x.activeChatId || (x.canWriteFirst && x.reachable !== 'no');
                return (
                  <span key={x.accountId} data-testid="chats-start-from-option" data-account={x.accountId}>
                    <Radio value={x.accountId} disabled={!can}>
                      {a ? label(a) : x.accountId}
                    </Radio>
                  </span>
                );
              })}
            </Radio.Group>
          </Form.Item>
        ) : null}
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
