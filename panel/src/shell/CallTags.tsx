import { Tag } from 'antd';
import { ArrowDownOutlined, ArrowUpOutlined, SwapOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import type { Direction, Status } from '../api/client';

const STATUS_COLORS: Record<string, string> = {
  answered: 'green', active: 'blue', ringing: 'gold', missed: 'red', abandoned: 'volcano', busy: 'orange', no_answer: 'orange', failed: 'magenta',
};

export function StatusTag({ status }: { status: Status | string }) {
  const { t } = useTranslation();
  return <Tag color={STATUS_COLORS[status] ?? 'default'}>{t(`status.${status}`, { defaultValue: status })}</Tag>;
}

export function DirectionIcon({ direction }: { direction: Direction | string }) {
  const { t } = useTranslation();
  const title = t(`direction.${direction}`, { defaultValue: direction });
  const icon = direction === 'inbound' ? <ArrowDownOutlined style={{ color: '#52c41a' }} /> : direction === 'outbound' ? <ArrowUpOutlined style={{ color: '#1677ff' }} /> : <SwapOutlined />;
  return <span title={title} aria-label={title}>{icon}</span>;
}
