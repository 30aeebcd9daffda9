/**
 * Smart search (T7) over GET /directory/search: customers by part of the name or INN, contact persons by
 * part of the name, the owners of a number in any format (or of 4+ digits of it). Every hit has a call
 * button per phone and its customer's history; a whole number nobody owns can still be called.
 */
import { useEffect, useState } from 'react';
import { Alert, Button, Card, Empty, Input, List, Space, Spin, Tag, Typography } from 'antd';
import { PhoneOutlined, HistoryOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { api, ApiError, callNumber, looksLikeNumber, type CallSummary, type Customer } from '../api/client';
import { useRouter } from '../router';
import { useDialer } from '../shell/dialer-context';
import { fmtPhone, fmtShortTime } from '../format';
import { StatusTag } from '../shell/CallTags';
import { useLiveRefresh } from '../live/events';

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
  const [error, setError] = useState<string | null>(null);
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
        if (e instanceof ApiError && e.status === 400) setError(t('search.tooShort'));
        else setError(e instanceof ApiError ? (e.status === 403 ? t('errors.forbidden') : e.message) : String(e));
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
      {error && <Alert type="error" showIcon title={error} />}
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
            <List.Item
              key={h.key}
              actions={[
                ...h.phones.map((p, i) => (
                  <Button key={`${p}:${i}`} type="primary" size="small" icon={<PhoneOutlined />} onClick={() => dialer.open(p, { origin: { kind: 'panel', label: h.title } })} data-testid="search-call">
                    {fmtPhone(p)}
                  </Button>
                )),
                ...(h.customerId ? [<Button key="h" size="small" icon={<HistoryOutlined />} onClick={() => setOpened(opened === h.customerId ? null : h.customerId!)}>{t('search.history')}</Button>] : []),
              ]}
            >
              <List.Item.Meta
                title={
                  <Space>
                    {h.title}
                    <Tag>{t(`search.kind.${h.kind}`)}</Tag>
                  </Space>
                }
                description={h.subtitle}
              />
              {opened && opened === h.customerId && <CustomerHistory id={h.customerId} />}
            </List.Item>
          )}
        />
      )}
    </div>
  );
}

/** The customer's phones, contact persons and calls (T8: call history with call-back). */
export function CustomerHistory({ id }: { id: string }) {
  const { t } = useTranslation();
  const dialer = useDialer();
  const { navigate } = useRouter();
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [calls, setCalls] = useState<CallSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  // Live: a call ending or a customer linked may add to this history.
  useLiveRefresh(() => setTick((n) => n + 1), (e) => e.type === 'call.ended' || e.type === 'customer.linked');
  useEffect(() => {
    api.customers.get(id).then((c: any) => setCustomer(c.customer ?? c), (e) => setError(String(e.message ?? e)));
    api.customers.history(id, { limit: 20 }).then((h) => setCalls(h.items), (e) => setError(String(e.message ?? e)));
  }, [id, tick]);
  return (
    <Card size="small" style={{ width: '100%', marginTop: 8 }}>
      {error && <Alert type="error" title={error} />}
      {customer && (
        <Space wrap style={{ marginBottom: 8 }}>
          {customer.phones.map((p) => (
            <Button key={p.number} size="small" icon={<PhoneOutlined />} onClick={() => dialer.open(p.number)}>{fmtPhone(p.number)}</Button>
          ))}
          {customer.contacts.map((c) => <Tag key={c.id}>{c.name}</Tag>)}
        </Space>
      )}
      {calls === null ? <Spin size="small" /> : calls.length === 0 ? <Typography.Text type="secondary">{t('search.noCalls')}</Typography.Text> : (
        <List size="small" dataSource={calls} renderItem={(c) => (
          <List.Item actions={[<Button key="cb" size="small" icon={<PhoneOutlined />} onClick={() => dialer.open(callNumber(c))}>{t('dial.callBack')}</Button>]}>
            <a onClick={() => navigate(`/calls/${c.id}`)}>{fmtShortTime(c.startedAt)}</a> <StatusTag status={c.status} /> {fmtPhone(callNumber(c))}
          </List.Item>
        )} />
      )}
    </Card>
  );
}
