/**
 * The voice-activity detector in front of Whisper, on synthetic frames: levels, the noise-floor-relative
 * threshold, the stretches it keeps and cuts, the map of cut times back to the recording, and the
 * segments it drops afterwards.
 */
import { loadConfig } from '../src/config';
import { cutToRegions, detectVoice, dropSilentSegments, frameEnergiesDb, isStockPhrase, TimeMap, voicedFraction } from '../src/transcription/silence';

const RATE = 8000;

/** A signal of `seconds`, each sample given by a function of time. */
function signal(seconds: number, f: (t: number) => number): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * RATE) }, (_, i) => f(i / RATE));
}
const dbToAmp = (db: number) => 10 ** (db / 20);
/** A sine with the given RMS level (dBFS). */
const tone = (db: number, hz = 440) => (t: number) => Math.SQRT2 * dbToAmp(db) * Math.sin(2 * Math.PI * hz * t);
/** Uniform noise with the given RMS level (dBFS), a fixed pseudo-random sequence. */
function noise(db: number): (t: number) => number {
  let x = 987654321;
  const a = Math.sqrt(3) * dbToAmp(db);
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return ((x / 0x7fffffff) * 2 - 1) * a;
  };
}
/** Speech-like: talk at −20 dBFS during the given stretches, `between` elsewhere. */
function talk(stretches: Array<[number, number]>, between: (t: number) => number) {
  const voice = tone(-20, 180);
  return (t: number) => (stretches.some(([a, b]) => t >= a && t < b) ? voice(t) : between(t));
}
const secs = (regions: Array<{ start: number; end: number }>) => regions.map((r) => [r.start / RATE, r.end / RATE]);

describe('voice activity (energy per 20 ms frame, threshold relative to the noise floor)', () => {
  test('frame levels in dBFS: zeros at the floor, a full-scale square at 0, a sine 3 dB under its peak', () => {
    const e = frameEnergiesDb(Float32Array.from([0, 0, 0, 0, 1, -1, 1, -1, 0.5, 0.5, -0.5, -0.5]), 4);
    expect(Array.from(e).map((v) => Math.round(v * 10) / 10)).toEqual([-120, 0, -6]);
    const sine = frameEnergiesDb(signal(0.02, (t) => 0.5 * Math.sin(2 * Math.PI * 1000 * t)), 160);
    expect(sine[0]).toBeCloseTo(-9.03, 1);
  });

  test('a channel of zeros, or of line noise, is silent: nothing to send', () => {
    for (const f of [() => 0, noise(-70), noise(-55)]) {
      const va = detectVoice(signal(10, f), RATE);
      expect(va.regions).toEqual([]);
      expect(va.voicedSeconds).toBe(0);
    }
  });

  test('the threshold follows the noise floor: talk over −40 dBFS line noise is found, the noise is not', () => {
    const va = detectVoice(signal(10, talk([[1, 2], [6, 7]], noise(-40))), RATE);
    expect(va.noiseFloorDb).toBeCloseTo(-45, 0); // the floor (−40) capped at −45
    expect(va.thresholdDb).toBeCloseTo(-35, 0);
    expect(voicedFraction(va, 1.1, 1.9)).toBe(1);
    expect(voicedFraction(va, 3, 5)).toBe(0);
    expect(secs(va.regions)).toEqual([[0, 2.5], [5.5, 7.5]]); // 1 s of silence at the start is not worth cutting
  });

  test('over digital silence the absolute level decides (TRANSCRIBE_SILENCE_DB); a loud steady signal is not taken for noise', () => {
    const quiet = signal(8, (t) => (t >= 3 && t < 5 ? tone(-55, 180)(t) : 0)); // a whisper at −55 dBFS
    expect(detectVoice(quiet, RATE).regions).toEqual([]); // default −50 dBFS
    expect(secs(detectVoice(quiet, RATE, { silenceDb: -60 }).regions)).toEqual([[2.5, 5.5]]);
    expect(detectVoice(signal(4, tone(-55)), RATE, { silenceDb: -60 }).regions).toEqual([]); // steady and quiet: that is the line's noise
    const steady = detectVoice(signal(4, tone(-20)), RATE); // a tone from start to end: its own floor, capped
    expect(secs(steady.regions)).toEqual([[0, 4]]);
  });

  test('pauses under 2 s stay; longer silences are cut with 0.5 s kept on each side; a click is not speech', () => {
    const f = talk([[0, 1], [1.5, 2.5], [6, 7]], () => 0);
    const va = detectVoice(signal(12, f), RATE);
    expect(secs(va.regions)).toEqual([[0, 3], [5.5, 7.5]]);
    const click = signal(10, (t) => (t >= 4 && t < 4.02 ? 0.8 : 0));
    expect(detectVoice(click, RATE).regions).toEqual([]);
    // Silence at the ends shorter than a long gap stays, like a pause inside the call.
    expect(secs(detectVoice(signal(5, talk([[1.5, 3.5]], () => 0)), RATE).regions)).toEqual([[0, 5]]);
  });

  test('a cut signal and its map: the engine\'s times go back to the recording\'s timeline', () => {
    const samples = signal(12, talk([[1, 2], [8, 9]], () => 0));
    const va = detectVoice(samples, RATE);
    expect(secs(va.regions)).toEqual([[0, 2.5], [7.5, 9.5]]);
    const cut = cutToRegions(samples, RATE, va.regions);
    expect(cut.samples.length).toBe(4.5 * RATE);
    expect(cut.samples[Math.round(2.5 * RATE) + 4000]).toBe(samples[Math.round(8 * RATE)]); // 3.0 s in the cut is 8.0 s
    expect(cut.map.toSource(1.2, 'start')).toBeCloseTo(1.2, 6);
    expect(cut.map.toSource(2.5, 'start')).toBeCloseTo(7.5, 6); // a junction starts the next piece…
    expect(cut.map.toSource(2.5, 'end')).toBeCloseTo(2.5, 6); // …and ends the previous one
    expect(cut.map.toSource(3.0, 'end')).toBeCloseTo(8.0, 6);
    expect(cut.map.toSource(4.7, 'end')).toBeCloseTo(9.7, 6); // past the end (engines round up): on the last piece's timeline
    expect(new TimeMap([]).toSource(3, 'start')).toBe(3);
  });

  test('segments over silence are dropped; a stock phrase only over near-silence; real speech never by its text', () => {
    const va = detectVoice(signal(10, talk([[1, 3], [7, 8]], noise(-65))), RATE);
    const { kept, dropped } = dropSilentSegments([
      { start: 1.2, end: 2.8, text: 'Добрый день, нужен счёт.' },
      { start: 4.0, end: 5.5, text: 'Алло?' }, // no voice under it at all
      { start: 7.6, end: 9.6, text: 'Продолжение следует...' }, // 0.4 of 2.0 s voiced: near-silent
      { start: 2.7, end: 3.7, text: 'Да.' }, // 0.3 of 1.0 s voiced, ordinary words: kept
      { start: 7.0, end: 8.0, text: 'Спасибо за внимание!' }, // said for real, over speech: kept
    ], va);
    expect(kept.map((s) => s.text)).toEqual(['Добрый день, нужен счёт.', 'Да.', 'Спасибо за внимание!']);
    expect(dropped.map((s) => s.text)).toEqual(['Алло?', 'Продолжение следует...']);
  });

  test('Whisper\'s stock phrases, whole segments only', () => {
    for (const t of ['Субтитры сделал DimaTorzok', 'Продолжение следует...', ' Спасибо за внимание.', 'Редактор субтитров А.Семкин Корректор А.Егорова',
      'Субтитры создавал DimaTorzok', 'Подписывайтесь на канал!', 'Thank you for watching!', 'ПРОДОЛЖЕНИЕ СЛЕДУЕТ']) {
      expect({ t, stock: isStockPhrase(t) }).toEqual({ t, stock: true });
    }
    for (const t of ['Спасибо.', 'Продолжение следует после оплаты счёта', 'Нужны субтитры к видео? Нет, счёт.', '', 'До свидания.']) {
      expect({ t, stock: isStockPhrase(t) }).toEqual({ t, stock: false });
    }
  });
});

describe('TRANSCRIBE_SILENCE_DB', () => {
  test('−50 dBFS unless set; checked like every setting', () => {
    expect(loadConfig({}, { dotenv: false }).TRANSCRIBE_SILENCE_DB).toBe(-50);
    expect(loadConfig({ TRANSCRIBE_SILENCE_DB: '-60' }, { dotenv: false }).TRANSCRIBE_SILENCE_DB).toBe(-60);
    for (const bad of ['-5', '-120', 'quiet']) {
      expect(() => loadConfig({ TRANSCRIBE_SILENCE_DB: bad }, { dotenv: false })).toThrow(/TRANSCRIBE_SILENCE_DB: /);
    }
  });
});
