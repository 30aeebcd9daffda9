/**
 * The live screens' requests: the panel's one client (api/client.ts: same-origin with the session cookie,
 * the CSRF header on state-changing requests, errors keeping the API's status and code so a 403 is shown
 * as such). A 401 here stays quiet: the live layer does not send the user to sign-in on its own.
 */
import { API_BASE, ApiError, request } from '../api/client';

export const API = API_BASE;

export { ApiError as LiveApiError };

export function liveApi<T = any>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  return request<T>(init.method ?? 'GET', path, { body: init.body, quiet401: true });
}
