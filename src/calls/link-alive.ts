/**
 * Until when FreeSWITCH showed every leg we know alive (issue 9, item 6). All times are ms on FreeSWITCH's
 * clock (src/calls/fs-clock.ts).
 *
 * FreeSWITCH delivers a link's frames in order: while the link is up, and every leg the tracker holds was
 * either learned on this link or confirmed by the last resync, a leg whose hangup we have not seen was alive
 * at the time of the latest frame. The frames that say so: channel events (`Event-Date-Timestamp`),
 * HEARTBEATs (every 20 s by default, `Event-Date-Timestamp`, subscribed by src/esl/connection.ts) and
 * answered `api status` probes (src/esl/link-watch.ts; their send time mapped with FsClock.at, never later
 * than FreeSWITCH's own clock at that moment).
 *
 * Out of sync (after the link dropped, or after a restart restored legs from the journal, until the next
 * resync completes), frames prove nothing about the legs carried over, so the mark does not move; the
 * value reached before is what a resync ends vanished legs at (`aliveUntil`). The mark is also persisted
 * (journal_marks, migration 0019) so that a restart after a crash knows it.
 */
export class LinkAlive {
  /** The last mark taken while in sync: a lower bound of every vanished leg's end. */
  private until = 0;
  /** The latest frame time seen while in sync. */
  private current = 0;
  private inSync = true;

  /** A frame of the link (an event, a heartbeat, an answered probe) at FreeSWITCH time `fsMs`. */
  saw(fsMs: number): void {
    if (this.inSync && Number.isFinite(fsMs) && fsMs > this.current) this.current = fsMs;
  }

  /** The link dropped: every leg not seen hanging up was alive until the latest frame. */
  down(): void {
    if (this.inSync) this.until = Math.max(this.until, this.current);
    this.inSync = false;
  }

  /**
   * Legs were restored from the journal (after a restart); `persisted` is the journal's last mark, taken
   * while in sync, and `lastSeen` the latest sighting of a restored leg. Out of sync until the resync.
   */
  restored(persisted: number | undefined, lastSeen: number, anyLegs: boolean): void {
    this.until = Math.max(this.until, persisted ?? 0, lastSeen);
    if (anyLegs) this.inSync = false;
  }

  /** A resync completed: every leg held is now confirmed by FreeSWITCH's snapshot or by its own events. */
  synced(): void {
    this.inSync = true;
  }

  /** What a resync ends a vanished leg at, at least (0: nothing known). */
  get aliveUntil(): number {
    return this.until;
  }

  /** The mark worth persisting now; undefined while out of sync or before any frame. */
  get mark(): number | undefined {
    return this.inSync && this.current > 0 ? this.current : undefined;
  }
}
