/**
 * The call's transcript by speaker (the segment under the playhead highlighted, a click seeks there) and its
 * AI summary. Both finish after the call: each card fetches again whenever the call is reloaded (`version`,
 * bumped by the call's events) and asks again every few seconds while the API says the work is pending.
 */
import { useEffect, useState } from 'react';
import { Alert, Card, Skeleton, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { ApiErrorAlert } from '../shell/ApiErrorAlert';
import { api, type CallDetail as Call, type SummaryAnswer, type SummaryBody, type Transcript } from '../api/client';
import { fmtPhone, fmtSeconds } from '../format';
import { TitledList } from '../shell/TitledList';

const POLL_MS = 3000;
/** A call that ended this recently may still get its transcription jobs ('none' for now). */
const FRESH_MS = 10 * 60_000;

/** The API's answer for this call, fetched on `version` and again while `pending(answer)` says so. */
function usePolled<T extends { status: string }>(call: Call, version: number, fetch: (id: string) => Promise<T>, pending: (a: T) => boolean) {
  const [answer, setAnswer] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const has = !!call.recordings?.length;
  const ended = call.endedAt ? Date.parse(call.endedAt) : null;
  useEffect(() => {
    if (!has) return;
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = () =>
      fetch(call.id).then(
        (a) => {
          if (!alive) return;
          setAnswer(a);
          setError(null);
          const waiting = pending(a) || (a.status === 'none' && (ended === null || Date.now() - ended < FRESH_MS));
          if (waiting) timer = setTimeout(ask, POLL_MS);
        },
        (e) => alive && setError(e),
      );
    void ask();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [call.id, has, version]);
  return { answer, error, has };
}

function failure(error: unknown) {
  return <ApiErrorAlert error={error} />;
}

export function TranscriptCard({ call, version, playing, seek }: { call: Call; version: number; playing: { index: number; time: number }; seek: (index: number, s: number) => void }) {
  const { t } = useTranslation();
  const { answer: tr, error, has } = usePolled<Transcript>(call, version, api.calls.transcript, (a) => a.status === 'queued' || a.status === 'running');
  if (!has) return null;
  let body: React.ReactNode;
  if (error) body = failure(error);
  else if (!tr) body = <Skeleton active />;
  else if (tr.status === 'disabled') body = <Typography.Text type="secondary">{tr.message ?? t('call.transcriptDisabled')}</Typography.Text>;
  else {
    const done = tr.items.filter((it) => it.segments?.length);
    body = done.length ? (
      done.map((it, i) => (
        <div key={it.recordingKey ?? i} data-testid="transcript">
          {it.segments.map((s, j) => {
            const current = playing.index === i && playing.time >= s.start && playing.time < s.end;
            return (
              <div key={j} className={`tf-segment${current ? ' tf-current' : ''}`} onClick={() => seek(i, s.start)} data-current={current || undefined}>
                <span className="tf-time">{fmtSeconds(s.start)}</span>
                <span className="tf-speaker">{/^\+\d{8,15}$/.test(s.speaker) ? fmtPhone(s.speaker) : s.speaker}{s.role ? <Typography.Text type="secondary"> ({t(`role.${s.role}`, { defaultValue: s.role })})</Typography.Text> : null}:</span>
                {s.text}
              </div>
            );
          })}
        </div>
      ))
    ) : (
      <Typography.Text type="secondary" data-testid="transcript-status" data-status={tr.status}>{t(`transcription.${tr.status}`, { defaultValue: tr.status })}</Typography.Text>
    );
  }
  return (
    <Card size="small" title={t('call.transcript')}>
      {body}
    </Card>
  );
}

export function SummaryCard({ call, version }: { call: Call; version: number }) {
  const { t } = useTranslation();
  const { answer: s, error, has } = usePolled<SummaryAnswer>(call, version, api.calls.summary, (a) => a.status === 'pending');
  if (!has) return null;
  let body: React.ReactNode;
  if (error) body = failure(error);
  else if (!s) body = <Skeleton active />;
  else {
    const sum: SummaryBody | null = typeof s.summary === 'object' && s.summary ? s.summary : typeof s.summary === 'string' ? (s as unknown as SummaryBody) : null;
    if (!sum) body = <Typography.Text type="secondary" data-testid="summary-status" data-status={s.status}>{s.message ?? t(`transcription.${s.status}`, { defaultValue: s.status })}</Typography.Text>;
    else
      body = (
        <div data-testid="summary">
          <Typography.Paragraph>{sum.summary}</Typography.Paragraph>
          {sum.customerWants ? <Typography.Paragraph><b>{t('summary.wants')}:</b> {sum.customerWants}</Typography.Paragraph> : null}
          {sum.keyPoints?.length ? <TitledList title={t('summary.keyPoints')} items={sum.keyPoints} /> : null}
          {sum.agreements?.length ? <TitledList title={t('summary.agreements')} items={sum.agreements} /> : null}
          {sum.nextActions?.length ? <TitledList title={t('summary.nextActions')} items={sum.nextActions.map((a) => `${a.who}: ${a.what}${a.due ? ` (${a.due})` : ''}`)} /> : null}
          {sum.sentiment ? <Tag>{t(`summary.sentiment.${sum.sentiment}`, { defaultValue: sum.sentiment })}</Tag> : null}
        </div>
      );
  }
  return (
    <Card size="small" title={t('call.summary')}>
      {body}
    </Card>
  );
}
