import { Button, Input, List, Modal, Space, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { startTransfer } from './actions';
import { LiveCall } from './calls';
import { PresenceTag } from './PresenceTag';
import { useLiveEmployees } from './employees';

/** Transfer: a colleague from the list (with presence) or a typed number; blind or consultative. */
export function TransferDialog({ call, me, onClose }: { call: LiveCall; me: string; onClose: () => void }) {
  const { t } = useTranslation();
  const employees = useLiveEmployees().filter((e) => e.extension !== me);
  const [number, setNumber] = useState('');
  const go = async (target: string, flow: 'blind' | 'attended') => {
    if (!target.trim()) return;
    const out = await startTransfer(call.callId, me, target.trim(), flow);
    if (out) onClose();
  };
  const buttons = (target: string) => (
    <Space>
      <Button size="small" onClick={() => go(target, 'blind')}>
        {t('live.active.blind')}
      </Button>
      <Button size="small" type="primary" onClick={() => go(target, 'attended')}>
        {t('live.active.consult')}
      </Button>
    </Space>
  );
  return (
    <Modal open title={t('live.active.transferTitle')} onCancel={onClose} footer={null}>
      <Space.Compact style={{ width: '100%', marginBottom: 12 }}>
        <Input value={number} onChange={(e) => setNumber(e.target.value)} placeholder={t('live.active.target')} data-testid="live-transfer-target" />
      </Space.Compact>
      {number.trim() && buttons(number)}
      <List
        size="small"
        dataSource={employees}
        renderItem={(e) => (
          <List.Item actions={[buttons(e.extension)]}>
            <Space>
              <Typography.Text>{e.name}</Typography.Text>
              <Typography.Text type="secondary">{e.extension}</Typography.Text>
              <PresenceTag e={e} />
            </Space>
          </List.Item>
        )}
      />
    </Modal>
  );
}
