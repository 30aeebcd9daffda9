import { JournalBatch, LegState } from '../calls/types';
import { BusyReason } from './presence-types';
import { PresenceRegistrations } from './presence-registrations';

const RANK: Record<BusyReason, number> = { ringing: 1, held: 2, supervising: 3, talking: 4 };

/**
 * Busy state behind presence (src/employees/presence.ts): the call tracker's live legs of each extension
 * (busy: talking > supervising > held > ringing; held = its leg or its partner's leg on hold).
 */
export abstract class PresenceCalls extends PresenceRegistrations {
  /**
   * A batch changed these legs and calls: every employee leg of the calls they belong to is looked at again
   * (a hold arrives on the customer's leg, capture 14, yet makes the employee on the other end `held`).
   */
  protected onBatch(b: JournalBatch): void {
    const touched = new Set<string>();
    const calls = new Set<string>();
    for (const l of b.legs) {
      this.noteLeg(l, touched);
      calls.add(l.callId);
    }
    for (const c of b.calls) {
      for (const ext of Object.keys(c.employees)) touched.add(ext);
      calls.add(c.id);
    }
    for (const id of calls) {
      for (const uuid of this.calls.tracker.liveCall(id)?.legs ?? []) {
        const l = this.calls.tracker.liveLeg(uuid);
        if (l) this.noteLeg(l, touched);
      }
    }
    for (const ext of touched) this.recompute(ext);
  }

  protected noteLeg(l: LegState, touched: Set<string>): void {
    if (!l.employee) return;
    touched.add(l.employee);
    if (l.endedAt !== undefined) return;
    let set = this.legs.get(l.employee);
    if (!set) this.legs.set(l.employee, (set = new Set()));
    set.add(l.uuid);
  }

  /** The tracker's live legs of employees (at start, and after each call resync). */
  protected override indexLiveCalls(recompute: boolean): void {
    const touched = new Set<string>(this.legs.keys());
    for (const c of this.calls.tracker.liveCalls()) {
      for (const uuid of c.legs) {
        const l = this.calls.tracker.liveLeg(uuid);
        if (l) this.noteLeg(l, touched);
      }
    }
    if (recompute) for (const ext of touched) this.recompute(ext);
  }

  /** Busy reason from the extension's live legs (ended or moved legs drop out of the index). */
  protected callState(ext: string): { reason: BusyReason | null; callIds: string[] } {
    const set = this.legs.get(ext);
    if (!set) return { reason: null, callIds: [] };
    let best: BusyReason | null = null;
    const callIds = new Set<string>();
    for (const uuid of set) {
      const l = this.calls.tracker.liveLeg(uuid);
      if (!l || l.endedAt !== undefined || l.destroyed || l.employee !== ext || !this.calls.tracker.liveCall(l.callId) || this.calls.tracker.liveCall(l.callId)!.endedAt !== undefined) {
        set.delete(uuid);
        continue;
      }
      const partner = l.partner ? this.calls.tracker.liveLeg(l.partner) : undefined;
      const r: BusyReason = l.answeredAt === undefined
        ? 'ringing'
        : l.role === 'supervisor'
          ? 'supervising'
          : l.held || partner?.held ? 'held' : 'talking';
      if (!best || RANK[r] > RANK[best]) best = r;
      callIds.add(l.callId);
    }
    if (set.size === 0) this.legs.delete(ext);
    return { reason: best, callIds: [...callIds].sort() };
  }

  protected callIdsOf(ext: string): string[] {
    return this.callState(ext).callIds;
  }}
