import { Badge, Tooltip } from 'antd';
import { useTranslation } from 'react-i18next';
import { useLinkStatus } from './events';

/** "на связи" / "нет связи": the event stream's state, in the header (`compact`: the dot only, the text on hover). */
export function LinkIndicator({ compact = false }: { compact?: boolean }) {
  const { t } = useTranslation();
  const status = useLinkStatus();
  const color = status === 'online' ? 'green' : status === 'offline' ? 'red' : 'gold';
  return (
    <Tooltip title={t(`live.link.${status}`)}>
      <span data-testid="live-link" data-status={status} style={{ whiteSpace: 'nowrap' }}>
        <Badge color={color} text={compact ? undefined : t(`live.link.${status}`)} />
      </span>
    </Tooltip>
  );
}
