import { Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import type { LiveEmployee } from './employees';

/** online / busy (and why) / offline. */
export function PresenceTag({ e }: { e: Pick<LiveEmployee, 'presence' | 'reason'> }) {
  const { t } = useTranslation();
  const color = e.presence === 'online' ? 'green' : e.presence === 'busy' ? 'orange' : 'default';
  return (
    <Tag color={color} data-testid="live-presence" data-presence={e.presence}>
      {t(`live.presence.${e.presence}`)}
      {e.presence === 'busy' && e.reason ? `: ${t(`live.reason.${e.reason}`)}` : ''}
    </Tag>
  );
}

