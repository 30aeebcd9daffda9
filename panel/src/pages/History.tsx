/** Call history with call-back (T8): the signed-in employee's calls (all calls for a user without an extension). */
import { useEffect, useRef, useState } from 'react';
import { Button, List, Segmented, Space, Typography } from 'antd';
import { PhoneOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { ApiErrorAlert } from '../shell/ApiErrorAlert';
import { api, callNumber, type CallSummary } from '../api/client';
import { Link } from '../router';
import { useSession } from '../shell/session';
import { useDialer } from '../shell/dialer-context';
import { fmtPhone, fmtSeconds, fmtShortTime } from '../format';
import { DirectionIcon, StatusTag } from '../shell/CallTags';
import { isCallEvent, useLiveRefresh } from '../live/events';

const PAGE = 30;

export default function History() {
  const { t } = useTranslation();
  const { extension } = useSession();
  const dialer = useDialer();
  const [which, setWhich] = useState<'all' | 'missed'>('all');
  const [items, setItems] = useState<CallSummary[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const seq = useRef(0);
  const shown = useRef(0);
  shown.current = items?.length ?? 0;
  /** `refresh`: the rows on screen fetched again (as many as are loaded), in place. */
  const load = (after: string | null, refresh = false) => {
    const my = ++seq.current;
    return api.calls
      .list({ employee: extension ?? undefined, status: which === 'missed' ? 'missed,abandoned,no_answer,busy' : undefined, limit: refresh ? Math.min(500, Math.max(PAGE, shown.current)) : PAGE, cursor: after ?? undefined })
      .then((p) => {
        if (my !== seq.current) return;
        setItems((prev) => (after && prev ? [...prev, ...p.items] : p.items));
        setCursor(p.nextCursor);
        setError(null);
      })
      .catch((e) => my === seq.current && setError(e));
  };
  useEffect(() => {
    setItems(null);
    void load(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [which, extension]);
  // Live: my calls' events (a new call, answered, ended, a customer linked) refetch the list in place.
  useLiveRefresh(() => void load(null, true), (e) => isCallEvent(e) && (!extension || e.employees.includes(extension)));
  return (
    <div data-testid="history">
      <Space style={{ marginBottom: 12 }} wrap>
        <Typography.Title level={4} style={{ margin: 0 }}>{t('history.title')}{extension ? ` · ${extension}` : ''}</Typography.Title>
        <Segmented value={which} onChange={(v) => setWhich(v as 'all' | 'missed')} options={[{ value: 'all', label: t('history.all') }, { value: 'missed', label: t('history.missed') }]} />
      </Space>
      {error != null && <ApiErrorAlert error={error} testId="history-error" />}
      <List
        loading={items === null}
        dataSource={items ?? []}
        locale={{ emptyText: t('journal.empty') }}
        renderItem={(c) => {
          const n = callNumber(c);
          return (
            <List.Item
              data-call-id={c.id}
              actions={n && c.direction !== 'internal' ? [<Button key="cb" type="primary" size="small" icon={<PhoneOutlined />} onClick={() => dialer.open(n)} data-testid="call-back">{t('dial.callBack')}</Button>] : []}
            >
              <List.Item.Meta
                avatar={<DirectionIcon direction={c.direction} />}
                title={<Link to={`/calls/${c.id}`}>{c.customer?.name ?? fmtPhone(n)}</Link>}
                description={
                  <Space size={6} wrap>
                    {fmtShortTime(c.startedAt)}
                    <StatusTag status={c.status} />
                    {c.customer ? fmtPhone(n) : null}
                    {c.talkSeconds ? fmtSeconds(c.talkSeconds) : null}
                  </Space>
                }
              />
            </List.Item>
          );
        }}
      />
      {cursor && <Button onClick={() => load(cursor)}>{t('journal.more')}</Button>}
    </div>
  );
}
