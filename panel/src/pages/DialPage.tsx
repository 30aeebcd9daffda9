/** The dialer as a screen (the same dialog as `d` and the header button). */
import { useEffect } from 'react';
import { Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useRouter } from '../router';
import { useDialer } from '../shell/dialer-context';

export default function DialPage() {
  const { t } = useTranslation();
  const { search } = useRouter();
  const dialer = useDialer();
  useEffect(() => {
    dialer.open(new URLSearchParams(search).get('number') ?? '');
  }, [dialer, search]);
  return <Typography.Paragraph type="secondary">{t('dial.numberHint')}</Typography.Paragraph>;
}
