/** The shapes of presence (src/employees/presence.ts): what is published, the registrations read, the options. */

export type PresenceState = 'offline' | 'online' | 'busy';
export type BusyReason = 'ringing' | 'talking' | 'held' | 'supervising';

/** An extension's presence as published (GET /employees and the `employee.presence` events say the same). */
export interface PresenceView {
  presence: PresenceState;
  /** Why busy: ringing (a phone rings or dials out), talking, held (the call is on hold), supervising; null unless busy. */
  reason: BusyReason | null;
  /** When it became so (ISO); null for an extension never seen. */
  since: string | null;
  /** Phones (SIP contacts) registered for the extension right now. */
  registrations: number;
  /** Live calls the extension is on. */
  callIds: string[];
}

/** A row of `show registrations as json` (FreeSWITCH core `registrations` table; every value a string). */
export interface RegistrationRow {
  reg_user?: string;
  realm?: string;
  token?: string;
  url?: string;
  expires?: string;
  network_ip?: string;
  network_port?: string;
  network_proto?: string;
  hostname?: string;
  metadata?: string;
}

export interface PresenceOptions {
  /** Sofia profiles whose registered users are employees (TELEFONIST_EMPLOYEE_PROFILES). */
  profiles: ReadonlySet<string>;
  /**
   * A registration counts this long past its `expires` before it lapses here: FreeSWITCH's own
   * `sip-expires-late-margin` (60 s by default), so we never expire a phone FreeSWITCH still holds.
   */
  expiryMarginMs?: number;
  /**
   * A change to offline is published only if it still holds this long after (a phone that unregisters and
   * registers again at once, as phones do on reboot or re-provisioning, does not flip). Default 3 s.
   */
  offlineDelayMs?: number;
  /** How often lapsed registrations are looked for (default 1 s). */
  sweepMs?: number;
}

export interface Contact {
  profile: string;
  /** Local ms after which it lapses (Infinity: no expiry). */
  expiresAt: number;
  /** Local ms an event last touched it (a snapshot leaves contacts touched while it was in flight alone). */
  touchedAt: number;
}

export interface Published {
  presence: PresenceState;
  reason: BusyReason | null;
  since: number;
}
