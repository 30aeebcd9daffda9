/**
 * Silence before and after Whisper. Whisper answers silence with stock phrases from its training
 * subtitles ("Субтитры сделал …", "Продолжение следует…"), and a stereo call is mostly silence on each
 * side: one party listens while the other speaks, a parked or one-sided call has a channel of zeros. So
 * each channel goes through an energy voice-activity detector first: an all-silent channel is not sent at
 * all, long silent stretches are cut out (the engine gets the voiced stretches with a little padding, and
 * the segment times are shifted back to the recording's timeline), and afterwards a segment with no voice
 * under it is dropped — as is a stock phrase over near-silence (never real speech by its text alone).
 *
 * The detector: RMS energy per 20 ms frame in dBFS (a full-scale square wave is 0 dBFS, a full-scale sine
 * −3 dBFS); a frame is voiced when it is above both the absolute silence level (`silenceDb`, default
 * −50 dBFS) and the channel's noise floor plus `marginDb` (10 dB). The noise floor is the channel's 10th
 * percentile frame energy, capped at −45 dBFS so that a channel that is loud all the time (a tone, a
 * talker without pauses) is not taken for noise.
 */
import { encodeWav16, resample } from './audio';
import { Segment } from './dialogue';

export interface VadOptions {
  /** Frame length (ms); 20 ms is one telephone packet. */
  frameMs?: number;
  /** Frames at or below this RMS level (dBFS) are silence whatever the channel's noise. */
  silenceDb?: number;
  /** A frame must be this many dB above the channel's noise floor to count as voice. */
  marginDb?: number;
  /** The noise floor is never taken above this level (dBFS). */
  floorCapDb?: number;
  /** Silent stretches at least this long (s) are cut out; shorter pauses stay with the speech around them. */
  minGapSeconds?: number;
  /** Silence kept on each side of a voiced stretch (s), so Whisper hears words start and end. */
  padSeconds?: number;
  /** A stretch with less voice than this (s) is a click, not speech. */
  minVoicedSeconds?: number;
}

export const VAD_DEFAULTS: Required<VadOptions> = {
  frameMs: 20,
  silenceDb: -50,
  marginDb: 10,
  floorCapDb: -45,
  minGapSeconds: 2,
  padSeconds: 0.5,
  minVoicedSeconds: 0.1,
};

/** The lowest level a frame is given (digital silence), dBFS. */
const FLOOR_DB = -120;

export interface VoiceActivity {
  sampleRate: number;
  frameSamples: number;
  /** RMS level per frame, dBFS. */
  energyDb: Float32Array;
  /** 1 where the frame is above the threshold. */
  voiced: Uint8Array;
  noiseFloorDb: number;
  thresholdDb: number;
  /** Stretches to transcribe, in samples [start, end), padded, sorted, not overlapping; empty: the channel is silent. */
  regions: Array<{ start: number; end: number }>;
  /** Seconds of voiced frames in the regions. */
  voicedSeconds: number;
}

/** RMS level of each `frameSamples`-long frame (the last, shorter one included), dBFS. */
export function frameEnergiesDb(samples: Float32Array, frameSamples: number): Float32Array {
  const n = Math.ceil(samples.length / frameSamples);
  const out = new Float32Array(n);
  for (let f = 0; f < n; f++) {
    const from = f * frameSamples;
    const to = Math.min(samples.length, from + frameSamples);
    let sum = 0;
    for (let i = from; i < to; i++) sum += samples[i] * samples[i];
    const ms = sum / (to - from);
    out[f] = ms > 0 ? Math.max(FLOOR_DB, 10 * Math.log10(ms)) : FLOOR_DB;
  }
  return out;
}

/** Voice activity of one channel. */
export function detectVoice(samples: Float32Array, sampleRate: number, options: VadOptions = {}): VoiceActivity {
  const o = { ...VAD_DEFAULTS, ...options };
  const frameSamples = Math.max(1, Math.round((sampleRate * o.frameMs) / 1000));
  const energyDb = frameEnergiesDb(samples, frameSamples);
  const n = energyDb.length;
  const sorted = Float32Array.from(energyDb).sort();
  const noiseFloorDb = n ? Math.min(o.floorCapDb, sorted[Math.floor(n * 0.1)]) : FLOOR_DB;
  const thresholdDb = Math.max(o.silenceDb, noiseFloorDb + o.marginDb);
  const voiced = new Uint8Array(n);
  for (let f = 0; f < n; f++) voiced[f] = energyDb[f] > thresholdDb ? 1 : 0;

  // Runs of voiced frames; pauses shorter than minGap join them.
  const frameSec = frameSamples / sampleRate;
  const gapFrames = Math.max(1, Math.round(o.minGapSeconds / frameSec));
  const runs: Array<{ from: number; to: number; voiced: number }> = [];
  for (let f = 0; f < n; f++) {
    if (!voiced[f]) continue;
    const last = runs[runs.length - 1];
    if (last && f - last.to < gapFrames) {
      last.to = f + 1;
      last.voiced++;
    } else runs.push({ from: f, to: f + 1, voiced: 1 });
  }
  const minVoiced = Math.max(1, Math.round(o.minVoicedSeconds / frameSec));
  const kept = runs.filter((r) => r.voiced >= minVoiced);
  const regions: Array<{ start: number; end: number }> = [];
  const pad = Math.round(o.padSeconds * sampleRate);
  const edge = Math.round(o.minGapSeconds * sampleRate);
  kept.forEach((r, i) => {
    let start = Math.max(0, r.from * frameSamples - pad);
    let end = Math.min(samples.length, r.to * frameSamples + pad);
    // Silence at the ends shorter than a long gap stays, like a pause inside the call.
    if (i === 0 && r.from * frameSamples < edge) start = 0;
    if (i === kept.length - 1 && samples.length - r.to * frameSamples < edge) end = samples.length;
    const last = regions[regions.length - 1];
    if (last && start <= last.end) last.end = Math.max(last.end, end);
    else regions.push({ start, end });
  });
  const voicedSeconds = kept.reduce((a, r) => a + r.voiced, 0) * frameSec;
  return { sampleRate, frameSamples, energyDb, voiced, noiseFloorDb, thresholdDb, regions, voicedSeconds };
}

/** Where each piece of a cut signal came from, to put the engine's times back on the recording's timeline. */
export class TimeMap {
  /** Pieces in seconds: `length` seconds at `dst` in the cut signal are `src` in the original. */
  constructor(readonly pieces: Array<{ src: number; dst: number; length: number }>) {}

  /** `edge`: a time on a junction belongs to the piece it starts (a start) or to the one it ends (an end). */
  toSource(t: number, edge: 'start' | 'end'): number {
    const p = this.pieces;
    if (!p.length) return t;
    for (let i = 0; i < p.length; i++) {
      const { src, dst, length } = p[i];
      const inside = edge === 'start' ? t < dst + length : t <= dst + length;
      if (inside) return src + Math.max(0, t - dst);
    }
    const last = p[p.length - 1];
    return last.src + last.length + (t - last.dst - last.length); // past the end: keep going on the last piece's timeline
  }
}

/** The regions of a channel joined into one signal, with the map back to the original times. */
export function cutToRegions(samples: Float32Array, sampleRate: number, regions: Array<{ start: number; end: number }>): { samples: Float32Array; map: TimeMap } {
  const total = regions.reduce((a, r) => a + (r.end - r.start), 0);
  const out = new Float32Array(total);
  const pieces: Array<{ src: number; dst: number; length: number }> = [];
  let at = 0;
  for (const r of regions) {
    out.set(samples.subarray(r.start, r.end), at);
    pieces.push({ src: r.start / sampleRate, dst: at / sampleRate, length: (r.end - r.start) / sampleRate });
    at += r.end - r.start;
  }
  return { samples: out, map: new TimeMap(pieces) };
}

/** Share of the frames under [start, end] (seconds) that are voiced; a zero-length range looks at its frame. */
export function voicedFraction(va: VoiceActivity, start: number, end: number): number {
  const n = va.voiced.length;
  if (!n) return 0;
  const frameSec = va.frameSamples / va.sampleRate;
  const eps = 1e-6;
  const from = Math.min(n - 1, Math.max(0, Math.floor(start / frameSec + eps)));
  const to = Math.min(n, Math.max(from + 1, Math.ceil(end / frameSec - eps)));
  let v = 0;
  for (let f = from; f < to; f++) v += va.voiced[f];
  return v / (to - from);
}

/**
 * Whisper's stock answers to silence, learnt from subtitle credits and video outros (whole segments,
 * normalised: lower case, ё → е, no punctuation). Used only together with near-silence under the segment.
 */
const STOCK_PHRASES: RegExp[] = [
  /^продолжение следует$/,
  /^(редактор )?субтитр(ы|ов)( .*)?$/, // "Субтитры сделал DimaTorzok", "Редактор субтитров А.Семкин Корректор А.Егорова"
  /^корректор [а-я]{1,2} [а-я]+$/,
  /^спасибо за (внимание|просмотр)$/,
  /^(подписывайтесь|подпишись|подписывайся) на (наш |мой )?канал.*$/,
  /^ставьте лайки?.*$/,
  /^до новых встреч$/,
  /^dimatorzok$/,
  /^thanks? (you )?(so much )?for watching$/,
  /^subtitles by .*$/,
  /^(please )?(like and )?subscribe.*$/,
];

export function normalisePhrase(text: string): string {
  return text.toLowerCase().replace(/ё/g, 'е').replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

export function isStockPhrase(text: string): boolean {
  const t = normalisePhrase(text);
  return t.length > 0 && STOCK_PHRASES.some((re) => re.test(t));
}

/** Less than this share of voiced frames under a stock phrase: it is Whisper's, not the caller's. */
export const STOCK_PHRASE_MAX_VOICED = 0.5;

/**
 * The segments that have voice under them (times on the recording's timeline): a segment with no voiced
 * frame under it is dropped, and so is a stock phrase with less than half of its frames voiced.
 */
export function dropSilentSegments(segments: Segment[], va: VoiceActivity): { kept: Segment[]; dropped: Segment[] } {
  const kept: Segment[] = [];
  const dropped: Segment[] = [];
  for (const s of segments) {
    const f = voicedFraction(va, s.start, s.end);
    if (f === 0 || (f < STOCK_PHRASE_MAX_VOICED && isStockPhrase(s.text))) dropped.push(s);
    else kept.push(s);
  }
  return { kept, dropped };
}

/** What the engine gets for one channel, and how its answer comes back to the recording. */
export interface EngineInput {
  /** 16 kHz 16-bit mono WAV of the voiced stretches (the whole channel when nothing is worth cutting); null: the channel is silent throughout, nothing is sent. */
  wav: Buffer | null;
  /** Seconds of the channel's audio in `wav`. */
  seconds: number;
  va: VoiceActivity;
  /** The engine's segments on the recording's timeline, those with no voice under them dropped. */
  segmentsFrom(raw: Segment[]): Segment[];
}

/** A channel as the engine's input, silence left out. */
export function engineInput(samples: Float32Array, sampleRate: number, options: VadOptions = {}): EngineInput {
  const va = detectVoice(samples, sampleRate, options);
  if (!va.regions.length) return { wav: null, seconds: 0, va, segmentsFrom: () => [] };
  const whole = va.regions.length === 1 && va.regions[0].start === 0 && va.regions[0].end === samples.length;
  const cut = whole ? null : cutToRegions(samples, sampleRate, va.regions);
  const sent = cut ? cut.samples : samples;
  return {
    wav: encodeWav16(resample(sent, sampleRate, 16000), 16000),
    seconds: sent.length / sampleRate,
    va,
    segmentsFrom(raw) {
      const length = samples.length / sampleRate; // engines may round times past the end
      const onTimeline = raw.map((s) => {
        const start = cut ? cut.map.toSource(s.start, 'start') : s.start;
        const end = cut ? cut.map.toSource(s.end, 'end') : s.end;
        return { start: Math.min(start, length), end: Math.min(Math.max(start, end), length), text: s.text };
      });
      return dropSilentSegments(onTimeline, va).kept;
    },
  };
}
