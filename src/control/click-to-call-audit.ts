import { EslEvent, header } from '../esl/event';
import type { ClickToCallAuditor } from '../calls/click-to-call';
import { Control } from './control';

interface Pending {
  employee: string;
  data: Record<string, unknown>;
  timer: NodeJS.Timeout;
}

/**
 * Click-to-call's audit, like every other action's (src/control/control.ts `audit`): who asked (`by`: the
 * token's id, name, role and employee) as an `action` entry `{action: 'click_to_call', employee, number,
 * e164, customer, callerId, origin, by}` on the call's timeline and the same data as a `call.action` event
 * addressed to the employee.
 *
 * POST /calls answers before FreeSWITCH has made the call, and a timeline entry belongs to a call row in the
 * journal, so the entry waits (registered before the originate is sent, dropped if it is refused) for the
 * first event of the call: a channel event of the employee's leg (its Unique-ID is our origination_uuid =
 * the call id) or the originate's BACKGROUND_JOB (Job-UUID = the same id; an originate that made no
 * channel is journalled from it). Then, once the tracker has applied that event and its batch is with the
 * journal writer (`calls.drained()`), the entry and the event are queued behind it. An originate that
 * FreeSWITCH never reports within `waitMs` (default 5 minutes: the link went down) has no call to carry the
 * entry: it is dropped.
 */
export class ClickToCallAudit implements ClickToCallAuditor {
  private pending = new Map<string, Pending>();

  constructor(
    private readonly control: Control,
    private readonly waitMs = 300_000,
  ) {
    control.onEvent((ev) => this.onEvent(ev));
  }

  expect(callId: string, employee: string, data: Record<string, unknown>): void {
    const timer = setTimeout(() => this.pending.delete(callId), this.waitMs);
    timer.unref();
    this.pending.set(callId, { employee, data, timer });
    if (this.pending.size > 10_000) this.forget(this.pending.keys().next().value!);
  }

  forget(callId: string): void {
    const p = this.pending.get(callId);
    if (p) clearTimeout(p.timer);
    this.pending.delete(callId);
  }

  private onEvent(ev: EslEvent): void {
    if (this.pending.size === 0) return;
    const id = ev.name === 'BACKGROUND_JOB' ? header(ev, 'Job-UUID') : header(ev, 'Unique-ID');
    const p = id ? this.pending.get(id) : undefined;
    if (!id || !p) return;
    this.forget(id);
    // The call tracker listens after us: once it has applied this event, its batch goes to the writer first.
    setImmediate(() => {
      void this.control.calls.drained().then(() => {
        const call = this.control.calls.tracker.liveCall(id) ?? { id };
        return this.control.audit(call, 'action', 'call.action', id, p.data, [p.employee]);
      });
    });
  }
}
