import { Alert } from 'antd';
import { useTranslation } from 'react-i18next';
import { useLinkStatus } from './events';

/** Above every screen: a red bar while there is no connection (the state itself is in the header: LinkIndicator). */
export default function LinkBar() {
  const { t } = useTranslation();
  const status = useLinkStatus();
  return (
    status === 'offline' ? <Alert type="error" banner showIcon message={t('live.link.offlineLong')} data-testid="live-offline-bar" /> : null
  );
}
