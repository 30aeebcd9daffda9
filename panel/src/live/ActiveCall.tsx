import { Button, Card, Space, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { cancelTransfer, completeTransfer, hangup, hold } from './actions';
import { callsStore, LiveCall, useLiveCalls } from './calls';
import { liveStream } from './events';
import { formatDuration, formatPhone } from './format';
import { liveApi } from './http';
import { TransferDialog } from './TransferDialog';
import { useShortcuts } from '../shell/shortcuts';

function useNow(every = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), every);
    return () => clearInterval(id);
  }, [every]);
  return now;
}

/** Whether the call is being recorded (GET /calls/{id}: its recordings), re-read when its events come. */
function useRecording(callId: string): boolean | null {
  const [rec, setRec] = useState<boolean | null>(null);
  useEffect(() => {
    let alive = true;
    const read = () =>
      liveApi(`/calls/${encodeURIComponent(callId)}`).then(
        (c: any) => alive && setRec(!!c.hasRecording || (Array.isArray(c.recordings) && c.recordings.length > 0)),
        () => undefined,
      );
    void read();
    const off = liveStream.subscribe((e) => {
      if (e.callId === callId) void read();
    });
    return () => {
      alive = false;
      off();
    };
  }, [callId]);
  return rec;
}

const LIVE_TRANSFER = new Set(['starting', 'ringback', 'answered']);
/** How long a blind transfer that reached the colleague stays on screen after "переведён". */
const COMPLETED_SHOWN_MS = 5000;

/**
 * A call I answered and sent on blind: my leg is gone at once, but the transfer is not done until the
 * colleague answers (ringback → completed, or failed / abandoned with a cause). Its window stays, without
 * the call's buttons, until the transfer ends (completed: a few seconds; otherwise until closed).
 */
function followedTransfer(c: LiveCall): boolean {
  const tr = c.transfer;
  if (!tr || !tr.blind || c.answeredAt === null) return false;
  if (c.state === 'gone') return true;
  // The customer hung up meanwhile: the transfer's end (abandoned, failed) is still worth showing.
  return c.state === 'ended' && !LIVE_TRANSFER.has(tr.state);
}

function CallWindow({ call, me, transferOpen, setTransferOpen, onClose }: { call: LiveCall; me: string; transferOpen: boolean; setTransferOpen: (v: boolean) => void; onClose: () => void }) {
  const { t } = useTranslation();
  const now = useNow();
  const recording = useRecording(call.callId);
  const who = call.contact?.name || call.customer?.name || formatPhone(call.numberE164 ?? call.number) || call.callerName || call.did || '';
  const tr = call.transfer;
  const talking = call.state === 'answered';
  const followed = followedTransfer(call);
  const completed = followed && tr?.state === 'completed';
  useEffect(() => {
    if (!completed) return;
    const id = setTimeout(onClose, COMPLETED_SHOWN_MS);
    return () => clearTimeout(id);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [completed]);
  return (
    <Card
      size="small"
      data-testid="live-active-call"
      data-call-id={call.callId}
      data-held={call.held && !followed ? 'true' : 'false'}
      data-followed={followed ? 'true' : undefined}
      style={{ width: 'min(340px, calc(100vw - 32px))', boxShadow: '0 6px 16px rgba(0,0,0,.18)', borderLeft: `4px solid ${followed ? (tr?.state === 'completed' || LIVE_TRANSFER.has(tr?.state ?? '') ? '#1677ff' : '#ff4d4f') : call.held ? '#faad14' : '#52c41a'}` }}
      title={
        followed ? (
          <span>{t('live.active.handedOver')}</span>
        ) : (
          <Space>
            <span>{talking ? t('live.active.title') : t('live.active.calling')}</span>
            <Typography.Text code data-testid="live-timer">
              {formatDuration(now - (call.answeredAt ?? call.ringingAt))}
            </Typography.Text>
            {call.held && <Tag color="orange">{t('live.active.held')}</Tag>}
          </Space>
        )
      }
      extra={
        followed ? (
          <Button size="small" type="text" onClick={onClose} data-testid="live-active-close">
            ×
          </Button>
        ) : recording === null ? null : recording ? (
          <Tag color="red" data-testid="live-recording">
            ● {t('live.active.recording')}
          </Tag>
        ) : (
          <Tag data-testid="live-recording">{t('live.active.notRecording')}</Tag>
        )
      }
    >
      <Typography.Text strong data-testid="live-active-who" style={{ cursor: 'pointer' }} onClick={() => callsStore.openCard(call.callId)}>
        {who}
      </Typography.Text>
      {call.customer && call.contact && <div><Typography.Text type="secondary">{call.customer.name}</Typography.Text></div>}
      {tr && (
        <div style={{ marginTop: 8 }} data-testid="live-transfer-state" data-state={tr.state}>
          <Typography.Text>{t('live.active.transferState', { target: tr.target, state: t(`live.transferState.${tr.state}`) })}</Typography.Text>
          {tr.cause && tr.state !== 'completed' && (
            <Typography.Text type="secondary" data-testid="live-transfer-cause">
              {' '}
              ({tr.cause})
            </Typography.Text>
          )}
          {!followed && LIVE_TRANSFER.has(tr.state) && tr.flow === 'attended' && (
            <Space style={{ marginTop: 4 }}>
              <Button size="small" type="primary" onClick={() => completeTransfer(tr)} data-testid="live-transfer-complete">
                {t('live.active.complete')}
              </Button>
              <Button size="small" onClick={() => cancelTransfer(tr)} data-testid="live-transfer-cancel">
                {t('live.active.cancel')}
              </Button>
            </Space>
          )}
        </div>
      )}
      {!followed && (
        <Space wrap style={{ marginTop: 8 }}>
          {talking && !(tr && LIVE_TRANSFER.has(tr.state)) &&
            (call.held ? (
              <Button size="small" onClick={() => hold(call.callId, me, false)} data-testid="live-resume">
                {t('live.active.resume')}
              </Button>
            ) : (
              <Button size="small" onClick={() => hold(call.callId, me, true)} data-testid="live-hold">
                {t('live.active.hold')}
              </Button>
            ))}
          {talking && !(tr && LIVE_TRANSFER.has(tr.state)) && (
            <Button size="small" onClick={() => setTransferOpen(true)} data-testid="live-transfer">
              {t('live.active.transfer')}
            </Button>
          )}
          <Button size="small" danger onClick={() => hangup(call.callId)} data-testid="live-hangup">
            {t('live.active.hangup')}
          </Button>
        </Space>
      )}
      {transferOpen && !followed && <TransferDialog call={call} me={me} onClose={() => setTransferOpen(false)} />}
    </Card>
  );
}

/** The active call window(s): my answered calls, calls I placed that still ring, and calls I sent on blind until the transfer ends. */
export function ActiveCalls({ me }: { me: string }) {
  const { calls } = useLiveCalls();
  const [transferFor, setTransferFor] = useState<string | null>(null);
  const [closed, setClosed] = useState<ReadonlySet<string>>(new Set());
  const active = calls.filter((c) => c.state === 'answered' || (c.state === 'ringing' && c.role === 'caller') || (followedTransfer(c) && !closed.has(c.callId)));
  // Shortcuts on the newest answered call: h hold / resume, t transfer (р / е on a Russian layout).
  const current = active.find((c) => c.state === 'answered' && !(c.transfer && LIVE_TRANSFER.has(c.transfer.state)));
  const toggleHold = () => current && void hold(current.callId, me, !current.held);
  const openTransfer = () => current && setTransferFor(current.callId);
  useShortcuts({ h: toggleHold, р: toggleHold, t: openTransfer, е: openTransfer });
  if (!active.length) return null;
  return (
    <div style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
      {active.map((c) => (
        <CallWindow
          key={c.callId}
          call={c}
          me={me}
          transferOpen={transferFor === c.callId}
          setTransferOpen={(v) => setTransferFor(v ? c.callId : null)}
          onClose={() => setClosed((s) => new Set(s).add(c.callId))}
        />
      ))}
    </div>
  );
}

/** The call the employee list's transfer buttons act on: my one answered call (the newest). */
export function useCurrentCall(): LiveCall | null {
  const { calls } = useLiveCalls();
  return calls.find((c) => c.state === 'answered') ?? null;
}
