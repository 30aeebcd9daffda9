/**
 * The chaos stand-in for FreeSWITCH (issue 9, `npm run bench -- chaos`): the entry that bench/chaos.ts and
 * the tests import. The switch itself lives in src/esl/chaos/ (switch.ts: schedule, delivery, cuts'
 * bookkeeping; templates.ts and call.ts: the calls and their CDR truth; channels.ts: the live channel
 * table; cuts.ts: the cut plans; session.ts: one connection's ESL protocol, on src/esl/sim-protocol.ts).
 */

export { CallInstance, CallTruth } from './chaos/call';
export { ChaosOptions, CUT_KINDS, CutKind, GlitchKind } from './chaos/cuts';
export { ChaosSwitch, ChaosSwitchOptions } from './chaos/switch';
export {
  answeredUs, CallTemplate, CHAOS_TEMPLATES, ExpectedStatus, expectedStatus, LegCdr, loadTemplates, TemplateSpec,
} from './chaos/templates';
export { localDate, prng } from './chaos/util';
