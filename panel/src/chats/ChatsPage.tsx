/**
 * Чаты (issue 13): My / Observed / Queue with unread counts, live from the chat.* events; the chat window
 * (messages, attachments, templates, @mentions, handover, close); start a chat by phone. The server's
 * rules decide everything: a chat taken by a colleague answers 403 and is shown as such.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { Alert, Badge, Button, Empty, List, Space, Tabs, Tag, Typography } from 'antd';
import { MessageOutlined, PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';
import { useRouter } from '../router';
import { LIVE_EVENT_TYPES, useLiveEvents } from '../live/events';
import { Chat, CHAT_VIEWS, ChatView, chatsApi, Counts } from './api';
import { ChatWindow } from './ChatWindow';
import { StartChat } from './StartChat';
import { fmtShortTime } from '../format';
import { useSession } from '../shell/session';

export const CHAT_EVENT_TYPES = LIVE_EVENT_TYPES.filter((x) => x.startsWith('chat.'));

/** A counter that goes up on every chat.* event (coalesced): lists, counts and the open chat refetch on it. */
export function useChatTick(pollMs = 20_000): number {
  const [tick, setTick] = useState(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const on = useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      setTick((n) => n + 1);
    }, 150);
  }, []);
  useLiveEvents(on, CHAT_EVENT_TYPES);
  useEffect(() => {
    // The lists refresh now and then anyway: for a stream that is down, and for the queue, since a chat a
    // colleague takes sends no event to the others (events go only to those who may see the chat now).
    const i = setInterval(() => setTick((n) => n + 1), pollMs);
    return () => clearInterval(i);
  }, [pollMs]);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
      timer.current = null;
    },
    [],
  );
  return tick;
}

export function chatTitle(c: Pick<Chat, 'peerName' | 'peerUsername' | 'phone' | 'peerId'>): string {
  return c.peerName ?? (c.peerUsername ? `@${c.peerUsername}` : null) ?? c.phone ?? c.peerId;
}

export default function ChatsPage() {
  const { t } = useTranslation();
  const { search, navigate } = useRouter();
  const params = new URLSearchParams(search);
  const view = (CHAT_VIEWS as string[]).includes(params.get('view') ?? '') ? (params.get('view') as ChatView) : 'my';
  const open = params.get('chat');
  const tick = useChatTick(view === 'queue' ? 4_000 : 20_000);
  const { extension: me } = useSession();
  const [counts, setCounts] = useState<Counts | null>(null);
  const [items, setItems] = useState<Chat[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);

  const [refresh, setRefresh] = useState(0);

  const go = useCallback(
    (v: ChatView, chat: string | null, replace = false) => navigate(`/chats?view=${v}${chat ? `&chat=${encodeURIComponent(chat)}` : ''}`, { replace }),
    [navigate],
  );

  useEffect(() => {
    let live = true;
    Promise.all([chatsApi.counts(), chatsApi.list(view)])
      .then(([c, l]) => {
        if (!live) return;
        setCounts(c);
        setItems(l.items);
        setError(null);
      })
      .catch((e) => {
        if (!live) return;
        setError(e instanceof ApiError && e.status === 403 ? t('errors.forbidden') : (e as Error).message);
        setItems([]);
      });
    return () => {
      live = false;
    };
  }, [view, tick, refresh, t]);

  const tabLabel = (v: ChatView) => {
    const c = counts?.[v];
    return (
      <span data-testid={`chats-tab-${v}`} data-chats={c?.chats ?? 0} data-unread={c?.unread ?? 0}>
        {t(`chats.view.${v}`)} <Typography.Text type="secondary">{c ? c.chats : ''}</Typography.Text>{' '}
        {c && c.unread > 0 ? <Badge count={c.unread} size="small" /> : null}
      </span>
    );
  };

  return (
    <div className="chats-page" style={{ display: 'flex', gap: 16, alignItems: 'stretch', minHeight: 'calc(100vh - 140px)' }}>
      <div style={{ width: 340, flex: '0 0 340px', display: 'flex', flexDirection: 'column' }}>
        <Space style={{ justifyContent: 'space-between', width: '100%' }}>
          <Typography.Title level={4} style={{ margin: 0 }}>
            {t('chats.title')}
          </Typography.Title>
          <Button icon={<PlusOutlined />} onClick={() => setStarting(true)} data-testid="chats-start">
            {t('chats.start.button')}
          </Button>
        </Space>
        <Tabs
          activeKey={view}
          onChange={(k) => go(k as ChatView, open)}
          items={CHAT_VIEWS.map((v) => ({ key: v, label: tabLabel(v) }))}
          data-testid="chats-tabs"
        />
        {error ? <Alert type="error" showIcon message={error} /> : null}
        <List
          data-testid="chats-list"
          data-view={view}
          loading={items === null}
          dataSource={items ?? []}
          locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t(`chats.empty.${view}`)} /> }}
          renderItem={(c) => (
            <List.Item
              key={c.id}
              data-testid="chats-item"
              data-chat-id={c.id}
              onClick={() => go(view, c.id)}
              style={{ cursor: 'pointer', paddingInline: 8, background: c.id === open ? 'rgba(22,119,255,0.08)' : undefined }}
            >
              <List.Item.Meta
                avatar={<MessageOutlined />}
                title={
                  <Space>
                    <span>{chatTitle(c)}</span>
                    {c.unread > 0 ? <Badge count={c.unread} size="small" data-testid="chats-item-unread" /> : null}
                  </Space>
                }
                description={
                  <Space size={4} wrap>
                    <Tag>{c.messenger}</Tag>
                    <Tag color={c.status === 'queue' ? 'orange' : c.status === 'in_work' ? 'blue' : 'default'}>{t(`chats.status.${c.status}`)}</Tag>
                    <span>{fmtShortTime(c.lastMessageAt)}</span>
                  </Space>
                }
              />
            </List.Item>
          )}
        />
      </div>
      <div style={{ flex: 1, minWidth: 0 }}>
        {open ? (
          <ChatWindow
            key={open}
            chatId={open}
            tick={tick}
            onChanged={(chat) => {
              setRefresh((n) => n + 1);
              // The first reply took the chat from the queue: it is one of "my chats" now.
              if (!chat || chat.status === 'closed') go(view, null, true);
              else if (me && chat.responsible === me && view !== 'my') go('my', chat.id, true);
              // Handed over without keeping access: the chat is no longer this employee's to see.
              else if (me && chat.responsible !== me && !chat.observers.includes(me)) go(view, null, true);
            }}
          />
        ) : (
          <Empty style={{ marginTop: 80 }} description={t('chats.pick')} />
        )}
      </div>
      <StartChat
        open={starting}
        onClose={() => setStarting(false)}
        onStarted={(chat) => {
          // The dialog stays open with the messenger's answer; the chat opens behind it.
          setRefresh((n) => n + 1);
          go('my', chat.id);
        }}
      />
    </div>
  );
}
