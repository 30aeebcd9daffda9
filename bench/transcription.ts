/**
 * Transcription bench: what our pipeline costs in front of the speech engine (read the stereo WAV, split
 * the channels, resample 8 → 16 kHz, encode), for a 10-minute call, as a multiple of real time. The
 * engine's own real-time factor for WHISPER_MODEL needs the local whisper.cpp engine, which is not built
 * yet (see the issue notes); with an OpenAI-compatible server, time it on that server.
 */
import { performance } from 'node:perf_hooks';
import { parseWav, whisperInput } from '../src/transcription/audio';

function stereoWav(seconds: number, rate = 8000): Buffer {
  const frames = rate * seconds;
  const buf = Buffer.alloc(44 + frames * 4);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + frames * 4, 4);
  buf.write('WAVEfmt ', 8, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(2, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 4, 28);
  buf.writeUInt16LE(4, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(frames * 4, 40);
  for (let i = 0; i < frames; i++) {
    buf.writeInt16LE(Math.round(8000 * Math.sin(i / 3)), 44 + i * 4);
    buf.writeInt16LE(Math.round(6000 * Math.sin(i / 7)), 46 + i * 4);
  }
  return buf;
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
  console.log(process.env.WHISPER_MODEL
    ? 'WHISPER_MODEL is set, but the local whisper.cpp engine is not built yet: its real-time factor is not measured here.'
    : 'WHISPER_MODEL not set: engine real-time factor not measured.');
}
