/**
 * The live screens' requests: same-origin with the session cookie; state-changing requests carry the CSRF
 * header the server asks for. Errors keep the API's status and code so a 403 is shown as such.
 */
export const API = '/api/v1';

export class LiveApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function liveApi<T = any>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-Telefonist-CSRF'] = '1';
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${API}${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!res.ok) {
    const err = body && typeof body === 'object' && body.error ? body.error : {};
    throw new LiveApiError(res.status, err.code ?? String(res.status), err.message ?? res.statusText);
  }
  return body as T;
}
