import { Button, List, Space, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from '../router';
import { callsStore, LiveCall, useLiveCalls } from './calls';
import { formatPhone, formatTime } from './format';

function stateOf(c: LiveCall): string {
  if (c.missed) return 'missed';
  if (c.state === 'gone') return 'gone';
  if (c.state === 'ended') return c.answeredAt ? 'answered' : 'ended';
  return c.state === 'answered' ? 'answered' : 'ringing';
}

const COLORS: Record<string, string> = { missed: 'red', answered: 'green', ringing: 'blue', gone: 'default', ended: 'default' };

/** My calls as the stream told them, including those missed while the panel was offline. */
export default function RecentCalls(_props: { params?: Record<string, string> }) {
  const { t } = useTranslation();
  const { calls } = useLiveCalls();
  return (
    <div data-testid="live-recent">
      <Typography.Title level={3}>{t('live.recent.title')}</Typography.Title>
      <List
        locale={{ emptyText: t('live.recent.empty') }}
        dataSource={calls}
        renderItem={(c) => {
          const s = stateOf(c);
          return (
            <List.Item
              data-testid="live-recent-item"
              data-call-id={c.callId}
              data-state={s}
              actions={[
                <Button key="card" size="small" type="link" onClick={() => callsStore.openCard(c.callId)}>
                  {t('live.banner.open')}
                </Button>,
                <Link key="journal" to={`/calls/${encodeURIComponent(c.callId)}`}>
                  {t('live.recent.journal', { defaultValue: 'В журнале' })}
                </Link>,
              ]}
            >
              <Space>
                <Tag color={COLORS[s]}>{t(`live.recent.${s}`)}</Tag>
                <Typography.Text>{c.contact?.name || c.customer?.name || formatPhone(c.numberE164 ?? c.number) || c.callerName}</Typography.Text>
                <Typography.Text type="secondary">{formatTime(c.ringingAt)}</Typography.Text>
              </Space>
            </List.Item>
          );
        }}
      />
    </div>
  );
}
