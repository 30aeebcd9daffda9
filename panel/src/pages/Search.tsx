/**
 * Smart search (T7): a number in any format → who it belongs to (/directory/lookup); a name → the customers
 * and contact persons the journal's free-text search finds. Every hit has a call button and its history.
 */
import { useEffect, useState } from 'react';
import { Alert, Button, Card, Empty, Input, List, Space, Spin, Tag, Typography } from 'antd';
import { PhoneOutlined, HistoryOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { api, ApiError, callNumber, looksLikeNumber, type CallSummary, type Customer, type Lookup } from '../api/client';
import { useRouter } from '../router';
import { useDialer } from '../shell/dialer-context';
import { fmtPhone, fmtShortTime } from '../format';
import { StatusTag } from '../shell/CallTags';

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
    setLoading(true);
    setError(null);
    (async () => {
      const found: Hit[] = [];
      if (looksLikeNumber(q)) {
        try {
          const l: Lookup = await api.directory.lookup(q);
          if (l.kind === 'customer' || l.kind === 'contact') {
            const c = l.customer;
            const contact = l.contact;
            found.push({
              key: `lookup:${l.number}`,
              kind: contact ? 'contact' : 'customer',
              customerId: c?.id,
              title: contact ? `${contact.name ?? ''}` : c?.name ?? l.number,
              subtitle: contact ? c?.name ?? undefined : undefined,
              phones: [l.number],
            });
          } else found.push({ key: `number:${l.number}`, kind: 'number', title: fmtPhone(l.number), subtitle: t('search.notInDirectory'), phones: [l.number] });
        } catch (e) {
          if (!(e instanceof ApiError && e.status === 400)) throw e;
        }
      }
      // Names (and partial numbers) through the journal's free-text search: the customers it names.
      const page = await api.calls.list({ q: q.trim(), limit: 200 });
      const seen = new Set(found.map((h) => h.customerId).filter(Boolean));
      for (const c of page.items) {
        if (!c.customer || seen.has(c.customer.id)) continue;
        seen.add(c.customer.id);
        found.push({
          key: `customer:${c.customer.id}`,
          kind: c.contact ? 'contact' : 'customer',
          customerId: c.customer.id,
          title: c.contact?.name ?? c.customer.name ?? c.customer.id,
          subtitle: c.contact ? c.customer.name ?? undefined : undefined,
          phones: [callNumber(c)].filter(Boolean),
        });
      }
      if (live) setHits(found);
    })()
      .catch((e) => live && setError(e instanceof ApiError ? (e.status === 403 ? t('errors.forbidden') : e.message) : String(e)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
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
                ...h.phones.map((p) => (
                  <Button key={p} type="primary" size="small" icon={<PhoneOutlined />} onClick={() => dialer.open(p, { origin: { kind: 'panel', label: h.title } })} data-testid="search-call">
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
  useEffect(() => {
    api.customers.get(id).then((c: any) => setCustomer(c.customer ?? c), (e) => setError(String(e.message ?? e)));
    api.customers.history(id, { limit: 20 }).then((h) => setCalls(h.items), (e) => setError(String(e.message ?? e)));
  }, [id]);
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
