/**
 * Smart search (T7) over GET /directory/search: customers by part of the name or INN, contact persons by
 * part of the name, the owners of a number in any format (or of 4+ digits of it). Every hit has a call
 * button per phone and its customer's history; a whole number nobody owns can still be called.
 */
import { useEffect, useState } from 'react';
import { Button, Card, Empty, Input, List, Space, Spin, Tag, Typography } from 'antd';
import { PhoneOutlined, HistoryOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { api, ApiError, looksLikeNumber, type Customer } from '../api/client';
import { useRouter } from '../router';
import { useDialer } from '../shell/dialer-context';
import { fmtPhone } from '../format';
import { ApiErrorAlert } from '../shell/ApiErrorAlert';
import { HistoryList } from '../live/CustomerHistory';

interface Hit {
  key: string;
  kind: 'customer' | 'contact' | 'number';
  customerId?: string;
  title: string;
  subtitle?: string;
  phones: string[];
}

export default function Search() {
  const { t } = useTranslation();
  const { search, pathname, navigate } = useRouter();
  const q = new URLSearchParams(search).get('q') ?? '';
  const [text, setText] = useState(q);
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const dialer = useDialer();
  const [opened, setOpened] = useState<string | null>(null);

  useEffect(() => setText(q), [q]);
  useEffect(() => {
    if (!q.trim()) {
      setHits(null);
      return;
    }
    let live = true;
    const ac = new AbortController();
    setLoading(true);
    setError(null);
    (async () => {
      const { items } = await api.directory.search(q.trim(), 50, ac.signal);
      const found: Hit[] = items.map((it) => ({
        key: `${it.kind}:${it.id}`,
        kind: it.kind,
        customerId: it.kind === 'contact' ? it.customer?.id : it.id,
        title: it.name,
        subtitle: it.kind === 'contact' ? [it.customer?.name, it.position].filter(Boolean).join(' · ') : it.inn ? `ИНН ${it.inn}` : undefined,
        phones: it.phones.map((p) => p.number),
      }));
      if (found.length === 0 && looksLikeNumber(q)) {
        // A whole number nobody owns: still callable.
        try {
          const l = await api.directory.lookup(q);
          found.push({ key: `number:${l.number}`, kind: 'number', title: fmtPhone(l.number), subtitle: t('search.notInDirectory'), phones: [l.number] });
        } catch (e) {
          if (!(e instanceof ApiError && e.status === 400)) throw e;
        }
      }
      if (live) setHits(found);
    })()
      .catch((e) => {
        if (!live) return;
        setError(e);
        setHits(null);
      })
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
      ac.abort();
    };
  }, [q, t]);

  return (
    <div data-testid="search">
      <Typography.Title level={4} style={{ marginTop: 0 }}>{t('search.title')}</Typography.Title>
      <Input.Search
        value={text}
        onChange={(e) => setText(e.target.value)}
        onSearch={(v) => navigate(`${pathname}?q=${encodeURIComponent(v.trim())}`, { replace: true })}
        placeholder={t('search.placeholder')}
        enterButton
        allowClear
        autoFocus
        data-testid="search-input"
        style={{ maxWidth: 560, marginBottom: 12 }}
      />
      {error != null && <ApiErrorAlert error={error} options={{ byStatus: { 400: t('search.tooShort') } }} testId="search-error" />}
      {loading ? (
        <Spin />
      ) : hits === null ? (
        <Typography.Paragraph type="secondary">{t('search.hint')}</Typography.Paragraph>
      ) : hits.length === 0 ? (
        <Empty description={t('search.nothing')} />
      ) : (
        <List
          dataSource={hits}
          renderItem={(h) => (
            // The hit's name, then its buttons (wrapping in a narrow window), then the history under both.
            <List.Item key={h.key} data-testid="search-hit" style={{ display: 'block' }}>
              <div style={{ display: 'flex', flexWrap: 'wrap', alignItems: 'center', gap: 8 }}>
                <List.Item.Meta
                  style={{ minWidth: 200, flex: '1 1 200px' }}
                  title={
                    <Space wrap size={[8, 0]}>
                      <span style={{ overflowWrap: 'anywhere' }} data-testid="search-hit-title">{h.title}</span>
                      <Tag>{t(`search.kind.${h.kind}`)}</Tag>
                    </Space>
                  }
                  description={h.subtitle}
                />
                <Space wrap size={8}>
                  {h.phones.map((p, i) => (
                    <Button key={`${p}:${i}`} type="primary" size="small" icon={<PhoneOutlined />} onClick={() => dialer.open(p, { origin: { kind: 'panel', label: h.title } })} data-testid="search-call">
                      {fmtPhone(p)}
                    </Button>
                  ))}
                  {h.customerId && (
                    <Button size="small" icon={<HistoryOutlined />} data-testid="search-history-open" onClick={() => setOpened(opened === h.key ? null : h.key)}>
                      {t('search.history')}
                    </Button>
                  )}
                </Space>
              </div>
              {opened === h.key && h.customerId && <CustomerHistory id={h.customerId} />}
            </List.Item>
          )}
        />
      )}
    </div>
  );
}

/**
 * The customer's phones and contact persons, then the last calls and chats together, newest first — the
 * banner's and the customer card's list (live/CustomerHistory.tsx), live.
 */
export function CustomerHistory({ id }: { id: string }) {
  const dialer = useDialer();
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    setError(null);
    api.customers.get(id).then((c: any) => live && setCustomer(c.customer ?? c), (e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [id]);
  return (
    <Card size="small" style={{ width: '100%', marginTop: 8, minWidth: 0 }} data-testid="search-history">
      {error != null && <ApiErrorAlert error={error} style={{ marginBottom: 8 }} />}
      {customer && (
        <Space wrap style={{ marginBottom: 8 }}>
          {customer.phones.map((p) => (
            <Button key={p.number} size="small" icon={<PhoneOutlined />} onClick={() => dialer.open(p.number)}>{fmtPhone(p.number)}</Button>
          ))}
          {customer.contacts.map((c) => <Tag key={c.id}>{c.name}</Tag>)}
        </Space>
      )}
      <HistoryList customerId={id} limit={20} live />
    </Card>
  );
}
