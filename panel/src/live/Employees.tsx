import { Button, Card, Grid, Space, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { startSupervision, startTransfer, stopSupervision, switchSupervision } from './actions';
import { useCurrentCall } from './ActiveCall';
import { LiveSupervision, useLiveCalls } from './calls';
import { LiveEmployee, useLiveEmployees } from './employees';
import { PresenceTag } from './PresenceTag';
import { formatTime } from './format';
import { useLiveSession } from './session';

const MODES = ['listen', 'whisper', 'barge'] as const;

/** The supervisor's current supervision: mode, switch live, leave. */
function SupervisionBar({ s }: { s: LiveSupervision }) {
  const { t } = useTranslation();
  return (
    <Card size="small" style={{ marginBottom: 12 }} data-testid="live-supervision" data-mode={s.mode} data-state={s.state}>
      <Space wrap>
        <Typography.Text>{t('live.employees.supervising', { employee: s.employee, mode: t(`live.mode.${s.mode}`), state: t(`live.svState.${s.state}`) })}</Typography.Text>
        {MODES.map((m) => (
          <Button
            key={m}
            size="small"
            type={s.mode === m ? 'primary' : 'default'}
            disabled={s.mode === m || s.state !== 'active'}
            onClick={() => switchSupervision(s, m)}
            data-testid={`live-sv-switch-${m}`}
          >
            {t(`live.employees.${m}`)}
          </Button>
        ))}
        <Button size="small" danger onClick={() => stopSupervision(s)} data-testid="live-sv-stop">
          {t('live.employees.stop')}
        </Button>
      </Space>
    </Card>
  );
}

/** T10: colleagues with presence, live; transfer buttons; listen / whisper / barge for supervisors only. */
export default function EmployeesPage(_props: { params?: Record<string, string> }) {
  const { t } = useTranslation();
  const session = useLiveSession();
  const employees = useLiveEmployees();
  const current = useCurrentCall();
  const { supervisions } = useLiveCalls();
  const me = session?.extension ?? null;
  const supervisor = !!session?.supervisor;
  // A narrow window (≈420 px, docked beside 1C): the extension under the name, the actions under both, no fixed widths.
  const narrow = !Grid.useBreakpoint().md;
  const actions = (e: LiveEmployee) => {
    if (e.extension === me) return null;
    const transfer = !!(current && me);
    const supervise = supervisor && me && e.presence === 'busy' && e.callIds.length > 0 && !supervisions.some((x) => e.callIds.includes(x.callId));
    if (!transfer && !supervise) return null;
    return (
      <Space wrap size={4}>
        {transfer && (
          <>
            <Button size="small" onClick={() => startTransfer(current!.callId, me!, e.extension, 'blind')} data-testid="live-emp-blind">
              {t('live.employees.blind')}
            </Button>
            <Button size="small" type="primary" ghost onClick={() => startTransfer(current!.callId, me!, e.extension, 'attended')} data-testid="live-emp-consult">
              {t('live.employees.consult')}
            </Button>
          </>
        )}
        {supervise &&
          MODES.map((m) => (
            <Button key={m} size="small" onClick={() => startSupervision(e.callIds[0], me!, e.extension, m)} data-testid={`live-sv-${m}`}>
              {t(`live.employees.${m}`)}
            </Button>
          ))}
      </Space>
    );
  };
  const presence = (e: LiveEmployee) => (
    <Space size={4} wrap>
      <PresenceTag e={e} />
      {e.since && <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>{formatTime(e.since)}</Typography.Text>}
    </Space>
  );
  const byName = (a: LiveEmployee, b: LiveEmployee) => a.name.localeCompare(b.name, 'ru');
  const presenceFilter = {
    filters: (['online', 'busy', 'offline'] as const).map((p) => ({ text: t(`live.presence.${p}`), value: p })),
    onFilter: (v: unknown, e: LiveEmployee) => e.presence === v,
  };
  const columns = narrow
    ? [
        {
          title: t('live.employees.name'),
          dataIndex: 'name',
          key: 'name',
          sorter: byName,
          render: (_: unknown, e: LiveEmployee) => (
            <div style={{ minWidth: 0, overflowWrap: 'anywhere' }}>
              {e.name} <Typography.Text type="secondary">{e.extension}</Typography.Text>
              {actions(e) && <div style={{ marginTop: 4 }}>{actions(e)}</div>}
            </div>
          ),
        },
        { title: t('live.employees.presence'), key: 'presence', ...presenceFilter, render: (_: unknown, e: LiveEmployee) => presence(e) },
      ]
    : [
        { title: t('live.employees.name'), dataIndex: 'name', key: 'name', sorter: byName },
        { title: t('live.employees.extension'), dataIndex: 'extension', key: 'extension', width: 110 },
        { title: t('live.employees.presence'), key: 'presence', width: 220, ...presenceFilter, render: (_: unknown, e: LiveEmployee) => presence(e) },
        { title: t('live.employees.actions'), key: 'actions', render: (_: unknown, e: LiveEmployee) => actions(e) },
      ];
  return (
    <div data-testid="live-employees">
      <Typography.Title level={3}>{t('live.employees.title')}</Typography.Title>
      {supervisor && supervisions.map((s) => <SupervisionBar key={s.id} s={s} />)}
      {!current && <Typography.Paragraph type="secondary">{t('live.employees.noCall')}</Typography.Paragraph>}
      <Table<LiveEmployee>
        rowKey="extension"
        size="small"
        pagination={false}
        dataSource={employees}
        columns={columns as any}
        onRow={(e) => ({ 'data-ext': e.extension } as any)}
      />
    </div>
  );
}
