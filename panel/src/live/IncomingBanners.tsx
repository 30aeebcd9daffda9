import { Button, Card, Form, Input, List, Modal, Space, Tag, Typography, message } from 'antd';
import { useEffect, useLayoutEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { bindNumber, createCustomer } from './actions';
import { bannerPainted } from './bench';
import { callsStore, LiveCall, useLiveCalls } from './calls';
import { formatDuration, formatPhone, formatTime } from './format';
import { liveApi } from './http';

/** The customer's last interactions (GET /customers/{id}/history). */
export function useHistory(customerId: string | null | undefined, limit: number): { items: any[]; loading: boolean } {
  const [state, setState] = useState<{ items: any[]; loading: boolean }>({ items: [], loading: !!customerId });
  useEffect(() => {
    if (!customerId) {
      setState({ items: [], loading: false });
      return;
    }
    let alive = true;
    setState((s) => ({ ...s, loading: true }));
    liveApi<{ items: any[] }>(`/customers/${encodeURIComponent(customerId)}/history?limit=${limit}`).then(
      (b) => alive && setState({ items: b.items, loading: false }),
      () => alive && setState({ items: [], loading: false }),
    );
    return () => {
      alive = false;
    };
  }, [customerId, limit]);
  return state;
}

export function HistoryList({ customerId, limit, excludeCallId }: { customerId: string; limit: number; excludeCallId?: string }) {
  const { t } = useTranslation();
  const { items, loading } = useHistory(customerId, limit + 1);
  const rows = items.filter((x) => x.id !== excludeCallId).slice(0, limit);
  return (
    <List
      size="small"
      loading={loading}
      locale={{ emptyText: t('live.banner.noHistory') }}
      dataSource={rows}
      renderItem={(c: any) => (
        <List.Item style={{ padding: '2px 0' }}>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {formatTime(c.startedAt)} · {c.direction === 'inbound' ? '←' : '→'} {t(`status.${c.status}`, { defaultValue: c.status })}
            {c.talkSeconds ? ` · ${formatDuration(c.talkSeconds * 1000)}` : ''}
            {c.employees?.length ? ` · ${c.employees.join(', ')}` : ''}
          </Typography.Text>
        </List.Item>
      )}
    />
  );
}

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

function BindNumber({ call, onClose }: { call: LiveCall; onClose: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm();
  const number = call.numberE164 ?? call.number ?? '';
  return (
    <Modal
      open
      title={t('live.bind.title', { number: formatPhone(number) })}
      okText={t('live.bind.ok')}
      onCancel={onClose}
      onOk={async () => {
        const v = await form.validateFields();
        const out = await bindNumber(v.customer.trim(), number, v.contact?.trim() || undefined);
        if (out) {
          void message.success(t('live.bind.done'));
          onClose();
        }
      }}
    >
      <Form form={form} layout="vertical">
        <Form.Item name="customer" label={t('live.bind.customer')} rules={[{ required: true }]}>
          <Input data-testid="live-bind-customer" />
        </Form.Item>
        <Form.Item name="contact" label={t('live.bind.contact')}>
          <Input />
        </Form.Item>
      </Form>
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
      title={
        <Space>
          <Tag color="blue">{t('live.banner.incoming')}</Tag>
          {call.did && <Typography.Text type="secondary">{t('live.banner.did', { did: formatPhone(call.did) })}</Typography.Text>}
        </Space>
      }
      extra={
        <Button size="small" type="text" onClick={() => callsStore.dismiss(call.callId)}>
          ×
        </Button>
      }
    >
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
              <Button size="small" onClick={() => setDialog('bind')}>
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
