/**
 * One chat: messages with author, time, delivery state and the failure reason; the composer with an
 * attachment (POST /chat-files, then the message), a template with its placeholders, and @mentions of
 * employees (the server makes them observers); handover and close. A 403 is shown as such.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { Alert, Button, Card, Checkbox, Input, Mentions, Modal, Popconfirm, Select, Space, Spin, Tag, Tooltip, Typography, Upload } from 'antd';
import { CloseCircleOutlined, PaperClipOutlined, SendOutlined, SwapOutlined, UserAddOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { api, ApiError, Employee } from '../api/client';
import { useSession } from '../shell/session';
import { fmtTime, fmtPhone } from '../format';
import { Chat, ChatMessage, ChatTemplate, chatsApi } from './api';
import { chatTitle } from './ChatsPage';
import { ChatAnalysisCard } from './ChatAnalysis';
import { InvoiceAttachment, invoiceOf, templateRefusal } from './ChatExtras';

const STATE_COLOR: Record<string, string> = { received: 'default', queued: 'gold', sent: 'blue', delivered: 'cyan', read: 'green', failed: 'red', note: 'purple' };

let employeesCache: Promise<Employee[]> | null = null;
function loadEmployees(): Promise<Employee[]> {
  employeesCache ??= api.employees.list().then((r) => [...r.items]).catch(() => {
    employeesCache = null;
    return [];
  });
  return employeesCache;
}

export function useEmployees(): Employee[] {
  const [list, setList] = useState<Employee[]>([]);
  useEffect(() => {
    void loadEmployees().then(setList);
  }, []);
  return list;
}

function errorText(e: unknown, t: (k: string, o?: Record<string, unknown>) => string): string {
  if (e instanceof ApiError && e.status === 403) return `${t('errors.forbidden')}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

export function ChatWindow({ chatId, tick, onChanged }: { chatId: string; tick: number; onChanged: (chat: Chat | null, me: string | null) => void }) {
  const { t } = useTranslation();
  const { extension: me } = useSession();
  const employees = useEmployees();
  const nameOf = (ext: string | null) => {
    if (!ext) return '';
    const e = employees.find((x) => x.extension === ext);
    return e ? `${e.fullName ?? e.name ?? ext}` : ext;
  };
  const [chat, setChat] = useState<Chat | null>(null);
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [forbidden, setForbidden] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [internal, setInternal] = useState(false);
  const [file, setFile] = useState<{ id: string; name: string; size: number } | null>(null);
  const [uploading, setUploading] = useState(false);
  const [templates, setTemplates] = useState<ChatTemplate[]>([]);
  const [template, setTemplate] = useState<string | null>(null);
  const [vars, setVars] = useState<Record<string, string>>({});
  const [sending, setSending] = useState(false);
  const [sendError, setSendError] = useState<string | null>(null);
  /** The messenger refused free text (WhatsApp's 24-hour window): the composer is the template picker. */
  const [windowClosed, setWindowClosed] = useState<{ code: string; message: string; at: number } | null>(null);
  const [handing, setHanding] = useState(false);
  const bottom = useRef<HTMLDivElement | null>(null);

  useEffect(() => {
    void chatsApi.templates().then((r) => setTemplates(r.items)).catch(() => setTemplates([]));
  }, []);

  useEffect(() => {
    let live = true;
    Promise.all([chatsApi.get(chatId), chatsApi.messages(chatId)])
      .then(([c, m]) => {
        if (!live) return;
        setChat(c);
        setMessages(m.items);
        // The customer wrote after the refusal: the window is open again.
        setWindowClosed((w) => (w && m.items.some((x) => x.direction === 'in' && Date.parse(x.createdAt) > w.at) ? null : w));
        setForbidden(null);
        setLoadError(null);
        if (c.unread > 0 && me) void chatsApi.read(chatId).catch(() => undefined);
      })
      .catch((e) => {
        if (!live) return;
        if (e instanceof ApiError && e.status === 403) setForbidden(e.message);
        else setLoadError(errorText(e, t));
      });
    return () => {
      live = false;
    };
  }, [chatId, tick, me, t]);

  useEffect(() => setWindowClosed(null), [chatId]);

  useEffect(() => {
    bottom.current?.scrollIntoView?.({ block: 'end' });
  }, [messages.length]);

  const tpl = useMemo(() => templates.find((x) => x.name === template) ?? null, [templates, template]);
  const mentionOptions = useMemo(
    () => employees.filter((e) => e.extension !== me).map((e) => ({ value: e.extension, label: `${e.fullName ?? e.name ?? e.extension} (${e.extension})` })),
    [employees, me],
  );

  if (forbidden !== null) {
    return (
      <Alert type="error" showIcon data-testid="chats-forbidden" message={t('errors.forbidden')} description={t('chats.forbidden', { message: forbidden })} />
    );
  }
  if (loadError) return <Alert type="error" showIcon message={loadError} />;
  if (!chat) return <Spin />;

  // The window as the server tells it (chat.window), or a refusal of the last send: the composer is the picker.
  const closesAt = chat.window?.closesAt ?? null;
  const closedInfo: { code: string; message: string } | null = windowClosed
    ?? (chat.window && !chat.window.open && chat.status !== 'closed'
      ? { code: 'window', message: closesAt ? t('chats.window.closedAt', { time: fmtTime(closesAt) }) : t('chats.window.neverWrote') }
      : null);
  const mine = chat.responsible === me;
  const canManage = mine; // supervisors too; the server says 403 otherwise

  async function send() {
    if (!chat) return;
    const body: Parameters<typeof chatsApi.send>[1] = {};
    if (tpl) {
      body.template = tpl.name;
      const given = Object.fromEntries(Object.entries(vars).filter(([, v]) => v.trim()));
      if (Object.keys(given).length) body.vars = given;
    } else if (text.trim()) body.text = text.trim();
    if (file) body.file = { id: file.id, name: file.name };
    if (internal) body.internal = true;
    if (!body.text && !body.template && !body.file) return;
    setSending(true);
    setSendError(null);
    try {
      const m = await chatsApi.send(chat.id, body);
      setMessages((list) => (list.some((x) => x.id === m.id) ? list : [...list, m]));
      setText('');
      setFile(null);
      setTemplate(null);
      setVars({});
      setWindowClosed(null); // a refusal is past; the chat's window (below) still shows the picker while closed
      const after = await chatsApi.get(chat.id);
      setChat(after);
      onChanged(after, me);
    } catch (e) {
      const refusal = templateRefusal(e);
      if (refusal) {
        setWindowClosed(refusal);
        if (!tpl && templates.length === 1) setTemplate(templates[0].name);
      } else setSendError(errorText(e, t));
    } finally {
      setSending(false);
    }
  }

  async function attach(f: File) {
    setUploading(true);
    setSendError(null);
    try {
      const r = await chatsApi.upload(f);
      setFile({ id: r.id, name: f.name, size: r.size });
    } catch (e) {
      setSendError(errorText(e, t));
    } finally {
      setUploading(false);
    }
  }

  async function act(fn: () => Promise<Chat>) {
    setSendError(null);
    try {
      const after = await fn();
      setChat(after);
      onChanged(after, me);
    } catch (e) {
      setSendError(errorText(e, t));
    }
  }

  return (
    <Card
      data-testid="chats-window"
      data-chat-id={chat.id}
      data-status={chat.status}
      data-responsible={chat.responsible ?? ''}
      title={
        <Space wrap>
          <span data-testid="chats-window-title">{chatTitle(chat)}</span>
          {chat.phone ? <Typography.Text type="secondary">{fmtPhone(chat.phone)}</Typography.Text> : null}
          <Tag>{chat.messenger}</Tag>
          <Tag color={chat.status === 'queue' ? 'orange' : chat.status === 'in_work' ? 'blue' : 'default'} data-testid="chats-window-status">
            {t(`chats.status.${chat.status}`)}
          </Tag>
          {chat.responsible ? <Typography.Text type="secondary">{t('chats.responsible', { name: nameOf(chat.responsible) })}</Typography.Text> : null}
          {chat.observers.length ? <Typography.Text type="secondary">{t('chats.observers', { names: chat.observers.map(nameOf).join(', ') })}</Typography.Text> : null}
        </Space>
      }
      extra={
        <Space>
          <Button icon={<SwapOutlined />} disabled={!canManage || chat.status === 'closed'} onClick={() => setHanding(true)} data-testid="chats-handover">
            {t('chats.handover.button')}
          </Button>
          <Popconfirm title={t('chats.closeConfirm')} onConfirm={() => act(() => chatsApi.close(chat.id))}>
            <Button icon={<CloseCircleOutlined />} disabled={!canManage || chat.status === 'closed'} data-testid="chats-close">
              {t('chats.close')}
            </Button>
          </Popconfirm>
        </Space>
      }
    >
      <div style={{ maxHeight: 'calc(100vh - 420px)', minHeight: 200, overflowY: 'auto', paddingRight: 8 }} data-testid="chats-messages">
        {messages.map((m) => (
          <div
            key={m.id}
            data-testid="chats-message"
            data-direction={m.direction}
            data-state={m.state}
            style={{ display: 'flex', justifyContent: m.direction === 'in' ? 'flex-start' : 'flex-end', margin: '6px 0' }}
          >
            <div
              style={{
                maxWidth: '75%',
                padding: '6px 10px',
                borderRadius: 8,
                background: m.direction === 'in' ? '#f5f5f5' : m.direction === 'note' ? '#f9f0ff' : '#e6f4ff',
              }}
            >
              <div style={{ fontSize: 12, color: '#888' }}>
                <span data-testid="chats-message-author">{m.direction === 'in' ? chatTitle(chat) : nameOf(m.author)}</span> · {fmtTime(m.createdAt)}
                {m.direction === 'note' ? ` · ${t('chats.note')}` : ''}
              </div>
              {m.deletedAt ? <Typography.Text type="secondary">{t('chats.deleted')}</Typography.Text> : <div style={{ whiteSpace: 'pre-wrap' }}>{m.text}</div>}
              {m.file && invoiceOf(m) ? (
                <InvoiceAttachment message={m} href={chatsApi.fileUrl(chat.id, m.id)} />
              ) : m.file ? (
                <div>
                  <a href={chatsApi.fileUrl(chat.id, m.id)} download={m.file.name} data-testid="chats-message-file">
                    <PaperClipOutlined /> {m.file.name} ({Math.ceil(m.file.size / 1024)} KB)
                  </a>
                </div>
              ) : null}
              <div style={{ fontSize: 12, textAlign: 'right' }}>
                {m.editedAt ? <Typography.Text type="secondary">{t('chats.edited')} </Typography.Text> : null}
                {m.direction !== 'in' ? (
                  <Tooltip title={m.failure ?? undefined}>
                    <Tag color={STATE_COLOR[m.state]} data-testid="chats-message-state" style={{ marginInlineEnd: 0 }}>
                      {t(`chats.state.${m.state}`)}
                    </Tag>
                  </Tooltip>
                ) : null}
                {m.failure ? (
                  <div data-testid="chats-message-failure">
                    <Typography.Text type={m.state === 'failed' ? 'danger' : 'secondary'}>{m.failure}</Typography.Text>
                  </div>
                ) : null}
              </div>
            </div>
          </div>
        ))}
        <div ref={bottom} />
      </div>

      <div style={{ marginTop: 12 }}>
        {sendError ? <Alert type="error" showIcon message={sendError} style={{ marginBottom: 8 }} data-testid="chats-send-error" closable onClose={() => setSendError(null)} /> : null}
        {chat.status === 'queue' ? <Alert type="info" message={t('chats.queueHint')} style={{ marginBottom: 8 }} /> : null}
        {closedInfo ? (
          <Alert
            type="warning"
            showIcon
            style={{ marginBottom: 8 }}
            data-testid="chats-window-closed"
            data-code={closedInfo.code}
            message={t(
              closedInfo.code === 'template_not_mapped' ? 'chats.window.notMapped' : closedInfo.code === 'template_without_document_header' ? 'chats.window.noDocumentHeader' : 'chats.window.closed',
              { messenger: t(`chats.messenger.${chat.messenger}`, { defaultValue: chat.messenger }) },
            )}
            description={
              <>
                <div>{t('chats.window.pick')}</div>
                <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid="chats-window-reason">{closedInfo.message}</Typography.Text>
              </>
            }
          />
        ) : chat.window?.open && closesAt && chat.status !== 'closed' ? (
          <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginBottom: 8 }} data-testid="chats-window-open">
            {t('chats.window.openUntil', { time: fmtTime(closesAt) })}
          </Typography.Paragraph>
        ) : null}
        {tpl ? (
          <Card size="small" style={{ marginBottom: 8 }} title={t('chats.template.using', { name: tpl.name })} extra={<Button size="small" type="link" onClick={() => setTemplate(null)}>{t('chats.template.cancel')}</Button>}>
            <Typography.Paragraph type="secondary" style={{ whiteSpace: 'pre-wrap' }}>{tpl.text}</Typography.Paragraph>
            <Space wrap>
              {tpl.placeholders.map((p) => (
                <span key={p} data-testid={`chats-var-${p}`}>
                  <Input size="small" addonBefore={`{${p}}`} placeholder={t('chats.template.auto')} value={vars[p] ?? ''} onChange={(e) => setVars((v) => ({ ...v, [p]: e.target.value }))} />
                </span>
              ))}
            </Space>
          </Card>
        ) : closedInfo && !internal ? (
          <div data-testid="chats-template-picker">
            <Select
              style={{ width: '100%' }}
              placeholder={t('chats.window.pickPlaceholder')}
              value={template}
              onChange={(v) => {
                setTemplate(v);
                setVars({});
              }}
              options={templates.map((x) => ({ value: x.name, label: `${x.name} — ${x.text}` }))}
              notFoundContent={t('chats.template.none')}
              data-testid="chats-window-template"
            />
          </div>
        ) : (
          <div data-testid="chats-composer">
          <Mentions
            rows={3}
            value={text}
            onChange={setText}
            placeholder={t('chats.inputPlaceholder')}
            options={mentionOptions}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send();
            }}
          />
          </div>
        )}
        <Space style={{ marginTop: 8 }} wrap>
          <Upload
            showUploadList={false}
            beforeUpload={(f) => {
              void attach(f as unknown as File);
              return false;
            }}
          >
            <Button icon={<PaperClipOutlined />} loading={uploading} data-testid="chats-attach">
              {t('chats.attach')}
            </Button>
          </Upload>
          {file ? (
            <Tag closable onClose={() => setFile(null)} data-testid="chats-attached">
              {file.name}
            </Tag>
          ) : null}
          <Select
            style={{ minWidth: 200 }}
            placeholder={t('chats.template.pick')}
            value={template}
            onChange={(v) => {
              setTemplate(v);
              setVars({});
            }}
            allowClear
            options={templates.map((x) => ({ value: x.name, label: x.name }))}
            notFoundContent={t('chats.template.none')}
            data-testid="chats-template"
          />
          <Checkbox checked={internal} onChange={(e) => setInternal(e.target.checked)} data-testid="chats-internal">
            {t('chats.internal')}
          </Checkbox>
          <Button type="primary" icon={<SendOutlined />} loading={sending} onClick={() => void send()} data-testid="chats-send">
            {t('chats.send')}
          </Button>
        </Space>
        <div>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            <UserAddOutlined /> {t('chats.mentionHint')}
          </Typography.Text>
        </div>
      </div>

      <HandoverDialog
        open={handing}
        employees={employees.filter((e) => e.extension !== chat.responsible)}
        onCancel={() => setHanding(false)}
        onOk={(to, keep) => {
          setHanding(false);
          void act(() => chatsApi.handover(chat.id, to, keep));
        }}
      />
      <ChatAnalysisCard chatId={chat.id} chatStatus={chat.status} />
    </Card>
  );
}

function HandoverDialog({ open, employees, onCancel, onOk }: { open: boolean; employees: Employee[]; onCancel: () => void; onOk: (to: string, keep: boolean) => void }) {
  const { t } = useTranslation();
  const [to, setTo] = useState<string | null>(null);
  const [keep, setKeep] = useState(true);
  return (
    <Modal open={open} title={t('chats.handover.title')} onCancel={onCancel} onOk={() => to && onOk(to, keep)} okButtonProps={{ disabled: !to, 'data-testid': 'chats-handover-ok' } as never} okText={t('chats.handover.ok')}>
      <Space direction="vertical" style={{ width: '100%' }}>
        <Select
          showSearch
          optionFilterProp="label"
          style={{ width: '100%' }}
          placeholder={t('chats.handover.to')}
          value={to}
          onChange={setTo}
          options={employees.map((e) => ({ value: e.extension, label: `${e.fullName ?? e.name ?? e.extension} (${e.extension})` }))}
          data-testid="chats-handover-to"
        />
        <Checkbox checked={keep} onChange={(e) => setKeep(e.target.checked)}>
          {t('chats.handover.keep')}
        </Checkbox>
      </Space>
    </Modal>
  );
}
