/** A failed request as an alert: the panel's words (api/errors.ts), the server's own in small print. */
import { Alert, Typography } from 'antd';
import type { CSSProperties } from 'react';
import { useTranslation } from 'react-i18next';
import { describeError, type DescribeOptions, type ErrorView } from '../api/errors';

export function ErrorDetail({ view, testId = 'error-detail' }: { view: ErrorView; testId?: string }) {
  return view.detail ? (
    <Typography.Text type="secondary" style={{ fontSize: 12, overflowWrap: 'anywhere' }} data-testid={testId}>
      {view.detail}
    </Typography.Text>
  ) : null;
}

export function ApiErrorAlert({ error, options, style, testId = 'api-error' }: { error: unknown; options?: DescribeOptions; style?: CSSProperties; testId?: string }) {
  const { t } = useTranslation();
  const view = describeError(error, t, options);
  return (
    <Alert
      type={view.type === 'user' ? 'warning' : 'error'}
      showIcon
      title={view.title}
      description={view.detail ? <ErrorDetail view={view} testId={`${testId}-detail`} /> : undefined}
      style={style}
      data-testid={testId}
      data-kind={view.type}
      data-status={view.status}
    />
  );
}
