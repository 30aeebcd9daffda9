import { useState } from 'react';
import { Alert, Button, Card, Form, Input, Segmented, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, ApiError, type Session } from '../api/client';
import { errorLine } from '../api/errors';
import { setLanguage, type Language } from '../i18n';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const { t, i18n } = useTranslation();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (v: { login: string; password: string }) => {
    setBusy(true);
    setError(null);
    try {
      const s = await api.session.create(v.login.trim(), v.password);
      // The server's answer names the user; read it back so the shell sees exactly what the cookie carries.
      onSignedIn((await api.session.get().catch(() => s)) ?? s);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 400)) setError(t('signin.wrong'));
      else if (e instanceof ApiError && e.status === 429) setError(t('signin.throttled'));
      else setError(t('signin.failed', { message: errorLine(e, t) }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="tf-signin">
      <Card
        title={<Typography.Title level={4} style={{ margin: 0 }}>{t('app.name')}</Typography.Title>}
        extra={<Segmented size="small" value={i18n.language} options={[{ label: 'RU', value: 'ru' }, { label: 'EN', value: 'en' }]} onChange={(v) => setLanguage(v as Language)} />}
      >
        <Form layout="vertical" onFinish={submit} requiredMark={false} data-testid="signin-form">
          <Form.Item name="login" label={t('signin.login')} rules={[{ required: true, message: t('signin.required') }]}>
            <Input autoFocus autoComplete="username" data-testid="signin-login" />
          </Form.Item>
          <Form.Item name="password" label={t('signin.password')} rules={[{ required: true, message: t('signin.required') }]}>
            <Input.Password autoComplete="current-password" data-testid="signin-password" />
          </Form.Item>
          {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} data-testid="signin-error" />}
          <Button type="primary" htmlType="submit" block loading={busy} data-testid="signin-submit">
            {t('signin.submit')}
          </Button>
        </Form>
      </Card>
    </div>
  );
}
