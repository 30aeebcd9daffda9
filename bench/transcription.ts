/**
 * Transcription bench: what our pipeline costs in front of the speech engine (read the stereo WAV, split
 * the channels, resample 8 → 16 kHz, encode), for a 10-minute call, as a multiple of real time. The
 * engine's own real-time factor for WHISPER_MODEL needs the local whisper.cpp engine, which is not built
 * yet (see the issue notes); with an OpenAI-compatible server, time it on that server.
 */
import { performance } from 'node:perf_hooks';
import { parseWav, wavHeader, whisperInput } from '../src/transcription/audio';

function stereoWav(seconds: number, rate = 8000): Buffer {
  const frames = rate * seconds;
  const data = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    data.writeInt16LE(Math.round(8000 * Math.sin(i / 3)), i * 4);
    data.writeInt16LE(Math.round(6000 * Math.sin(i / 7)), i * 4 + 2);
  }
  return Buffer.concat([wavHeader(2, rate, data.length), data]);
}

export async function transcriptionBench(): Promise<void> {
  const seconds = 600;
  console.log(`\n== Transcription pipeline in front of the engine (${seconds} s stereo 8 kHz call)`);
  const wav = stereoWav(seconds);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const pcm = parseWav(wav);
    whisperInput(pcm, 0);
    whisperInput(pcm, 1);
    times.push(performance.now() - t0);
  }
  const best = Math.min(...times);
  console.log(`read + split + resample to 16 kHz + encode, both channels: ${best.toFixed(0)} ms → ${((seconds * 1000) / best).toFixed(0)}× real time `
    + `(${((best / (seconds * 1000)) * 100).toFixed(2)} % of the call's duration, one core)`);
  const model = process.env.WHISPER_MODEL;
  if (!model) {
    console.log('WHISPER_MODEL not set: engine real-time factor not measured (scripts/download-whisper-model.sh fetches a model).');
    return;
  }
  await whisperBench(model);
}

/**
 * Real-time factor of whisper.cpp with WHISPER_MODEL on a 60 s stereo call (the captured recording
 * repeated), and our pipeline (read, split, resample, engine per channel, merge) against running the
 * whisper.cpp binary directly on the same 16 kHz channel files.
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
    const files = [0, 1].map((c) => {
      const f = join(dir, `ch${c}.wav`);
      writeFileSync(f, whisperInput(pcm, c));
      return f;
    });
    let t0 = performance.now();
    for (const f of files) execFileSync(bundledWhisperBinary(), ['-m', model, '-f', f, '-l', 'ru', '-t', String(threads), '-oj', '-of', `${f}.out`], { stdio: 'ignore' });
    const direct = performance.now() - t0;
    const engine = new WhisperCppEngine({ model, threads });
    t0 = performance.now();
    const channels = [];
    for (const c of [0, 1]) channels.push({ speaker: { role: 'unknown' as const, label: String(c) }, segments: await engine.transcribe(whisperInput(pcm, c), { language: 'ru' }) });
    mergeDialogue(channels);
    const ours = performance.now() - t0;
    console.log(`whisper.cpp with ${model} (${threads} threads), ${seconds} s stereo call = ${2 * seconds} s of audio:`);
    console.log(`  whisper.cpp directly on the two 16 kHz files: ${(direct / 1000).toFixed(2)} s → real-time factor ${((2 * seconds) / (direct / 1000)).toFixed(1)}× (audio s / wall s)`);
    console.log(`  our pipeline (resample + engine + merge):     ${(ours / 1000).toFixed(2)} s → overhead ${(((ours - direct) / direct) * 100).toFixed(1)} % over direct`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
