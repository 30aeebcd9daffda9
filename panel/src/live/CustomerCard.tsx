import { Descriptions, Drawer, List, Spin, Typography } from 'antd';
import { MessageOutlined } from '@ant-design/icons';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from '../router';
import { callsStore, useLiveCalls } from './calls';
import { useLiveRefresh } from './events';
import { formatPhone, formatTime } from './format';
import { liveApi, LiveApiError } from './http';
import { HistoryList } from './IncomingBanners';

/** A chat as GET /chats lists it (the fields the card shows). */
interface ChatRow {
  id: string;
  messenger: string;
  peerName: string | null;
  status: string;
  responsible: string | null;
  lastMessageAt: string;
}

/** The customer's chats this user may see (GET /chats?customerId=…: the chat rules are the server's). */
function ChatHistory({ customerId, limit }: { customerId: string; limit: number }) {
  const { t } = useTranslation();
  const [state, setState] = useState<{ items: ChatRow[]; loading: boolean; error: string | null }>({ items: [], loading: true, error: null });
  const [tick, setTick] = useState(0);
  useLiveRefresh(() => setTick((n) => n + 1), (e) => e.type.startsWith('chat.') && (!e.data?.customerId || e.data.customerId === customerId));
  useEffect(() => {
    let alive = true;
    liveApi<{ items: ChatRow[] }>(`/chats?customerId=${encodeURIComponent(customerId)}&limit=${limit}`).then(
      (b) => alive && setState({ items: b.items, loading: false, error: null }),
      (e) => alive && setState({ items: [], loading: false, error: e instanceof LiveApiError ? `${e.status} · ${e.message}` : String(e) }),
    );
    return () => {
      alive = false;
    };
  }, [customerId, limit, tick]);
  if (state.error) return <Typography.Text type="secondary" data-testid="live-card-chats-error">{t('live.card.chatsError', { error: state.error })}</Typography.Text>;
  return (
    <List
      size="small"
      loading={state.loading}
      locale={{ emptyText: t('live.card.noChats') }}
      dataSource={state.items}
      data-testid="live-card-chats"
      renderItem={(c) => (
        <List.Item style={{ padding: '2px 0' }} data-testid="live-card-chat" data-chat-id={c.id}>
          <Link to={`/chats?chat=${encodeURIComponent(c.id)}`} style={{ fontSize: 12 }}>
            <MessageOutlined /> {t('live.card.chat')} · {t(`chats.messenger.${c.messenger}`, { defaultValue: c.messenger })}
          </Link>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {' '}· {formatTime(c.lastMessageAt)} · {t(`chats.status.${c.status}`, { defaultValue: c.status })}
            {c.responsible ? ` · ${c.responsible}` : ''}
            {c.peerName ? ` · ${c.peerName}` : ''}
          </Typography.Text>
        </List.Item>
      )}
    />
  );
}

/** The customer card answering opens: who it is, their phones, the history of calls and chats. */
export function CustomerCard() {
  const { t } = useTranslation();
  const { calls, cardCallId } = useLiveCalls();
  const call = calls.find((c) => c.callId === cardCallId) ?? null;
  const customerId = call?.customer?.id ?? call?.screenPop?.customerId ?? null;
  const [customer, setCustomer] = useState<any | null>(null);
  const [loading, setLoading] = useState(false);
  useEffect(() => {
    if (!customerId) {
      setCustomer(null);
      return;
    }
    let alive = true;
    setLoading(true);
    liveApi(`/customers/${encodeURIComponent(customerId)}`).then(
      (c) => alive && (setCustomer(c), setLoading(false)),
      () => alive && (setCustomer(null), setLoading(false)),
    );
    return () => {
      alive = false;
    };
  }, [customerId]);
  if (!call) return null;
  const number = formatPhone(call.numberE164 ?? call.number);
  return (
    <Drawer
      open
      mask={false}
      placement="right"
      width={400}
      title={t('live.card.title')}
      onClose={() => callsStore.openCard(null)}
      rootClassName="live-customer-card"
      data-testid="live-card"
    >
      <div data-testid="live-card-body">
        {customerId ? (
          <Spin spinning={loading}>
            <Typography.Title level={4} data-testid="live-card-name">
              {customer?.name ?? call.customer?.name}
            </Typography.Title>
            <Descriptions size="small" column={1}>
              <Descriptions.Item label={t('live.card.number')}>{number}</Descriptions.Item>
              {call.contact && <Descriptions.Item label={t('live.card.contact')}>{call.contact.name}</Descriptions.Item>}
              {customer?.inn && <Descriptions.Item label="ИНН">{customer.inn}</Descriptions.Item>}
              {Array.isArray(customer?.phones) && customer.phones.length > 0 && (
                <Descriptions.Item label={t('live.card.phones')}>
                  {customer.phones.map((p: any) => formatPhone(p.e164 ?? p.number ?? String(p))).join(', ')}
                </Descriptions.Item>
              )}
            </Descriptions>
            <Typography.Title level={5}>{t('live.card.history')}</Typography.Title>
            <HistoryList customerId={customerId} limit={20} live />
            <Typography.Title level={5}>{t('live.card.chats')}</Typography.Title>
            <ChatHistory customerId={customerId} limit={20} />
          </Spin>
        ) : (
          <>
            <Typography.Title level={4} data-testid="live-card-name">
              {number || t('live.card.unknown')}
            </Typography.Title>
            <Typography.Text type="secondary">{t('live.card.unknown')}</Typography.Text>
          </>
        )}
      </div>
    </Drawer>
  );
}
