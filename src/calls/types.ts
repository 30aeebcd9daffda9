/** The call model: one conversation as the customer and 1C see it, across bridges, transfers and eavesdrops. */

export type CallDirection = 'inbound' | 'outbound' | 'internal';
/** Live statuses: ringing, active. Final statuses: the rest. */
export type CallStatus = 'ringing' | 'active' | 'answered' | 'missed' | 'abandoned' | 'busy' | 'no_answer' | 'failed';
export const FINAL_STATUSES: readonly CallStatus[] = ['answered', 'missed', 'abandoned', 'busy', 'no_answer', 'failed'];
export const ALL_STATUSES: readonly CallStatus[] = ['ringing', 'active', ...FINAL_STATUSES];
export const ALL_DIRECTIONS: readonly CallDirection[] = ['inbound', 'outbound', 'internal'];

export type LegRole = 'party' | 'supervisor';
export type EmployeeRole = 'caller' | 'callee' | 'supervisor';

/** Who is on a leg, as shown in the timeline. */
export interface Party {
  leg: string;
  employee?: string;
  number?: string;
  name?: string;
}

export interface LegState {
  uuid: string;
  callId: string;
  /** Direction as FreeSWITCH sees the channel: inbound = it called FreeSWITCH, outbound = FreeSWITCH called it. */
  fsDirection: 'inbound' | 'outbound';
  channelName: string;
  employee?: string;
  /** The party's number: caller id for inbound legs, dialled number for outbound legs. */
  number?: string;
  name?: string;
  destination?: string;
  createdAt: number;
  answeredAt?: number;
  endedAt?: number;
  hangupCause?: string;
  role: LegRole;
  partner?: string;
  lastPartner?: string;
  held: boolean;
  transferSource?: string;
  /** Eavesdrop target leg (supervisor legs). */
  eavesdropTarget?: string;
  eavesdropMode?: EavesdropMode;
  /** Originated by an API originate (no originator leg). */
  originated: boolean;
  hangupDisposition?: string;
  /** CHANNEL_DESTROY seen (or FreeSWITCH no longer lists it): no more events will come for this leg. */
  destroyed?: boolean;
  /** Last moment (FreeSWITCH clock, ms) an event or a snapshot showed this leg alive. */
  lastSeenAt?: number;
  /**
   * The leg was first seen in the middle of its life (a snapshot, a leg opened by a late event): the first
   * Caller-Transfer-Source we read is its baseline, not a transfer we saw happen.
   */
  transferBaselineUnknown?: boolean;
  /** Click-to-call: FreeSWITCH rings this employee first, then dials `number` (variable_telefonist_click_to_call). */
  clickToCall?: { number: string; origin?: CallOrigin };
}

/** Where a click-to-call was started (1C card or the panel): variables telefonist_origin_* on the originate. */
export interface CallOrigin {
  kind: 'partner' | 'contact' | 'order' | 'lenta' | 'panel';
  /** The 1C reference (GUID) of the card it was started from. */
  ref?: string;
  /** A free label, stripped to letters, digits, space . - */
  label?: string;
}

export type EavesdropMode = 'listen' | 'whisper' | 'whisper_other' | 'barge';

export interface CallState {
  id: string;
  direction: CallDirection;
  status: CallStatus;
  /** First leg: the caller, or for an originated call the leg FreeSWITCH rang first (the operator). */
  firstLeg: string;
  /** The leg whose partner changes are transfers: the external party, else the first leg. */
  anchorLeg: string;
  legs: string[];
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  externalNumber?: string;
  callerNumber?: string;
  callerName?: string;
  destinationNumber?: string;
  hangupCause?: string;
  employees: Record<string, { role: EmployeeRole; answered: boolean }>;
  hasRecording: boolean;
  /** Blind transfer announced (uuid_transfer), waiting for the new bridge. */
  pendingBlind?: { from?: string; to: string };
  /** uuid_bridge / att_xfer seen: the next partner change of the anchor is an attended transfer. */
  attendedPending?: boolean;
  originJob?: string;
  /** Click-to-call: where it was started (from the first leg's telefonist_origin_* variables). */
  origin?: CallOrigin;
  /** The external number in E.164, when it is a real phone number. */
  externalE164?: string;
  /** Who the external party is, from the customer directory. */
  identity?: CallIdentity;
  /** The raw external number the identity was looked up for. */
  identifiedNumber?: string;
  /**
   * Closed: every leg is destroyed (or the closing grace period passed), so no late event (RECORD_STOP,
   * HANGUP_COMPLETE, BACKGROUND_JOB) can change it any more. The journal's `final` flag.
   */
  closed?: boolean;
  /**
   * Part of this call happened while Telefonist was not listening (a reconnect, a restart): what the journal
   * says comes from FreeSWITCH's snapshot and is marked, not guessed.
   */
  uncertain?: boolean;
  /** Recording file paths of this call and what became of them. */
  recordings?: Record<string, 'recording' | 'stopped' | 'discarded'>;
}

export interface CallIdentity {
  kind: 'customer' | 'contact' | 'unknown';
  customerId?: string;
  customerName?: string;
  contactId?: string;
  contactName?: string;
}

export type TimelineKind =
  | 'ringing'
  | 'leg_ringing'
  | 'answered'
  | 'bridged'
  | 'unbridged'
  | 'held'
  | 'resumed'
  | 'transfer'
  | 'consultation'
  | 'eavesdrop_started'
  | 'eavesdrop_mode'
  | 'eavesdrop_stopped'
  | 'recording_started'
  | 'recording_stopped'
  | 'recording_discarded'
  | 'leg_hangup'
  | 'ended'
  | 'originate_failed'
  | 'resynced'
  /** A controller action asked for over the API (hold, resume, hangup, transfer), with who asked. */
  | 'action'
  /** A supervisor's listen / whisper / barge: requested, joined, mode changes, left (who, whom, modes). */
  | 'supervision';

export interface TimelineEntry {
  /** Deterministic identity: replaying the same event yields the same key. */
  key: string;
  callId: string;
  at: number;
  kind: TimelineKind;
  leg?: string;
  data: Record<string, unknown>;
}

export interface RecordingInfo {
  key: string;
  callId: string;
  leg: string;
  path: string;
  startedAt: number;
  stoppedAt?: number;
  seconds?: number;
  stereo: boolean;
  /**
   * FreeSWITCH threw the file away (RECORD_STOP with Record-Completion-Cause `empty-file`,
   * variable_RECORD_DISCARDED=true: an unanswered call with RECORD_ANSWER_REQ, captures 10, 11, 16):
   * the journal deletes the recording.
   */
  discarded?: boolean;
}

/** What the tracker asks the journal to persist after an event. */
export interface JournalBatch {
  calls: CallState[];
  legs: LegState[];
  timeline: TimelineEntry[];
  recordings: RecordingInfo[];
  merges: Array<{ from: string; into: string }>;
}

/**
 * A timeline entry of a call absorbed by another (a consult or supervisor leg joining): it moves to the
 * surviving call, and the absorbed call's own "ringing" becomes one more leg ringing there. The journal
 * applies the same rule in SQL to entries already stored.
 */
export function absorbTimelineEntry(t: TimelineEntry, into: string): void {
  t.callId = into;
  if (t.kind === 'ringing' && t.leg !== into) t.kind = 'leg_ringing';
}
