/**
 * One call (T19): every parameter, the legs, the timeline with the transfer route drawn as a route,
 * the recordings (player with seek by Range requests, download) with the transcript following the
 * playhead, the AI summary, and "create customer" for an unknown number (T20).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { Alert, Button, Card, Descriptions, Empty, Form, Input, Modal, Result, Skeleton, Space, Table, Tag, Timeline, Typography, App } from 'antd';
import { ArrowLeftOutlined, ArrowRightOutlined, DownloadOutlined, PhoneOutlined, UserAddOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { api, ApiError, callNumber, type CallDetail as Call, type Party, type Recording, type TimelineEntry } from '../api/client';
import { Link, useRouter } from '../router';
import { fmtPhone, fmtSeconds, fmtTime, hangupCauseText, recordCauseText, supervisionModeText } from '../format';
import { DirectionIcon, StatusTag } from '../shell/CallTags';
import { ApiErrorAlert, ErrorDetail } from '../shell/ApiErrorAlert';
import { describeError } from '../api/errors';
import { useDialer } from '../shell/dialer-context';
import { isCallEvent, useLiveRefresh } from '../live/events';
import { SummaryCard, TranscriptCard } from './CallText';

/**
 * `names`: employees' names by extension (the call's `employeeDetails`). An employee is named as the panel
 * knows them, not by the caller-id name FreeSWITCH carried («Alice»); that name only for outside parties.
 */
function partyText(p: Party | undefined | null, names?: Map<string, string>): string {
  if (!p) return '—';
  const ext = p.employee ?? (p.number && names?.has(p.number) ? p.number : undefined);
  const name = (ext ? names?.get(ext) : undefined) ?? p.name;
  const who = name && name !== p.number ? `${name} ` : '';
  const n = ext ?? fmtPhone(p.number);
  return `${who}${who ? `(${n})` : n}`.trim() || '—';
}

export default function CallDetail({ params }: { params: Record<string, string> }) {
  const { t } = useTranslation();
  const id = params.id;
  const [call, setCall] = useState<Call | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  // Bumped on every reload: the transcript and summary cards fetch again with it.
  const [version, setVersion] = useState(0);
  const shown = useRef(false);
  const reload = useCallback(() => {
    api.calls.get(id).then(
      (c) => {
        shown.current = true;
        setCall(c);
        setError(null);
        setVersion((v) => v + 1);
      },
      // A live reload that fails (a restart, a lost network) keeps the call on screen; the next event retries.
      (e) => !shown.current && setError(e),
    );
  }, [id]);
  useEffect(() => {
    shown.current = false;
    setCall(null);
    setError(null);
    reload();
  }, [reload]);
  // Live: this call's events (answered, transferred, ended, a customer linked) reload it in place.
  useLiveRefresh(reload, (e) => e.callId === id && isCallEvent(e));
  const [playing, setPlaying] = useState<{ index: number; time: number }>({ index: 0, time: -1 });
  const audios = useRef<Array<HTMLAudioElement | null>>([]);

  if (error) {
    const view = describeError(error, t, { byStatus: { 400: t('call.badId'), 404: t('call.notFound') } });
    const { status } = view;
    return (
      <Result
        status={status === 404 ? '404' : status === 403 ? '403' : view.type === 'user' ? 'warning' : 'error'}
        title={status || t('errors.api')}
        subTitle={<span data-testid="call-error" data-kind={view.type}>{view.title}</span>}
        extra={
          <div style={{ display: 'flex', flexDirection: 'column', alignItems: 'center', gap: 4 }}>
            <ErrorDetail view={view} testId="call-error-detail" />
            <Link to="/">{t('call.back')}</Link>
          </div>
        }
      />
    );
  }
  if (!call) return <Skeleton active />;

  const seek = (index: number, seconds: number) => {
    const a = audios.current[index];
    if (!a) return;
    a.currentTime = seconds;
    void a.play().catch(() => undefined);
  };

  return (
    <div data-testid="call-detail" data-call-id={call.id}>
      <Space style={{ marginBottom: 8 }} wrap>
        <Button icon={<ArrowLeftOutlined />} onClick={() => window.history.length > 1 ? window.history.back() : undefined} title={t('call.back')} />
        <Typography.Title level={4} style={{ margin: 0 }}>
          <DirectionIcon direction={call.direction} /> {fmtPhone(callNumber(call))} <StatusTag status={call.status} />
        </Typography.Title>
      </Space>
      {call.uncertain && <Alert type="warning" showIcon title={t('call.uncertain')} style={{ marginBottom: 12 }} />}
      <Space direction="vertical" size={12} style={{ width: '100%' }}>
        <Parameters call={call} onCreated={reload} />
        <RouteCard call={call} />
        <RecordingsCard call={call} audios={audios} onTime={(index, time) => setPlaying({ index, time })} />
        <TranscriptCard call={call} version={version} playing={playing} seek={seek} />
        <SummaryCard call={call} version={version} />
        <TimelineCard call={call} />
        <LegsCard call={call} />
      </Space>
    </div>
  );
}

/** The call's employees' names by extension. */
function employeeNames(call: Call): Map<string, string> {
  return new Map((call.employeeDetails ?? []).filter((e) => e.name).map((e) => [e.extension, e.name!] as [string, string]));
}

/** What an employee did on the call, in words that agree: a callee who did not answer was called, not «принял». */
function employeeRole(t: (k: string, o?: Record<string, unknown>) => string, e: { role: string; answered: boolean }): string {
  if (e.role === 'callee') return e.answered ? t('call.took') : t('call.calledNotAnswered');
  const role = t(`role.${e.role}`, { defaultValue: e.role });
  return e.answered ? role : `${role} · ${t('call.notAnswered')}`;
}

function Parameters({ call, onCreated }: { call: Call; onCreated: () => void }) {
  const { t } = useTranslation();
  const names = employeeNames(call);
  const dialer = useDialer();
  const number = callNumber(call);
  const who = call.customer ? (
    <span data-testid="detail-customer">
      {call.customer.name ?? call.customer.id}
      {call.contact ? ` · ${call.contact.name ?? call.contact.id}` : ''}
    </span>
  ) : call.direction === 'internal' ? (
    t('direction.internal')
  ) : (
    <Space wrap>
      <Typography.Text type="secondary">{t('journal.unknown')}</Typography.Text>
      {number && <CreateCustomer call={call} number={number} onCreated={onCreated} />}
    </Space>
  );
  const items = [
    { key: 'customer', label: t('call.customer'), children: who },
    { key: 'number', label: t('call.number'), children: <Space>{fmtPhone(number)}{number && call.direction !== 'internal' && <Button size="small" icon={<PhoneOutlined />} onClick={() => dialer.open(number)}>{t('dial.callBack')}</Button>}</Space> },
    { key: 'direction', label: t('call.direction'), children: t(`direction.${call.direction}`) },
    { key: 'status', label: t('call.status'), children: <StatusTag status={call.status} /> },
    { key: 'startedAt', label: t('call.startedAt'), children: fmtTime(call.startedAt) },
    { key: 'answeredAt', label: t('call.answeredAt'), children: fmtTime(call.answeredAt) },
    { key: 'endedAt', label: t('call.endedAt'), children: fmtTime(call.endedAt) },
    { key: 'ring', label: t('call.ring'), children: fmtSeconds(call.ringSeconds) },
    { key: 'talk', label: t('call.talk'), children: fmtSeconds(call.talkSeconds) },
    { key: 'duration', label: t('call.duration'), children: fmtSeconds(call.durationSeconds) },
    { key: 'caller', label: t('call.caller'), children: partyText({ number: call.callerNumber ?? undefined, name: call.callerName ?? undefined }, names) },
    { key: 'destination', label: t('call.destination'), children: fmtPhone(call.destinationNumber) },
    { key: 'cause', label: t('call.cause'), children: call.hangupCause ? <span title={call.hangupCause} data-testid="detail-cause">{hangupCauseText(t, call.hangupCause)}</span> : '—' },
    { key: 'identification', label: t('call.identification'), children: t(`identification.${call.identification ?? 'none'}`, { defaultValue: call.identification ?? '—' }) },
    ...(call.origin ? [{ key: 'origin', label: t('call.origin'), children: `${call.origin.kind}${call.origin.label ? `: ${call.origin.label}` : ''}` }] : []),
  ];
  // The employees (several tags) and the id (long) get full-width rows of their own: in a grid cell they
  // would squeeze the other values until dates and words broke mid-way.
  const wide = [
    {
      key: 'employees',
      label: t('call.employees'),
      children: call.employeeDetails?.length ? (
        <div className="tf-tags" data-testid="detail-employees">
          {call.employeeDetails.map((e) => <Tag key={e.extension} data-testid="detail-employee">{`${e.name ? `${e.name} ` : ''}${e.extension} · ${employeeRole(t, e)}`}</Tag>)}
        </div>
      ) : call.employees.join(', ') || '—',
    },
    { key: 'id', label: 'ID', children: <Typography.Text copyable code style={{ fontSize: 12 }}>{call.id}</Typography.Text> },
  ];
  return (
    <Card size="small" title={t('call.parameters')} data-testid="call-parameters-card">
      <div data-testid="call-parameters">
        <Descriptions className="tf-params" size="small" column={{ xs: 1, sm: 1, md: 2, lg: 3 }} items={items} />
        <Descriptions className="tf-params tf-params-wide" size="small" column={1} items={wide} />
      </div>
    </Card>
  );
}

function CreateCustomer({ call, number, onCreated }: { call: Call; number: string; onCreated: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [form] = Form.useForm<{ name: string; inn?: string; comment?: string }>();
  const submit = async () => {
    const v = await form.validateFields();
    setBusy(true);
    setError(null);
    try {
      const r = await api.customers.create({ name: v.name.trim(), callId: call.id, ...(v.inn?.trim() ? { inn: v.inn.trim() } : {}), ...(v.comment?.trim() ? { comment: v.comment.trim() } : {}) });
      message.success(t('customer.created', { name: r.customer.name, count: r.linkedCalls }));
      setOpen(false);
      onCreated();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button size="small" type="primary" icon={<UserAddOutlined />} onClick={() => setOpen(true)} data-testid="create-customer">
        {t('customer.create')}
      </Button>
      <Modal open={open} title={t('customer.createTitle', { number: fmtPhone(number) })} onOk={submit} onCancel={() => setOpen(false)} confirmLoading={busy} okText={t('customer.save')} cancelText={t('app.close')} okButtonProps={{ ...({ 'data-testid': 'create-customer-save' } as object) }} destroyOnHidden>
        <Typography.Paragraph type="secondary">{t('customer.linkHint')}</Typography.Paragraph>
        <Form form={form} layout="vertical" preserve={false}>
          <Form.Item name="name" label={t('customer.name')} rules={[{ required: true, whitespace: true, message: t('signin.required') }]}>
            <Input autoFocus data-testid="create-customer-name" />
          </Form.Item>
          <Form.Item name="inn" label={t('customer.inn')}>
            <Input />
          </Form.Item>
          <Form.Item name="comment" label={t('customer.comment')}>
            <Input.TextArea rows={2} />
          </Form.Item>
        </Form>
        {error != null && <ApiErrorAlert error={error} testId="create-customer-error" />}
      </Modal>
    </>
  );
}

/** Whether this user may hear the recording is the API's answer: a one-byte Range request tells. */
function useAudible(url: string): 'checking' | 'ok' | 'forbidden' | 'missing' | 'error' {
  const [state, setState] = useState<'checking' | 'ok' | 'forbidden' | 'missing' | 'error'>('checking');
  useEffect(() => {
    const ac = new AbortController();
    fetch(url, { headers: { Range: 'bytes=0-0' }, credentials: 'same-origin', signal: ac.signal })
      .then((r) => {
        void r.body?.cancel().catch(() => undefined);
        setState(r.ok ? 'ok' : r.status === 403 ? 'forbidden' : r.status === 404 || r.status === 410 ? 'missing' : 'error');
      })
      .catch(() => !ac.signal.aborted && setState('error'));
    return () => ac.abort();
  }, [url]);
  return state;
}

function RecordingsCard({ call, audios, onTime }: { call: Call; audios: React.MutableRefObject<Array<HTMLAudioElement | null>>; onTime: (index: number, time: number) => void }) {
  const { t } = useTranslation();
  if (!call.recordings?.length) return null;
  return (
    <Card size="small" title={t('call.recordings')} data-testid="recordings">
      <Space direction="vertical" style={{ width: '100%' }}>
        {call.recordings.map((r, i) => (
          <Player key={r.url} rec={r} index={i} audios={audios} onTime={onTime} />
        ))}
      </Space>
    </Card>
  );
}

function Player({ rec, index, audios, onTime }: { rec: Recording; index: number; audios: React.MutableRefObject<Array<HTMLAudioElement | null>>; onTime: (index: number, time: number) => void }) {
  const { t } = useTranslation();
  const state = useAudible(rec.url);
  const label = `${fmtTime(rec.startedAt)} · ${fmtSeconds(rec.seconds)}${rec.stereo ? ` · ${t('call.stereo')}` : ''}`;
  if (state === 'forbidden') return <Alert type="warning" showIcon title={`403 · ${t('call.recordingForbidden')}`} description={label} data-testid="recording-forbidden" />;
  if (state === 'missing') return <Alert type="info" showIcon title={t('call.recordingMissing')} description={label} />;
  if (state === 'error') return <Alert type="error" showIcon title={t('call.recordingError')} description={label} />;
  return (
    <div className="tf-player" data-testid="player">
      <Typography.Text type="secondary">{label}</Typography.Text>
      <div className="tf-player-row">
        {state === 'checking' ? (
          <Skeleton.Input active size="small" />
        ) : (
          <audio
            ref={(el) => {
              audios.current[index] = el;
            }}
            controls
            preload="metadata"
            src={rec.url}
            data-testid="audio"
            onTimeUpdate={(e) => onTime(index, e.currentTarget.currentTime)}
            onSeeked={(e) => onTime(index, e.currentTarget.currentTime)}
          />
        )}
        <Button icon={<DownloadOutlined />} href={`${rec.url}`} download target="_blank" data-testid="download">
          {t('call.download')}
        </Button>
      </div>
    </div>
  );
}

/** The transfer route as a route: the customer, then who had the call, hop by hop, each arrow saying how. */
function RouteCard({ call }: { call: Call }) {
  const { t } = useTranslation();
  if (!call.transferRoute?.length) return null;
  const outside = callNumber(call);
  const names = employeeNames(call);
  const hops: Array<{ who: string; how?: string; outside?: boolean }> = [];
  if (outside && call.direction !== 'internal') hops.push({ who: call.customer?.name ?? fmtPhone(outside), outside: true });
  const first = call.transferRoute[0];
  const start = (first.from as Party | undefined) ?? (first.a as Party | undefined);
  hops.push({ who: start ? partyText(start, names) : call.employees[0] ?? '—' });
  for (const tr of call.transferRoute) {
    const to = (tr.to as Party | undefined) ?? (tr.b as Party | undefined);
    const kind = String(tr.type ?? tr.flow ?? '');
    hops.push({ who: to ? partyText(to, names) : '?', how: kind ? t(`transfer.${kind}`, { defaultValue: kind }) : undefined });
  }
  return (
    <Card size="small" title={t('call.route')} data-testid="transfer-route">
      <div className="tf-route">
        {hops.map((h, i) => (
          <Space key={i} size={6}>
            {i > 0 && (
              <span className="tf-arrow">
                {h.how ? `${h.how} ` : ''}
                <ArrowRightOutlined />
              </span>
            )}
            <span className="tf-hop" style={h.outside ? { background: '#f6ffed', borderColor: '#b7eb8f' } : undefined}>
              {h.who}
            </span>
          </Space>
        ))}
      </div>
    </Card>
  );
}

function TimelineCard({ call }: { call: Call }) {
  const { t } = useTranslation();
  const names = employeeNames(call);
  const items = call.timeline.map((e, i) => {
    const party = e.party ?? (e.supervisor as Party | undefined);
    const who = party ? partyText(party, names) : e.a && e.b ? `${partyText(e.a, names)} ↔ ${partyText(e.b, names)}` : '';
    const str = (x: unknown) => (typeof x === 'string' && x ? x : null);
    const cause = str(e.cause) && (e.kind.startsWith('recording') ? recordCauseText(t, str(e.cause)) : hangupCauseText(t, str(e.cause)));
    // An action names what was asked; a refused one (403/409/502–504 on this call) says so, with the API's code.
    const action = e.kind === 'action' && str(e.action) ? t(`timeline.actions.${str(e.action)}`, { defaultValue: str(e.action)! }) : null;
    const refusal = e.refused && typeof e.refused === 'object' ? (e.refused as { status?: number; code?: string }) : null;
    const extra = [action, refusal ? t('timeline.refused', { code: refusal.code ?? refusal.status }) : null, cause, e.status && e.kind === 'ended' ? t(`status.${String(e.status)}`, { defaultValue: String(e.status) }) : null, str(e.destination), str(e.mode) && supervisionModeText(t, str(e.mode)), str(e.flow), str(e.state)]
      .filter((x) => typeof x === 'string' && x)
      .join(' · ');
    const raw = [str(e.cause), str(e.mode)].filter(Boolean).join(' · ');
    return {
      key: i,
      color: refusal ? 'red' : e.kind === 'transfer' ? 'blue' : e.kind.includes('hangup') || e.kind === 'ended' ? 'gray' : e.kind.startsWith('recording') ? 'red' : 'green',
      children: (
        <span>
          <Typography.Text type="secondary" style={{ fontVariantNumeric: 'tabular-nums' }}>{fmtTime(e.at).slice(11)}</Typography.Text>{' '}
          <b>{t(`timeline.${e.kind}`, { defaultValue: e.kind })}</b> {who} {extra ? <Typography.Text type="secondary" title={raw || undefined}>({extra})</Typography.Text> : null}
        </span>
      ),
    };
  });
  return (
    <Card size="small" title={t('call.timeline')}>
      {items.length ? <Timeline items={items} data-testid="timeline" /> : <Empty />}
    </Card>
  );
}

function LegsCard({ call }: { call: Call }) {
  const { t } = useTranslation();
  const names = employeeNames(call);
  return (
    <Card size="small" title={t('call.legs')}>
      <Table
        size="small"
        rowKey="uuid"
        pagination={false}
        dataSource={call.legs}
        scroll={{ x: 700 }}
        columns={[
          { title: t('call.leg.party'), key: 'party', render: (_: unknown, l) => partyText({ employee: l.employee ?? undefined, number: l.number ?? undefined, name: l.name ?? undefined }, names) },
          { title: t('call.leg.direction'), dataIndex: 'direction', key: 'direction', render: (d: string) => t(`call.leg.dir_${d}`, { defaultValue: d }) },
          { title: t('call.leg.role'), dataIndex: 'role', key: 'role', render: (r: string) => t(`role.${r}`, { defaultValue: r }) },
          { title: t('call.leg.channel'), dataIndex: 'channel', key: 'channel', render: (c: string) => <Typography.Text code style={{ fontSize: 12 }}>{c}</Typography.Text> },
          { title: t('call.leg.created'), dataIndex: 'createdAt', key: 'createdAt', render: (v: string) => fmtTime(v).slice(11) },
          { title: t('call.leg.answered'), dataIndex: 'answeredAt', key: 'answeredAt', render: (v: string | null) => (v ? fmtTime(v).slice(11) : '—') },
          { title: t('call.leg.ended'), dataIndex: 'endedAt', key: 'endedAt', render: (v: string | null) => (v ? fmtTime(v).slice(11) : '—') },
          { title: t('call.cause'), dataIndex: 'hangupCause', key: 'cause', render: (c: string | null) => (c ? <span title={c}>{hangupCauseText(t, c)}</span> : '—') },
        ]}
      />
    </Card>
  );
}
