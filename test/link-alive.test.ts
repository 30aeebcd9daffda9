/**
 * "The link known alive until" in the call tracker alone (issue 9, item 6), on capture 09's bytes: which
 * frames move it (events, HEARTBEATs, answered probes mapped to FreeSWITCH's clock), which do not (anything
 * between a drop or a restart and the next resync), and that a vanished call ends there, never later than
 * FreeSWITCH's own clock allowed.
 */
import { header } from '../src/esl/event';
import { FixtureEvent, loadFixtureEvents } from '../src/esl/fixtures';
import { heartbeatEvent } from '../src/esl/sim-heartbeat';
import { FsClock } from '../src/calls/fs-clock';
import { CallTracker } from '../src/calls/tracker';
import { JournalBatch } from '../src/calls/types';

const A = '0d9a032a-f54b-494d-870b-f513566b0ed8';
const B = '8008fec4-35f7-4fa8-b987-12cb9c1a729c';
const e09 = loadFixtureEvents('09_did_inbound_answered');
const bridged = e09.findIndex((e) => e.event.name === 'CHANNEL_BRIDGE') + 1;
const tsOf = (fe: FixtureEvent) => Math.floor(Number(header(fe.event, 'Event-Date-Timestamp')) / 1000);
const bridgeAt = tsOf(e09[bridged - 1]);
const cdrEnd = Math.floor(Number(header(e09.find((e) => e.event.name === 'CHANNEL_HANGUP_COMPLETE' && header(e.event, 'Unique-ID') === A)!.event, 'variable_end_uepoch')) / 1000);

/** FreeSWITCH's clock runs 90 s ahead of ours; every frame takes 3 ms to arrive. */
const AHEAD = 90_000;
const DELAY = 3;

function setup() {
  let local = 0;
  const tracker = new CallTracker(undefined, new FsClock(() => local));
  const at = (fsMs: number) => (local = fsMs - AHEAD + DELAY);
  const play = (events: FixtureEvent[]) => {
    for (const fe of events) {
      at(tsOf(fe));
      tracker.apply(fe.event);
    }
  };
  return { tracker, play, at, setLocal: (ms: number) => (local = ms) };
}

function endOf(batch: JournalBatch): number | undefined {
  return batch.calls.find((c) => c.id === A)?.endedAt;
}

test('an answered probe is mapped to FreeSWITCH\'s clock, never later than it; a vanished call ends there', () => {
  const { tracker, play, setLocal } = setup();
  play(e09.slice(0, bridged));
  expect(tracker.aliveMark).toBe(bridgeAt);
  // A probe sent 4 s after the bridge (our clock) is answered: mapped with the least-delayed offset.
  const sentLocal = bridgeAt - AHEAD + 4_000;
  tracker.observeProbe(sentLocal);
  const mark = tracker.aliveMark!;
  expect(mark).toBe(bridgeAt + 4_000 - DELAY);
  expect(mark).toBeLessThanOrEqual(sentLocal + AHEAD); // FreeSWITCH's true time when we sent it
  tracker.linkDown();
  setLocal(cdrEnd - AHEAD + 60_000); // reconnected a minute after the call ended
  const end = endOf(tracker.resync({ channels: [], bridged: [] }));
  expect(end).toBe(mark);
  expect(end).toBeLessThanOrEqual(cdrEnd);
});

test('HEARTBEATs move the mark while in sync; after a drop nothing moves it until a resync completes', () => {
  const { tracker, play, at } = setup();
  play(e09.slice(0, bridged));
  at(bridgeAt + 2_000);
  tracker.observeHeartbeat(bridgeAt + 2_000);
  expect(tracker.aliveMark).toBe(bridgeAt + 2_000);
  tracker.linkDown();
  expect(tracker.aliveMark).toBeUndefined(); // nothing to persist while out of sync
  // On the new link, before the snapshot: a heartbeat and an event of another call, long after the call ended.
  at(cdrEnd + 20_000);
  tracker.observeHeartbeat(cdrEnd + 20_000);
  tracker.apply(heartbeatEvent(cdrEnd + 20_001));
  expect(tracker.aliveMark).toBeUndefined();
  const end = endOf(tracker.resync({ channels: [], bridged: [] }));
  expect(end).toBe(bridgeAt + 2_000); // the last heartbeat before the drop
  // In sync again: the next heartbeat moves the mark.
  tracker.observeHeartbeat(cdrEnd + 40_000);
  expect(tracker.aliveMark).toBe(cdrEnd + 40_000);
});

test('after a restart, the persisted mark bounds the vanished call\'s end; frames before the resync do not', () => {
  const first = setup();
  first.play(e09.slice(0, bridged));
  first.tracker.observeHeartbeat(bridgeAt + 3_000);
  const persisted = first.tracker.aliveMark!;
  const legs = [A, B].map((u) => first.tracker.liveLeg(u)!);
  const calls = [first.tracker.liveCall(A)!];
  const { tracker, at } = setup();
  tracker.restore(structuredClone(calls), structuredClone(legs), persisted);
  expect(tracker.aliveMark).toBeUndefined();
  at(cdrEnd + 30_000);
  tracker.observeHeartbeat(cdrEnd + 30_000); // the restarted server's first heartbeat, before its resync
  const end = endOf(tracker.resync({ channels: [], bridged: [] }));
  expect(end).toBe(bridgeAt + 3_000);
  expect(end).toBeLessThanOrEqual(cdrEnd);
});
