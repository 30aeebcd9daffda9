import { Button, Card, Form, Input, List, Modal, Select, Space, Tag, Typography, message } from 'antd';
import { useEffect, useLayoutEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { bindNumber, createCustomer } from './actions';
import { bannerPainted } from './bench';
import { callsStore, LiveCall, useLiveCalls } from './calls';
import { HistoryList } from './CustomerHistory';
import { formatPhone } from './format';
import { liveApi } from './http';
import { errorLine } from '../api/errors';

function CreateCustomer({ call, onClose }: { call: LiveCall; onClose: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm();
  return (
    <Modal
      open
      title={t('live.create.title')}
      okText={t('live.create.ok')}
      onCancel={onClose}
      onOk={async () => {
        const { name } = await form.validateFields();
        const out = await createCustomer(call.callId, name);
        if (out) {
          void message.success(t('live.create.done'));
          onClose();
        }
      }}
    >
      <Form form={form} layout="vertical">
        <Form.Item label={t('live.card.number')}>{formatPhone(call.numberE164 ?? call.number)}</Form.Item>
        <Form.Item name="name" label={t('live.create.name')} rules={[{ required: true }]}>
          <Input data-testid="live-create-name" autoFocus />
        </Form.Item>
      </Form>
    </Modal>
  );
}

interface Found {
  kind: 'customer' | 'contact';
  id: string;
  name: string;
  inn?: string | null;
  customer?: { id: string; name: string };
}

/**
 * "Привязать": find the customer or contact person (GET /directory/search: part of a name, INN, another
 * number of theirs), pick one, optionally a contact person of the customer, then POST
 * /customers/{id}/phones with the caller's number.
 */
function BindNumber({ call, onClose }: { call: LiveCall; onClose: () => void }) {
  const { t } = useTranslation();
  const number = call.numberE164 ?? call.number ?? '';
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Found[] | null>(null);
  const [searching, setSearching] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [picked, setPicked] = useState<{ customer: { id: string; name: string }; contactId?: string } | null>(null);
  const [contacts, setContacts] = useState<Array<{ id: string; name: string }>>([]);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    const text = q.trim();
    if (text.length < 3) {
      setFound(null);
      setError(null);
      return;
    }
    let alive = true;
    setSearching(true);
    const timer = setTimeout(() => {
      liveApi<{ items: Found[] }>(`/directory/search?q=${encodeURIComponent(text)}&limit=20`).then(
        (b) => alive && (setFound(b.items), setError(null), setSearching(false)),
        (e) => alive && (setFound(null), setError(errorLine(e, t, { byStatus: { 400: t('search.tooShort') } })), setSearching(false)),
      );
    }, 250);
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [q, t]);

  const customerId = picked?.customer.id;
  useEffect(() => {
    if (!customerId) {
      setContacts([]);
      return;
    }
    let alive = true;
    liveApi(`/customers/${encodeURIComponent(customerId)}`).then(
      (c) => alive && setContacts((c.contacts ?? []).map((k: any) => ({ id: k.id, name: k.name }))),
      () => alive && setContacts([]),
    );
    return () => {
      alive = false;
    };
  }, [customerId]);

  const pick = (f: Found) =>
    setPicked(f.kind === 'contact' && f.customer ? { customer: f.customer, contactId: f.id } : { customer: { id: f.id, name: f.name } });

  return (
    <Modal
      open
      title={t('live.bind.title', { number: formatPhone(number) })}
      okText={t('live.bind.ok')}
      okButtonProps={{ disabled: !picked, loading: saving, 'data-testid': 'live-bind-ok' } as any}
      onCancel={onClose}
      onOk={async () => {
        if (!picked) return;
        setSaving(true);
        const out = await bindNumber(picked.customer.id, number, picked.contactId);
        setSaving(false);
        if (out) {
          void message.success(t('live.bind.done'));
          onClose();
        }
      }}
    >
      <Input.Search
        value={q}
        onChange={(e) => setQ(e.target.value)}
        placeholder={t('live.bind.search')}
        loading={searching}
        allowClear
        autoFocus
        data-testid="live-bind-search"
      />
      {error && <Typography.Text type="danger">{error}</Typography.Text>}
      {found && (
        <List
          size="small"
          style={{ maxHeight: 240, overflow: 'auto', marginTop: 8 }}
          locale={{ emptyText: t('search.nothing') }}
          dataSource={found}
          renderItem={(f) => {
            const selected = picked && (f.kind === 'contact' ? picked.contactId === f.id : picked.customer.id === f.id && !picked.contactId);
            return (
              <List.Item
                key={`${f.kind}:${f.id}`}
                onClick={() => pick(f)}
                style={{ cursor: 'pointer', background: selected ? '#e6f4ff' : undefined, paddingInline: 8 }}
                data-testid="live-bind-hit"
              >
                <Space direction="vertical" size={0}>
                  <Space>
                    <Typography.Text strong={!!selected}>{f.name}</Typography.Text>
                    <Tag>{t(`search.kind.${f.kind}`)}</Tag>
                  </Space>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {f.kind === 'contact' ? f.customer?.name : f.inn ? `ИНН ${f.inn}` : ''}
                  </Typography.Text>
                </Space>
              </List.Item>
            );
          }}
        />
      )}
      {picked && (
        <Form layout="vertical" style={{ marginTop: 12 }}>
          <Form.Item label={t('live.bind.customer')}>
            <Typography.Text strong data-testid="live-bind-picked">{picked.customer.name}</Typography.Text>
          </Form.Item>
          <Form.Item label={t('live.bind.contact')}>
            <Select
              allowClear
              value={picked.contactId}
              placeholder={t('live.bind.noContact')}
              onChange={(v) => setPicked({ customer: picked.customer, contactId: v || undefined })}
              options={contacts.map((k) => ({ value: k.id, label: k.name }))}
              data-testid="live-bind-contact"
            />
          </Form.Item>
        </Form>
      )}
      {!picked && !found && <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>{t('live.bind.pick')}</Typography.Paragraph>}
    </Modal>
  );
}

function Banner({ call }: { call: LiveCall }) {
  const { t } = useTranslation();
  const [dialog, setDialog] = useState<'create' | 'bind' | null>(null);
  useLayoutEffect(() => bannerPainted(call.callId, call.bannerEventAt), [call.callId, call.bannerEventAt]);
  const number = formatPhone(call.numberE164 ?? call.number);
  return (
    <Card
      size="small"
      data-testid="live-banner"
      data-call-id={call.callId}
      style={{ width: 'min(340px, calc(100vw - 32px))', boxShadow: '0 6px 16px rgba(0,0,0,.18)', borderLeft: '4px solid #1677ff' }}
      title={<Tag color="blue">{t('live.banner.incoming')}</Tag>}
      extra={
        <Button size="small" type="text" onClick={() => callsStore.dismiss(call.callId)}>
          ×
        </Button>
      }
    >
      {/* The DID called, on its own line: in the card's title it was cut to "+7 495 000-00…" at 340 px. */}
      {call.did && (
        <div data-testid="live-banner-did">
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t('live.banner.did', { did: formatPhone(call.did) })}
          </Typography.Text>
        </div>
      )}
      {call.customer ? (
        <>
          <Typography.Title level={5} style={{ margin: 0 }} data-testid="live-banner-name">
            {call.contact?.name || call.customer.name}
          </Typography.Title>
          {call.contact && <Typography.Text>{call.customer.name}</Typography.Text>}
          <div>
            <Typography.Text type="secondary">{number}</Typography.Text>
          </div>
          <Typography.Text strong style={{ fontSize: 12 }}>
            {t('live.banner.history')}
          </Typography.Text>
          <HistoryList customerId={call.customer.id} limit={3} excludeCallId={call.callId} />
        </>
      ) : (
        <>
          <Typography.Title level={5} style={{ margin: 0 }} data-testid="live-banner-name">
            {number || call.callerName || t('live.banner.unknown')}
          </Typography.Title>
          <Typography.Text type="secondary">{call.callerName && number ? call.callerName : t('live.banner.unknown')}</Typography.Text>
          {call.direction !== 'internal' && (
            <Space wrap style={{ marginTop: 8 }}>
              <Button size="small" type="primary" data-testid="live-banner-create" onClick={() => setDialog('create')}>
                {t('live.banner.create')}
              </Button>
              <Button size="small" data-testid="live-banner-bind" onClick={() => setDialog('bind')}>
                {t('live.banner.bind')}
              </Button>
            </Space>
          )}
        </>
      )}
      {dialog === 'create' && <CreateCustomer call={call} onClose={() => setDialog(null)} />}
      {dialog === 'bind' && <BindNumber call={call} onClose={() => setDialog(null)} />}
    </Card>
  );
}

/** One banner per call ringing for me, newest on top. */
export function IncomingBanners() {
  const { calls } = useLiveCalls();
  const ringing = calls.filter((c) => c.state === 'ringing' && c.role === 'callee');
  if (!ringing.length) return null;
  return (
    <div data-testid="live-banners" style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
      {ringing.map((c) => (
        <Banner key={c.callId} call={c} />
      ))}
    </div>
  );
}
