/**
 * The journal (T16, T21): filters kept in the URL query (a link or a reload shows the same list),
 * cursor pagination over the API's `nextCursor`.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Alert, Button, DatePicker, Grid, Input, Select, Space, Table, Tooltip, Typography } from 'antd';
import { AudioOutlined, FilterOutlined, PhoneOutlined, ReloadOutlined } from '@ant-design/icons';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import type { DescribeOptions } from '../api/errors';
import { ApiErrorAlert } from '../shell/ApiErrorAlert';
import { api, callNumber, DIRECTIONS, STATUSES, type CallPage, type CallSummary, type Query } from '../api/client';
import { dropPrefetched, FILTER_KEYS, firstPageQuery, PAGE, readFilters, readFiltersChecked, takePrefetched, writeFilters, type Filters } from './journal-data';
import { Link, useRouter } from '../router';
import { fmtPhone, fmtSeconds, fmtShortTime, fmtTime } from '../format';
import { DirectionIcon, StatusTag } from '../shell/CallTags';
import { useDialer } from '../shell/dialer-context';
import { isCallEvent, useLiveRefresh } from '../live/events';
import { CustomerFilter, EmployeeFilter } from './JournalPickers';

export default function Journal() {
  const { t } = useTranslation();
  const { search, pathname, navigate } = useRouter();
  const checked = useMemo(() => readFiltersChecked(search), [search]);
  const filters = checked.filters;
  // The first page the shell fetched while it rendered: when it is already here, the first render has the rows.
  const [early] = useState(() => takePrefetched(readFilters(search)));
  const [items, setItems] = useState<CallSummary[]>(early?.result?.items ?? []);
  const [cursor, setCursor] = useState<string | null>(early?.result?.nextCursor ?? null);
  const [loading, setLoading] = useState(!!early && !early.result);
  const skipFirst = useRef(!!early?.result);
  const earlyPending = useRef(early && !early.result ? early.promise : null);
  const [error, setError] = useState<{ cause: unknown } | null>(null);
  const seq = useRef(0);
  const busy = useRef(false);
  const dialer = useDialer();
  const narrow = !Grid.useBreakpoint().md;

  const setFilter = useCallback(
    (patch: Filters) => {
      const next = { ...filters, ...patch };
      for (const k of FILTER_KEYS) if (!next[k]) delete next[k];
      navigate(`${pathname}${writeFilters(next)}`, { replace: true });
    },
    [filters, pathname, navigate],
  );

  const load = useCallback(
    async (after: string | null) => {
      const my = ++seq.current;
      busy.current = true;
      setLoading(true);
      setError(null);
      try {
        const q: Query = { ...firstPageQuery(filters), cursor: after ?? undefined };
        const pending = after ? null : earlyPending.current;
        earlyPending.current = null;
        const page: CallPage = pending ? await pending : await api.calls.list(q);
        if (my !== seq.current) return;
        setItems((prev) => (after ? [...prev, ...page.items] : page.items));
        setCursor(page.nextCursor);
      } catch (e) {
        if (my !== seq.current) return;
        setError({ cause: e });
        if (!after) setItems([]);
        setCursor(null);
      } finally {
        if (my === seq.current) {
          busy.current = false;
          setLoading(false);
        }
      }
    },
    [filters, t],
  );

  // Live: a call's events refetch what is on screen (the same filters, as many rows as are loaded, no spinner),
  // so rows change in place and the scroll position stays. A load in progress wins; the next event comes again.
  const shown = useRef(0);
  shown.current = items.length;
  const refresh = useCallback(async () => {
    if (busy.current) return;
    const my = ++seq.current;
    try {
      const page = await api.calls.list({ ...firstPageQuery(filters), limit: Math.min(500, Math.max(PAGE, shown.current)) });
      if (my !== seq.current) return;
      setItems(page.items);
      setCursor(page.nextCursor);
      setError(null);
    } catch {
      // a failed background refresh keeps the rows; the next event or the reload button tries again
    }
  }, [filters]);
  useLiveRefresh(() => void refresh(), isCallEvent);

  useEffect(() => {
    dropPrefetched();
    if (skipFirst.current) {
      skipFirst.current = false;
      return;
    }
    void load(null);
  }, [load]);
  // `npm run bench -- panel` reads this mark: the first rows of the journal painted (the frame after React committed them).
  useEffect(() => {
    if (!items.length || performance.getEntriesByName('tf-journal-rows').length) return;
    requestAnimationFrame(() => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        if (!performance.getEntriesByName('tf-journal-rows').length) performance.mark('tf-journal-rows');
      };
      ch.port2.postMessage(0);
    });
  }, [items]);

  // Text fields apply on Enter or after a pause, not on every key.
  const [text, setText] = useState({ number: filters.number ?? '', q: filters.q ?? '' });
  useEffect(() => {
    setText({ number: filters.number ?? '', q: filters.q ?? '' });
  }, [filters.number, filters.q]);
  const textTimer = useRef<number | undefined>(undefined);
  const typeText = (k: 'number' | 'q', v: string) => {
    setText((s) => ({ ...s, [k]: v }));
    window.clearTimeout(textTimer.current);
    textTimer.current = window.setTimeout(() => setFilter({ [k]: v.trim() }), 600);
  };
  const applyText = (k: 'number' | 'q') => {
    window.clearTimeout(textTimer.current);
    setFilter({ [k]: text[k].trim() });
  };

  const range: [Dayjs | null, Dayjs | null] | null = filters.from || filters.to ? [filters.from ? dayjs(filters.from) : null, filters.to ? dayjs(filters.to) : null] : null;

  const [filtersOpen, setFiltersOpen] = useState(false);
  const activeFilters = Object.keys(filters).length;
  const customerCell = (c: CallSummary) =>
    c.customer ? (
      <span data-testid="call-customer">
        {c.customer.name ?? c.customer.id}
        {c.contact ? <Typography.Text type="secondary"> · {c.contact.name}</Typography.Text> : null}
      </span>
    ) : (
      <Typography.Text type="secondary">{c.direction === 'internal' ? '' : t('journal.unknown')}</Typography.Text>
    );
  const numberCell = (c: CallSummary) => {
    const n = callNumber(c);
    return (
      <Space size={4} style={{ whiteSpace: 'nowrap' }}>
        <span data-testid="call-number">{fmtPhone(n)}</span>
        {n && c.direction !== 'internal' && <Button size="small" type="text" icon={<PhoneOutlined />} title={t('dial.callBack')} onClick={() => dialer.open(n)} />}
      </Space>
    );
  };
  // Docked beside 1C (≈420 px): one column per call.
  const compact = [
    {
      title: t('journal.col.call'),
      key: 'call',
      render: (_: unknown, c: CallSummary) => (
        <div>
          <Space size={6} wrap>
            <Link to={`/calls/${c.id}`} data-testid="call-link">{fmtShortTime(c.startedAt)}</Link>
            <DirectionIcon direction={c.direction} />
            <StatusTag status={c.status} />
            {c.hasRecording ? <AudioOutlined title={t('journal.hasRecording')} /> : null}
            <Typography.Text type="secondary">{fmtSeconds(c.talkSeconds)}</Typography.Text>
          </Space>
          <div>{numberCell(c)}</div>
          <div>{customerCell(c)}</div>
        </div>
      ),
    },
  ];
  const columns = narrow ? compact : [
    {
      title: t('journal.col.time'),
      dataIndex: 'startedAt',
      key: 'startedAt',
      width: 130,
      render: (v: string, c: CallSummary) => (
        <Link to={`/calls/${c.id}`} data-testid="call-link">
          <Tooltip title={fmtTime(v)}>{fmtShortTime(v)}</Tooltip>
        </Link>
      ),
    },
    { title: '', dataIndex: 'direction', key: 'direction', width: 32, render: (d: string) => <DirectionIcon direction={d} /> },
    { title: t('journal.col.status'), dataIndex: 'status', key: 'status', width: 110, render: (s: string) => <StatusTag status={s} /> },
    {
      title: t('journal.col.number'),
      key: 'number',
      render: (_: unknown, c: CallSummary) => numberCell(c),
    },
    { title: t('journal.col.customer'), key: 'customer', render: (_: unknown, c: CallSummary) => customerCell(c) },
    { title: t('journal.col.employees'), dataIndex: 'employees', key: 'employees', render: (e: string[]) => e.join(', ') },
    { title: t('journal.col.talk'), dataIndex: 'talkSeconds', key: 'talk', width: 80, render: (s: number | null) => fmtSeconds(s) },
    {
      title: <AudioOutlined title={t('journal.col.recording')} />,
      dataIndex: 'hasRecording',
      key: 'rec',
      width: 40,
      render: (r: boolean) => (r ? <AudioOutlined title={t('journal.hasRecording')} /> : null),
    },
  ];

  return (
    <div data-testid="journal">
      <Typography.Title level={4} style={{ marginTop: 0 }}>
        {t('journal.title')}
      </Typography.Title>
      {narrow && (
        <Space style={{ marginBottom: 8 }}>
          <Button icon={<FilterOutlined />} onClick={() => setFiltersOpen((o) => !o)} type={activeFilters ? 'primary' : 'default'} ghost={!!activeFilters} data-testid="filters-toggle">
            {t('journal.filters')}{activeFilters ? ` (${activeFilters})` : ''}
          </Button>
          <Button icon={<ReloadOutlined />} onClick={() => load(null)} title={t('journal.reload')} />
        </Space>
      )}
      <div className="tf-filters" data-testid="journal-filters" style={narrow && !filtersOpen ? { display: 'none' } : undefined}>
        <DatePicker.RangePicker
          showTime={{ format: 'HH:mm' }}
          format="DD.MM.YYYY HH:mm"
          allowEmpty={[true, true]}
          value={range as any}
          onChange={(v) => setFilter({ from: v?.[0]?.toISOString() ?? '', to: v?.[1]?.toISOString() ?? '' })}
          placeholder={[t('journal.filter.from'), t('journal.filter.to')]}
          style={{ minWidth: 260 }}
        />
        <Select
          allowClear
          placeholder={t('journal.filter.direction')}
          value={filters.direction || undefined}
          onChange={(v) => setFilter({ direction: v ?? '' })}
          options={DIRECTIONS.map((d) => ({ value: d, label: t(`direction.${d}`) }))}
          data-testid="filter-direction"
        />
        <Select
          allowClear
          mode="multiple"
          maxTagCount="responsive"
          placeholder={t('journal.filter.status')}
          value={filters.status ? filters.status.split(',') : []}
          onChange={(v: string[]) => setFilter({ status: v.join(',') })}
          options={STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))}
          style={{ minWidth: 180 }}
          data-testid="filter-status"
        />
        <Input
          allowClear
          placeholder={t('journal.filter.number')}
          value={text.number}
          onChange={(e) => typeText('number', e.target.value)}
          onPressEnter={() => applyText('number')}
          inputMode="tel"
          data-testid="filter-number"
          style={{ width: 190 }}
        />
        <EmployeeFilter value={filters.employee} onChange={(v) => setFilter({ employee: v })} />
        <CustomerFilter value={filters.customer} onChange={(v) => setFilter({ customer: v })} />
        <Select
          allowClear
          placeholder={t('journal.filter.recording')}
          value={filters.hasRecording || undefined}
          onChange={(v) => setFilter({ hasRecording: v ?? '' })}
          options={[
            { value: 'true', label: t('journal.filter.withRecording') },
            { value: 'false', label: t('journal.filter.withoutRecording') },
          ]}
          data-testid="filter-recording"
        />
        <Input.Search allowClear placeholder={t('journal.filter.q')} value={text.q} onChange={(e) => typeText('q', e.target.value)} onSearch={() => applyText('q')} style={{ width: 220 }} data-testid="filter-q" />
        <Space>
          {!narrow && <Button icon={<ReloadOutlined />} onClick={() => load(null)} title={t('journal.reload')} />}
          {Object.keys(filters).length > 0 && <Button onClick={() => navigate(pathname, { replace: true })}>{t('journal.reset')}</Button>}
        </Space>
      </div>
      {checked.dropped.length > 0 && (
        <Alert
          type="warning"
          showIcon
          title={t('journal.dropped.title')}
          description={checked.dropped.map((d) => <div key={`${d.key}:${d.value}`}>{t(`journal.dropped.${d.why}`, { field: filterLabel(t, d.key), value: d.value })}</div>)}
          style={{ marginBottom: 12 }}
          data-testid="journal-dropped"
        />
      )}
      {error && <ApiErrorAlert error={error.cause} options={journalErrorOptions(t)} style={{ marginBottom: 12 }} testId="journal-error" />}
      <Table<CallSummary>
        rowKey="id"
        size="small"
        columns={columns as any}
        dataSource={items}
        loading={loading}
        pagination={false}
        scroll={{ x: narrow ? undefined : 900 }}
        locale={{ emptyText: loading ? ' ' : t('journal.empty') }}
        onRow={(c) => ({ 'data-call-id': c.id, onDoubleClick: () => navigate(`/calls/${c.id}`) }) as any}
        data-testid="journal-table"
      />
      <div style={{ textAlign: 'center', marginTop: 12 }}>
        {cursor ? (
          <Button onClick={() => load(cursor)} loading={loading} data-testid="journal-more">
            {t('journal.more')}
          </Button>
        ) : items.length ? (
          <Typography.Text type="secondary" data-testid="journal-end">{t('journal.end', { count: items.length })}</Typography.Text>
        ) : null}
      </div>
    </div>
  );
}

type T = (key: string, options?: Record<string, unknown>) => string;

/** A filter's name as its field is labelled («С», «Статус»); the key itself for one without a label. */
function filterLabel(t: T, key: string): string {
  const label: Record<string, string> = { recording: 'journal.filter.recording', hasRecording: 'journal.filter.recording' };
  return t(label[key] ?? `journal.filter.${key}`, { defaultValue: key });
}

/**
 * A failed list (api/errors.ts): a 4xx is the user's mistake — a filter the server refused is named by its
 * label, the server's own words in small print; only a 5xx or a lost network is the server's error.
 */
function journalErrorOptions(t: T): DescribeOptions {
  return { field: (f) => t(f === 'from' || f === 'to' ? 'errors.badFilterDate' : 'errors.badFilter', { field: filterLabel(t, f) }) };
}
