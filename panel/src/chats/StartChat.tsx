/**
 * Начать чат: a phone and one of our messenger accounts, and the first message. The server asks the
 * messenger first: "not registered" (422 not_registered) and "this account cannot write first"
 * (422 cannot_write_first, e.g. a bot, or the check said unknown) are shown in plain words.
 */
import { useEffect, useState } from 'react';
import { Alert, Form, Input, Modal, Select } from 'antd';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';
import { Chat, chatsApi, Messenger } from './api';

export function StartChat({ open, onClose, onStarted }: { open: boolean; onClose: () => void; onStarted: (chat: Chat) => void }) {
  const { t } = useTranslation();
  const [accounts, setAccounts] = useState<Messenger[]>([]);
  const [accountId, setAccountId] = useState<string | undefined>();
  const [phone, setPhone] = useState('');
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<{ type: 'error' | 'warning' | 'success'; code: string; text: string } | null>(null);

  useEffect(() => {
    if (!open) return;
    setAnswer(null);
    void chatsApi
      .messengers()
      .then((r) => {
        setAccounts(r.items);
        setAccountId((a) => a ?? r.items.find((x) => x.kind === 'telegram_user')?.accountId ?? r.items[0]?.accountId);
      })
      .catch(() => setAccounts([]));
  }, [open]);

  const account = accounts.find((a) => a.accountId === accountId);
  const messenger = account ? t(`chats.messenger.${account.kind}`, { defaultValue: account.kind }) : '';

  async function submit() {
    if (!accountId || !phone.trim()) return;
    setBusy(true);
    setAnswer(null);
    try {
      const r = await chatsApi.start({ accountId, phone: phone.trim(), ...(text.trim() ? { text: text.trim() } : {}) });
      const reach = r.reachability?.reachable ?? 'unknown';
      setAnswer({ type: 'success', code: reach, text: t(`chats.start.reach_${reach}`, { messenger }) + (r.continued ? ` ${t('chats.start.continued')}` : '') });
      setPhone('');
      setText('');
      onStarted(r.chat);
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) {
        const code = e.code;
        const msg =
          code === 'not_registered'
            ? t('chats.start.notRegistered', { messenger })
            : code === 'cannot_write_first'
              ? t('chats.start.cannotWriteFirst', { reason: e.message })
              : e.message;
        setAnswer({ type: code === 'not_registered' ? 'error' : 'warning', code, text: msg });
      } else if (e instanceof ApiError && e.status === 403) {
        setAnswer({ type: 'error', code: 'forbidden', text: `${t('errors.forbidden')}: ${e.message}` });
      } else {
        setAnswer({ type: 'error', code: 'error', text: (e as Error).message });
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={open}
      title={t('chats.start.title')}
      onCancel={onClose}
      onOk={() => void submit()}
      okText={t('chats.start.ok')}
      confirmLoading={busy}
      okButtonProps={{ disabled: !accountId || !phone.trim(), 'data-testid': 'chats-start-ok' } as never}
      destroyOnHidden
    >
      <Form layout="vertical">
        <Form.Item label={t('chats.start.account')}>
          <Select
            value={accountId}
            onChange={setAccountId}
            options={accounts.map((a) => ({ value: a.accountId, label: `${t(`chats.messenger.${a.kind}`, { defaultValue: a.kind })} · ${a.username ? `@${a.username}` : a.accountId}` }))}
            notFoundContent={t('chats.start.noAccounts')}
            data-testid="chats-start-account"
          />
        </Form.Item>
        <Form.Item label={t('chats.start.phone')}>
          <Input value={phone} onChange={(e) => setPhone(e.target.value)} placeholder="+7 916 123-45-67" data-testid="chats-start-phone" />
        </Form.Item>
        <Form.Item label={t('chats.start.text')}>
          <Input.TextArea rows={3} value={text} onChange={(e) => setText(e.target.value)} data-testid="chats-start-text" />
        </Form.Item>
      </Form>
      {answer ? <Alert type={answer.type} showIcon message={answer.text} data-testid="chats-start-answer" data-code={answer.code} /> : null}
    </Modal>
  );
}
