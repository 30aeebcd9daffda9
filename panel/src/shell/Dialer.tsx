import { useEffect, useRef, useState } from 'react';
import { Alert, Form, Input, Modal, Typography, type InputRef } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import { describeError, type ErrorView } from '../api/errors';
import { ErrorDetail } from './ApiErrorAlert';
import { useSession } from './session';

/** Pasted numbers in any human format (`8 (916) 123-45-67`, `+7 916 123 45 67`, `tel:` links): the server normalises them. */
export function cleanPasted(text: string): string {
  return text.replace(/^tel:/i, '').replace(/[\u00a0\u2000-\u200f\u2028\u2029]/g, ' ').replace(/\s+/g, ' ').trim();
}

export function Dialer(props: { open: boolean; initialNumber: string; autoDial: boolean; origin?: { kind: string; ref?: string; label?: string }; onClose: () => void }) {
  const { t } = useTranslation();
  const { extension } = useSession();
  const [number, setNumber] = useState(props.initialNumber);
  const [employee, setEmployee] = useState(extension ?? '');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string; view?: ErrorView } | null>(null);
  const input = useRef<InputRef>(null);

  const dial = async () => {
    const n = cleanPasted(number);
    if (!n || !employee.trim()) return;
    setBusy(true);
    setResult(null);
    try {
      const r = await api.calls.dial(employee.trim(), n, props.origin ?? { kind: 'panel' });
      setResult({ ok: true, text: t('dial.placed', { number: r.dial, employee: r.employee }) });
    } catch (e) {
      const view = describeError(e, t, { byStatus: { 503: t('dial.unavailable') }, byCode: { invalid_phone: t('dial.invalid') } });
      setResult({ ok: false, text: view.title, view });
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    if (props.open && props.autoDial && props.initialNumber) void dial();
    if (props.open) setTimeout(() => input.current?.focus(), 50);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.open]);

  return (
    <Modal
      open={props.open}
      title={t('dial.title')}
      okText={t('dial.call')}
      cancelText={t('app.close')}
      onOk={dial}
      onCancel={props.onClose}
      confirmLoading={busy}
      okButtonProps={{ disabled: !cleanPasted(number) || !employee.trim(), ...({ 'data-testid': 'dial-submit' } as object) }}
      destroyOnHidden
    >
      <Form layout="vertical" onFinish={dial}>
        <Form.Item label={t('dial.number')} extra={t('dial.numberHint')}>
          <Input ref={input} value={number} onChange={(e) => setNumber(e.target.value)} onPressEnter={dial} inputMode="tel" data-testid="dial-number" allowClear />
        </Form.Item>
        <Form.Item label={t('dial.employee')} extra={extension ? undefined : t('dial.employeeHint')}>
          <Input value={employee} onChange={(e) => setEmployee(e.target.value)} onPressEnter={dial} disabled={!!extension} data-testid="dial-employee" />
        </Form.Item>
      </Form>
      {result && <Alert type={result.ok ? 'success' : 'error'} showIcon title={<Typography.Text data-testid="dial-result">{result.text}</Typography.Text>} description={result.view?.detail ? <ErrorDetail view={result.view} testId="dial-result-detail" /> : undefined} />}
    </Modal>
  );
}
