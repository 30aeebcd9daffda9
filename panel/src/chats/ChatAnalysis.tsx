/**
 * The chat's AI analysis (issue 14, C15) under the chat window: GET /chats/{id}/analysis, the button asks
 * for a new one (POST, 202), pending is polled; disabled shows the server's plain reason, failed its error.
 */
import { useEffect, useState } from 'react';
import { Alert, Button, Card, Space, Spin, Tag, Typography } from 'antd';
import { RobotOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { ApiError, request } from '../api/client';
import { TitledList } from '../shell/TitledList';

export interface ChatAnalysisAnswer {
  chatId: string;
  status: 'disabled' | 'none' | 'pending' | 'done' | 'failed';
  message?: string;
  error?: string | null;
  analysis?: {
    summary: string;
    request: string;
    agreements: string[];
    nextSteps: Array<{ who: string; what: string; due: string | null }>;
    sentiment: 'positive' | 'neutral' | 'negative' | 'mixed';
    answered: 'yes' | 'no' | 'partly';
  } | null;
}

const ANSWERED_COLOR = { yes: 'green', partly: 'gold', no: 'red' } as const;

export function ChatAnalysisCard({ chatId, chatStatus }: { chatId: string; chatStatus: string }) {
  const { t } = useTranslation();
  const [a, setA] = useState<ChatAnalysisAnswer | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [asking, setAsking] = useState(false);
  const path = `/chats/${encodeURIComponent(chatId)}/analysis`;

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      request<ChatAnalysisAnswer>('GET', path).then(
        (r) => {
          if (stop) return;
          setA(r);
          setError(null);
          if (r.status === 'pending') timer = setTimeout(load, 2000);
        },
        (e) => !stop && setError(e instanceof ApiError ? e : new ApiError(0, 'error', String(e))),
      );
    };
    load();
    // A chat just closed is analysed by the server: look again shortly.
    if (chatStatus === 'closed') timer = setTimeout(load, 1500);
    return () => {
      stop = true;
      if (timer) clearTimeout(timer);
    };
  }, [path, chatStatus, asking]);

  async function ask() {
    setAsking(true);
    try {
      setA(await request<ChatAnalysisAnswer>('POST', path, { body: {} }));
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, 'error', String(e)));
    } finally {
      setAsking(false);
    }
  }

  let body: React.ReactNode;
  if (error) body = <Alert type={error.status === 403 ? 'warning' : 'error'} showIcon title={error.status === 403 ? `403 · ${t('errors.forbidden')}` : error.message} />;
  else if (!a) body = <Spin size="small" />;
  else if (a.status === 'disabled') body = <Typography.Text type="secondary" data-testid="chat-analysis-disabled">{a.message}</Typography.Text>;
  else {
    const x = a.analysis;
    body = (
      <div data-testid="chat-analysis" data-status={a.status}>
        {a.status === 'pending' ? <Typography.Paragraph type="secondary"><Spin size="small" /> {t('chats.analysis.pending')}</Typography.Paragraph> : null}
        {a.status === 'none' ? <Typography.Paragraph type="secondary">{t('chats.analysis.none')}</Typography.Paragraph> : null}
        {a.status === 'failed' ? <Alert type="error" showIcon title={`${t('chats.analysis.failed')}: ${a.error ?? ''}`} style={{ marginBottom: 8 }} data-testid="chat-analysis-failed" /> : null}
        {x ? (
          <>
            <Typography.Paragraph data-testid="chat-analysis-summary">{x.summary}</Typography.Paragraph>
            {x.request ? <Typography.Paragraph><b>{t('chats.analysis.request')}:</b> {x.request}</Typography.Paragraph> : null}
            {x.agreements.length ? <TitledList title={t('chats.analysis.agreements')} items={x.agreements} /> : null}
            {x.nextSteps.length ? <TitledList title={t('chats.analysis.nextSteps')} items={x.nextSteps.map((s) => `${s.who}: ${s.what}${s.due ? ` (${s.due})` : ''}`)} /> : null}
            <Space wrap>
              <Tag data-testid="chat-analysis-sentiment" data-sentiment={x.sentiment}>{t(`summary.sentiment.${x.sentiment}`, { defaultValue: x.sentiment })}</Tag>
              <Tag color={ANSWERED_COLOR[x.answered]} data-testid="chat-analysis-answered" data-answered={x.answered}>{t(`chats.analysis.answered.${x.answered}`)}</Tag>
            </Space>
          </>
        ) : null}
      </div>
    );
  }
  return (
    <Card
      size="small"
      style={{ marginTop: 8 }}
      title={<><RobotOutlined /> {t('chats.analysis.title')}</>}
      extra={a && a.status !== 'disabled' ? (
        <Button size="small" loading={asking} disabled={a.status === 'pending'} onClick={() => void ask()} data-testid="chat-analysis-run">
          {a.status === 'none' ? t('chats.analysis.run') : t('chats.analysis.rerun')}
        </Button>
      ) : null}
      data-testid="chat-analysis-card"
    >
      {body}
    </Card>
  );
}
