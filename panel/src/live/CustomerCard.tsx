import { Descriptions, Drawer, Spin, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { callsStore, useLiveCalls } from './calls';
import { formatPhone } from './format';
import { liveApi } from './http';
import { HistoryList } from './CustomerHistory';

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
