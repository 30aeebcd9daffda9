import { message } from 'antd';
import i18n from 'i18next';
import { callsStore, LiveSupervision, LiveTransfer } from './calls';
import { liveApi, LiveApiError } from './http';
import { errorLine } from '../api/errors';

/** The call-control requests of the live screens (src/routes/control.ts); failures are shown, 403 as such. */

export function showError(e: unknown): void {
  if (e instanceof LiveApiError && e.status === 403) void message.error(i18n.t('live.error.forbidden'));
  else void message.error(i18n.t('live.error.failed', { message: errorLine(e, i18n.t.bind(i18n) as never) }));
}

async function run<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    showError(e);
    return undefined;
  }
}

export const hold = (callId: string, employee: string | null, on: boolean) =>
  run(async () => {
    await liveApi(`/calls/${encodeURIComponent(callId)}/${on ? 'hold' : 'resume'}`, { method: 'POST', body: employee ? { employee } : {} });
    callsStore.setHeld(callId, on);
  });

export const hangup = (callId: string) => run(() => liveApi(`/calls/${encodeURIComponent(callId)}/hangup`, { method: 'POST', body: {} }));

export const startTransfer = (callId: string, initiator: string, target: string, flow: 'blind' | 'attended') =>
  run(async () => {
    const t = await liveApi<LiveTransfer>('/transfers', { method: 'POST', body: { callId, initiator, target, flow } });
    callsStore.setTransfer(t, callId);
    return t;
  });

export const completeTransfer = (t: LiveTransfer) =>
  run(async () => {
    const done = await liveApi<LiveTransfer>(`/transfers/${encodeURIComponent(t.id)}/complete`, { method: 'PUT' });
    callsStore.setTransfer(done, t.callId);
  });

export const cancelTransfer = (t: LiveTransfer) =>
  run(async () => {
    const done = await liveApi<LiveTransfer>(`/transfers/${encodeURIComponent(t.id)}`, { method: 'DELETE' });
    callsStore.setTransfer(done, t.callId);
  });

export const startSupervision = (callId: string, supervisor: string, employee: string, mode: string) =>
  run(async () => {
    const s = await liveApi<LiveSupervision>(`/calls/${encodeURIComponent(callId)}/supervision`, { method: 'POST', body: { supervisor, mode, employee } });
    callsStore.setSupervision(s);
  });

export const switchSupervision = (s: LiveSupervision, mode: string) =>
  run(async () => {
    const next = await liveApi<LiveSupervision>(`/calls/${encodeURIComponent(s.callId)}/supervision/${encodeURIComponent(s.id)}`, { method: 'PUT', body: { mode } });
    callsStore.setSupervision(next);
  });

export const stopSupervision = (s: LiveSupervision) =>
  run(async () => {
    const next = await liveApi<LiveSupervision>(`/calls/${encodeURIComponent(s.callId)}/supervision/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
    callsStore.setSupervision(next);
  });

export const createCustomer = (callId: string, name: string) =>
  run(() => liveApi<{ customer?: { id: string; name: string } }>('/customers', { method: 'POST', body: { callId, name } }));

export const bindNumber = (customerId: string, number: string, contactId?: string) =>
  run(() => liveApi(`/customers/${encodeURIComponent(customerId)}/phones`, { method: 'POST', body: contactId ? { number, contactId } : { number } }));
