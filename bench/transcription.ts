/**
 * Transcription bench: what our pipeline costs in front of the speech engine (read the stereo WAV, split
 * the channels, find the silence, cut it out, resample 8 → 16 kHz, encode), for a 10-minute call, as a
 * multiple of real time, and how much of a conversation's audio the engine is spared. With WHISPER_MODEL
 * set, whisper.cpp's real-time factor and our overhead over running it directly; with an
 * OpenAI-compatible server, time the engine on that server.
 */
import { performance } from 'node:perf_hooks';
import { durationSeconds, parseWav, wavHeader, whisperInput } from '../src/transcription/audio';
import { detectVoice, engineInput } from '../src/transcription/silence';

/** A stereo call at 8 kHz: `left(i)` and `right(i)` give sample i of each side (−1..1). */
function stereoWav(seconds: number, left: (i: number) => number, right: (i: number) => number, rate = 8000): Buffer {
  const frames = rate * seconds;
  const data = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    data.writeInt16LE(Math.round(32767 * left(i)), i * 4);
    data.writeInt16LE(Math.round(32767 * right(i)), i * 4 + 2);
  }
  return Buffer.concat([wavHeader(2, rate, data.length), data]);
}

/** Best of 3 of `run` (ms). */
function best(run: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return Math.min(...times);
}

export async function transcriptionBench(): Promise<void> {
  const seconds = 600;
  console.log(`\n== Transcription pipeline in front of the engine (${seconds} s stereo 8 kHz call)`);
  // Both sides sound all the time: nothing to cut, the detector's cost is one pass over the samples.
  const busy = stereoWav(seconds, (i) => 0.25 * Math.sin(i / 3), (i) => 0.18 * Math.sin(i / 7));
  const audio = durationSeconds(parseWav(busy)); // the decoded length, not the header's
  const plain = best(() => {
    const pcm = parseWav(busy);
    whisperInput(pcm, 0);
    whisperInput(pcm, 1);
  });
  const report = (what: string, ms: number) =>
    console.log(`${what}: ${ms.toFixed(0)} ms → ${((audio * 1000) / ms).toFixed(0)}× real time (${((ms / (audio * 1000)) * 100).toFixed(2)} % of the call's duration, one core)`);
  report('read + split + resample to 16 kHz + encode, both channels (no silence detection)', plain);
  report('the same with silence detection, both sides talking throughout (nothing cut)  ', best(() => {
    const pcm = parseWav(busy);
    for (const c of pcm.channels) engineInput(c, pcm.sampleRate);
  }));
  const decoded = parseWav(busy);
  const vad = best(() => {
    for (const c of decoded.channels) detectVoice(c, decoded.sampleRate);
  });
  console.log(`  silence detection alone (20 ms frames, both channels): ${vad.toFixed(0)} ms (${((vad / (audio * 1000)) * 100).toFixed(3)} % of the call's duration)`);
  // A conversation: turns of 6 s, each side silent (digital zeros / −65 dBFS line noise) while the other speaks.
  let x = 1;
  const hiss = () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return ((x / 0x7fffffff) * 2 - 1) * 1e-3;
  };
  const talk = (i: number, mine: boolean) => (mine ? 0.25 * (0.3 + 0.7 * Math.abs(Math.sin(i / 400))) * Math.sin(i / 3) : 0);
  const turns = stereoWav(seconds, (i) => talk(i, Math.floor(i / 48000) % 2 === 0), (i) => (Math.floor(i / 48000) % 2 === 1 ? talk(i, true) : hiss()));
  let sent = 0;
  report('the same with silence detection, a conversation in 6 s turns                  ', best(() => {
    const pcm = parseWav(turns);
    sent = 0;
    for (const c of pcm.channels) sent += engineInput(c, pcm.sampleRate).seconds;
  }));
  console.log(`  of that conversation's ${2 * audio} s of channel audio, ${sent.toFixed(0)} s go to the engine (${((sent / (2 * audio)) * 100).toFixed(0)} %); the rest is silence cut out`);
  const model = process.env.WHISPER_MODEL;
  if (!model) {
    console.log('WHISPER_MODEL not set: engine real-time factor not measured (scripts/download-whisper-model.sh fetches a model).');
    return;
  }
  await whisperBench(model);
}

/**
 * Real-time factor of whisper.cpp with WHISPER_MODEL on a 60 s stereo call (the captured recording
 * repeated), and our pipeline (silence detection, cut, resample, engine per channel, times back, merge)
 * against running the whisper.cpp binary directly on the same 16 kHz files our pipeline sends.
 */
async function whisperBench(model: string): Promise<void> {
  const { WhisperCppEngine, bundledWhisperBinary } = await import('../src/transcription/whisper-cpp');
  const { mergeDialogue } = await import('../src/transcription/dialogue');
  const { readFileSync, writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const threads = Number(process.env.WHISPER_THREADS ?? 2);
  const base = parseWav(readFileSync(join(__dirname, '..', 'fixtures', 'freeswitch', '07_stereo.wav')));
  const repeat = 20;
  const pcm = { sampleRate: base.sampleRate, channels: base.channels.map((c) => {
    const out = new Float32Array(c.length * repeat);
    for (let i = 0; i < repeat; i++) out.set(c, i * c.length);
    return out;
  }) };
  const seconds = pcm.channels[0].length / pcm.sampleRate;
  const dir = mkdtempSync(join(tmpdir(), 'telefonist-bench-whisper-'));
  try {
    // whisper.cpp directly on exactly what our pipeline sends (the voiced stretches at 16 kHz).
    const inputs = [0, 1].map((c) => engineInput(pcm.channels[c], pcm.sampleRate));
    const files = inputs.filter((i) => i.wav).map((input, c) => {
      const f = join(dir, `ch${c}.wav`);
      writeFileSync(f, input.wav!);
      return f;
    });
    const sentSeconds = inputs.reduce((a, i) => a + i.seconds, 0);
    let t0 = performance.now();
    for (const f of files) execFileSync(bundledWhisperBinary(), ['-m', model, '-f', f, '-l', 'ru', '-t', String(threads), '-oj', '-of', `${f}.out`], { stdio: 'ignore' });
    const direct = performance.now() - t0;
    const engine = new WhisperCppEngine({ model, threads });
    t0 = performance.now();
    const channels = [];
    for (const c of [0, 1]) {
      const input = engineInput(pcm.channels[c], pcm.sampleRate);
      if (input.wav) channels.push({ speaker: { role: 'unknown' as const, label: String(c) }, segments: input.segmentsFrom(await engine.transcribe(input.wav, { language: 'ru' })) });
    }
    mergeDialogue(channels);
    const ours = performance.now() - t0;
    console.log(`whisper.cpp with ${model} (${threads} threads), ${seconds} s stereo call = ${2 * seconds} s of audio, ${sentSeconds.toFixed(0)} s of it voiced (sent):`);
    console.log(`  whisper.cpp directly on the 16 kHz files we send: ${(direct / 1000).toFixed(2)} s → real-time factor ${(sentSeconds / (direct / 1000)).toFixed(1)}× (audio s / wall s)`);
    console.log(`  our pipeline (silence detection + cut + resample + engine + times back + merge): ${(ours / 1000).toFixed(2)} s → overhead ${(((ours - direct) / direct) * 100).toFixed(1)} % over direct`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
