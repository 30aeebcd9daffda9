import { Alert } from 'antd';
import { useTranslation } from 'react-i18next';
import { useLinkStatus } from './events';
import { LinkIndicator } from './LinkIndicator';

/** Above every screen: the stream's state as a small badge, and a red bar while there is no connection. */
export default function LinkBar() {
  const { t } = useTranslation();
  const status = useLinkStatus();
  return (
    <div style={{ position: 'relative' }}>
      <div style={{ position: 'fixed', left: '50%', transform: 'translateX(-50%)', bottom: 8, zIndex: 1100, background: '#fff', padding: '2px 8px', borderRadius: 12, boxShadow: '0 1px 4px rgba(0,0,0,.15)' }}>
        <LinkIndicator />
      </div>
      {status === 'offline' && <Alert type="error" banner showIcon message={t('live.link.offlineLong')} data-testid="live-offline-bar" />}
    </div>
  );
}
