/**
 * A customer's last interactions, calls and chats in one list, newest first: the banner's "last
 * interactions" and the customer card's history. Calls are GET /customers/{id}/history, chats
 * GET /chats?customerId=… — each answer is what this user may see (the API's rules); a chat links to the
 * chat screen, a call to its detail. `live`: fetched again after calls' and chats' events.
 */
import { List, Typography } from 'antd';
import { MessageOutlined } from '@ant-design/icons';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from '../router';
import { isCallEvent, useLiveRefresh } from './events';
import { formatDuration, formatTime } from './format';
import { liveApi } from './http';

interface CallItem {
  kind: 'call';
  id: string;
  at: string;
  direction: string;
  status: string;
  talkSeconds: number | null;
  employees: string[];
}

interface ChatItem {
  kind: 'chat';
  id: string;
  at: string;
  messenger: string;
  status: string;
  responsible: string | null;
  peerName: string | null;
}

export type Interaction = CallItem | ChatItem;

export function useHistory(customerId: string | null | undefined, limit: number, live = false): { items: Interaction[]; loading: boolean } {
  const [state, setState] = useState<{ items: Interaction[]; loading: boolean }>({ items: [], loading: !!customerId });
  const [tick, setTick] = useState(0);
  useLiveRefresh(() => live && setTick((n) => n + 1), (e) => live && (isCallEvent(e) || e.type.startsWith('chat.')));
  useEffect(() => {
    if (!customerId) {
      setState({ items: [], loading: false });
      return;
    }
    let alive = true;
    setState((s) => ({ ...s, loading: s.items.length === 0 }));
    const id = encodeURIComponent(customerId);
    const calls = liveApi<{ items: any[] }>(`/customers/${id}/history?limit=${limit}`).then(
      (b) => b.items.map((c): CallItem => ({ kind: 'call', id: c.id, at: c.startedAt, direction: c.direction, status: c.status, talkSeconds: c.talkSeconds, employees: c.employees ?? [] })),
      () => [] as CallItem[],
    );
    // Chats are off (503) or not for this user (403): the calls alone.
    const chats = liveApi<{ items: any[] }>(`/chats?customerId=${id}&limit=${limit}`).then(
      (b) => b.items.map((c): ChatItem => ({ kind: 'chat', id: c.id, at: c.lastMessageAt ?? c.createdAt, messenger: c.messenger, status: c.status, responsible: c.responsible, peerName: c.peerName })),
      () => [] as ChatItem[],
    );
    void Promise.all([calls, chats]).then(([a, b]) => {
      if (!alive) return;
      const items: Interaction[] = [...a, ...b].sort((x, y) => Date.parse(y.at) - Date.parse(x.at));
      setState({ items, loading: false });
    });
    return () => {
      alive = false;
    };
  }, [customerId, limit, tick]);
  return state;
}

export function HistoryList({ customerId, limit, excludeCallId, live }: { customerId: string; limit: number; excludeCallId?: string; live?: boolean }) {
  const { t } = useTranslation();
  const { items, loading } = useHistory(customerId, limit + 1, live);
  const rows = items.filter((x) => !(x.kind === 'call' && x.id === excludeCallId)).slice(0, limit);
  return (
    <List
      size="small"
      loading={loading}
      locale={{ emptyText: t('live.banner.noHistory') }}
      dataSource={rows}
      data-testid="live-history"
      renderItem={(c) =>
        c.kind === 'chat' ? (
          <List.Item style={{ padding: '2px 0' }} data-testid="live-history-chat" data-chat-id={c.id}>
            <span style={{ fontSize: 12 }}>
              <Link to={`/chats?chat=${encodeURIComponent(c.id)}`}>
                <MessageOutlined /> {t('live.card.chat')} · {t(`chats.messenger.${c.messenger}`, { defaultValue: c.messenger })}
              </Link>
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {` · ${formatTime(c.at)} · ${t(`chats.status.${c.status}`, { defaultValue: c.status })}`}
                {c.responsible ? ` · ${c.responsible}` : ''}
                {c.peerName ? ` · ${c.peerName}` : ''}
              </Typography.Text>
            </span>
          </List.Item>
        ) : (
          <List.Item style={{ padding: '2px 0' }} data-testid="live-history-call" data-call-id={c.id}>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              <Link to={`/calls/${encodeURIComponent(c.id)}`}>{formatTime(c.at)}</Link> · {c.direction === 'inbound' ? '←' : '→'} {t(`status.${c.status}`, { defaultValue: c.status })}
              {c.talkSeconds ? ` · ${formatDuration(c.talkSeconds * 1000)}` : ''}
              {c.employees.length ? ` · ${c.employees.join(', ')}` : ''}
            </Typography.Text>
          </List.Item>
        )
      }
    />
  );
}
