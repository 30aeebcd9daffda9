/**
 * FreeSWITCH's clock as seen from here. Every time in a call comes from FreeSWITCH
 * (`Event-Date-Timestamp`, `Caller-Channel-*-Time`, µs since the epoch); a time we have to make up (a leg
 * that a resync finds gone, a call closed after a grace period) is put on the same clock, so a call never
 * ends before it starts when the two machines' clocks differ (issue 9, item 7).
 *
 * The offset is estimated as the largest (event time − arrival time) over the last minute: arrival lags the
 * event by the transport delay, so the largest difference is the one with the least delay. The window lets a
 * stepped clock (NTP on the FreeSWITCH host) take over within a minute.
 */
export class FsClock {
  private offsetMs = 0;
  private bestAt = 0;
  private samples = 0;

  constructor(private readonly local: () => number = Date.now) {}

  /** Notes one event's timestamp (ms, FreeSWITCH clock) at its arrival now. */
  observe(fsMs: number): void {
    const now = this.local();
    const sample = fsMs - now;
    if (this.samples === 0 || sample >= this.offsetMs || now - this.bestAt > 60_000) {
      this.offsetMs = sample;
      this.bestAt = now;
    }
    this.samples++;
  }

  /** Now on FreeSWITCH's clock, ms. Before any event: the local clock. */
  now(): number {
    return this.local() + this.offsetMs;
  }

  /**
   * Our time `localMs` on FreeSWITCH's clock, ms. The offset is the least-delayed (event − arrival), which
   * is at most the true offset: the result is never later than FreeSWITCH's clock at that moment.
   */
  at(localMs: number): number {
    return localMs + this.offsetMs;
  }

  /** FreeSWITCH minus local, ms (0 before any event). */
  get offset(): number {
    return this.offsetMs;
  }
}

/** An event's time in ms on FreeSWITCH's clock: src/esl/event.ts (the link watch reads heartbeats with it too). */
export { eventTimestamp } from '../esl/event';

/** A FreeSWITCH µs time (`Caller-Channel-Answered-Time`, `variable_answer_uepoch`) in ms; 0 or junk → undefined. */
export function microsToMs(v: string | undefined): number | undefined {
  if (!v || !/^\d+$/.test(v) || v === '0') return undefined;
  return Math.floor(Number(v) / 1000);
}
