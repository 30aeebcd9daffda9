/**
 * Transcription end to end: a replayed call with the captured stereo recording, the real WAV, a real
 * HTTP server speaking the OpenAI transcription API, the durable queue across a restart, and the API 1C
 * reads the transcript from.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav16, parseWav, Pcm, wavHeader } from '../src/transcription/audio';
import { api, playAndSettle, Stack, startStack, waitFor } from './helpers';

type Mode = 'ok' | 'malformed' | 'unavailable' | 'hold';
type Answer = (pcm: Pcm) => Array<{ start: number; end: number; text: string }>;

/** Is there sound between `from` and `to` seconds of what the engine received? */
function soundIn(pcm: Pcm, from: number, to: number): boolean {
  const ch = pcm.channels[0];
  for (let i = Math.floor(from * pcm.sampleRate); i < Math.min(ch.length, to * pcm.sampleRate); i++) if (Math.abs(ch[i]) > 0.01) return true;
  return false;
}

/**
 * The captured call's two sides (left: tones at 0.5–1.0, 1.5–2.0, 2.5–3.0 s; right: 1.0–2.0 s), told apart
 * by the audio the engine receives, as a real engine would, not by arrival order.
 */
const capturedCall: Answer = (pcm) => soundIn(pcm, 0.55, 0.95)
  ? [{ start: 0.1, end: 0.9, text: ' Алло, слушаю.' }, { start: 2.0, end: 2.8, text: ' Да, конечно.' }]
  : [{ start: 1.0, end: 1.9, text: ' Добрый день, нужен счёт.' }];

/** A Whisper server on the LAN, as far as the OpenAI API goes. */
async function fakeWhisper() {
  const seen: Array<{ model: string; language: string | null; rate: number; channels: number; samples: number }> = [];
  let mode: Mode = 'ok';
  let release: (() => void) | null = null;
  const state: { answer: Answer } = { answer: capturedCall };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const form = await new Request('http://fake/', { method: 'POST', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) }).formData();
      const file = form.get('file') as Blob;
      const pcm = parseWav(Buffer.from(await file.arrayBuffer()));
      if (!pcm.channels[0].length) throw new Error('the engine was sent empty audio');
      seen.push({ model: String(form.get('model')), language: form.get('language') as string | null, rate: pcm.sampleRate, channels: pcm.channels.length, samples: pcm.channels[0].length });
      if (mode === 'hold') await new Promise<void>((r) => (release = r));
      if (mode === 'unavailable') {
        res.writeHead(503).end('busy');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (mode === 'malformed') {
        res.end(JSON.stringify({ segments: [{ start: 'soon', text: 42 }] }));
        return;
      }
      res.end(JSON.stringify({ text: '', segments: state.answer(pcm) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`,
    seen,
    state,
    set(m: Mode) {
      mode = m;
    },
    release() {
      release?.();
      release = null;
    },
    close: () => new Promise<void>((r) => {
      release?.();
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** An OpenAI-compatible chat endpoint (vLLM, llama.cpp server) answering with a structured summary. */
async function fakeLlm() {
  const prompts: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const messages = JSON.parse(body).messages as Array<{ content: string }>;
      prompts.push(messages[messages.length - 1].content);
      const summary = {
        summary: 'Клиент попросил счёт, сотрудник согласился.', keyPoints: ['Нужен счёт'], customerWants: 'Счёт', agreements: ['Счёт сегодня'],
        nextActions: [{ who: '1000', what: 'Выставить счёт', due: null }], sentiment: 'positive',
      };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'local', choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify(summary) }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`,
    prompts,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

describe('transcription (sqlite)', () => {
  let whisper: Awaited<ReturnType<typeof fakeWhisper>>;
  let llm: Awaited<ReturnType<typeof fakeLlm>>;
  let dir: string;
  let stack: Stack;
  const start = () =>
    startStack('sqlite', {
      env: {
        TELEFONIST_RECORDINGS_DIR: dir,
        TELEFONIST_RECORDINGS_FS_DIR: '/var/lib/freeswitch/recordings',
        TRANSCRIPTION_ENGINE: 'openai',
        TRANSCRIPTION_URL: whisper.url,
        TRANSCRIPTION_MODEL: 'large-v3',
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: llm.url,
        LLM_MODEL: 'local',
      },
      start: { transcription: { baseDelayMs: 50, scanEveryMs: 100, maxAttempts: 3 } },
    });

  beforeAll(async () => {
    whisper = await fakeWhisper();
    llm = await fakeLlm();
    dir = mkdtempSync(join(tmpdir(), 'telefonist-stt-'));
    copyFileSync(join(__dirname, '..', 'fixtures', 'freeswitch', '07_stereo.wav'), join(dir, '07_stereo.wav'));
    stack = await start();
  });
  afterAll(async () => {
    await stack?.stop();
    await whisper.close();
    await llm.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function transcriptOf(id: string, want: string) {
    await waitFor(async () => (await api(stack, `/calls/${id}/transcript`)).body.status === want, `transcript ${want}`, 15_000);
    return (await api(stack, `/calls/${id}/transcript`)).body;
  }

  test('a stereo recording: each channel sent as 16 kHz mono, merged into one dialogue with two labelled speakers', async () => {
    await playAndSettle(stack, '07_stereo_recording', { rewrite: true });
    const id = (await api(stack, '/calls?hasRecording=true')).body.items[0].id;
    const t = await transcriptOf(id, 'done');
    expect(whisper.seen).toHaveLength(2);
    expect((await api(stack, `/calls/${id}`)).body.transcription).toEqual({ status: 'done', progress: 100 });
    for (const s of whisper.seen) expect(s).toEqual({ model: 'large-v3', language: 'ru', rate: 16000, channels: 1, samples: 48000 });
    expect(t.items).toHaveLength(1);
    expect(t.items[0]).toMatchObject({ recording: 0, status: 'done', progress: 100, engine: 'openai-compatible', language: 'ru', audioSeconds: 3 });
    expect(t.items[0].segments).toEqual([
      { speaker: '1000', role: 'employee', start: 0.1, end: 0.9, text: 'Алло, слушаю.' },
      { speaker: '1001', role: 'employee', start: 1, end: 1.9, text: 'Добрый день, нужен счёт.' },
      { speaker: '1000', role: 'employee', start: 2, end: 2.8, text: 'Да, конечно.' },
    ]);
    const text = await fetch(`${stack.base}/calls/${id}/transcript?format=text`, { headers: { Authorization: 'Bearer test-admin-token-0123456789abcdef' } });
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await text.text()).toBe('[00:00] 1000: Алло, слушаю.\n[00:01] 1001: Добрый день, нужен счёт.\n[00:02] 1000: Да, конечно.\n');
    expect((await api(stack, `/calls/${id}/transcript?format=xml`)).body.error.field).toBe('format');

    // The summary follows the transcript by itself, from the dialogue text.
    await waitFor(async () => (await api(stack, `/calls/${id}/summary`)).body.status === 'done', 'summary', 15_000);
    const summary = (await api(stack, `/calls/${id}/summary`)).body;
    expect(summary).toMatchObject({ callId: id, status: 'done', model: 'local', summary: { customerWants: 'Счёт', sentiment: 'positive' } });
    expect(llm.prompts[0]).toContain('1001: Добрый день, нужен счёт.');
    expect((await api(stack, `/calls/${id}/summary`, { method: 'POST' })).status).toBe(202);
  });

  test('a malformed answer fails the job plainly; an unavailable engine is retried; a re-run on demand redoes it', async () => {
    const id = (await api(stack, '/calls?hasRecording=true')).body.items[0].id;
    whisper.set('malformed');
    expect((await api(stack, `/calls/${id}/transcript`, { method: 'POST' })).status).toBe(202);
    const failed = await transcriptOf(id, 'failed');
    expect(failed.items[0].error).toMatch(/segment 0 lacks start, end or text/);
    // format=text: a failed transcript is a final answer of its own, not "not ready" (1C would ask for days).
    const failedText = await api(stack, `/calls/${id}/transcript?format=text`);
    expect(failedText.status).toBe(409);
    expect(failedText.body).toMatchObject({ error: { code: 'transcript_failed', field: 'id' }, callId: id, status: 'failed' });
    whisper.set('unavailable');
    const before = whisper.seen.length;
    await api(stack, `/calls/${id}/transcript`, { method: 'POST' });
    await waitFor(() => whisper.seen.length >= before + 2, 'a retry after 503');
    whisper.set('ok');
    const done = await transcriptOf(id, 'done');
    expect(done.items[0].attempts).toBeGreaterThanOrEqual(2);
    expect(done.items[0].segments).toHaveLength(3);
  });

  test('a restart in the middle of the queue loses no job', async () => {
    whisper.set('hold');
    await playAndSettle(stack, '07_stereo_recording', { rewrite: true });
    const calls = (await api(stack, '/calls?hasRecording=true')).body.items;
    const id = calls[0].id;
    await waitFor(async () => (await api(stack, `/calls/${id}/transcript`)).body.status === 'running', 'job running');
    const running = await api(stack, `/calls/${id}/transcript?format=text`);
    expect(running.status).toBe(409);
    expect(running.body).toMatchObject({ error: { code: 'not_ready' }, callId: id, status: 'running' });
    await stack.restart(); // the engine call in flight is abandoned; the job goes back to the queue
    whisper.set('ok');
    whisper.release();
    const t = await transcriptOf(id, 'done');
    const segments = t.items[0].segments;
    expect(segments.map((s: any) => [s.speaker, s.start])).toEqual([['1000', 0.1], ['1001', 1], ['1000', 2]]);
    expect((await api(stack, '/calls?hasRecording=true')).body.items).toHaveLength(calls.length);
  });

  test('once 1C synced the employees, speaker labels are their names, and the summary is written from them (issue 11)', async () => {
    const synced = await api(stack, '/employees/sync', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ employees: [{ extension: '1000', name: 'Анна Смирнова' }, { extension: '1001', name: 'Иван Петров' }] }),
    });
    expect(synced.status).toBe(200);
    const id = (await api(stack, '/calls?hasRecording=true')).body.items[0].id;
    const prompts = llm.prompts.length;
    expect((await api(stack, `/calls/${id}/transcript`, { method: 'POST' })).status).toBe(202);
    await waitFor(async () => (await api(stack, `/calls/${id}/transcript`)).body.items?.[0]?.segments?.[0]?.speaker === 'Анна Смирнова', 'named speakers', 15_000);
    const t = (await api(stack, `/calls/${id}/transcript`)).body;
    expect(t.items[0].segments.map((x: any) => [x.speaker, x.role])).toEqual([['Анна Смирнова', 'employee'], ['Иван Петров', 'employee'], ['Анна Смирнова', 'employee']]);
    expect((await api(stack, `/calls/${id}`)).body.employeeDetails.map((e: any) => e.name)).toEqual(['Анна Смирнова', 'Иван Петров']);
    await waitFor(() => llm.prompts.slice(prompts).some((p) => p.includes('Иван Петров: Добрый день, нужен счёт.')), 'summary prompt with names', 15_000);
  });
});

describe('transcription not configured', () => {
  test('the status says so plainly; a re-run is refused', async () => {
    const stack = await startStack('sqlite');
    try {
      await playAndSettle(stack, '07_stereo_recording', { rewrite: true });
      const id = (await api(stack, '/calls?hasRecording=true')).body.items[0].id;
      const t = await api(stack, `/calls/${id}/transcript`);
      expect(t.body).toMatchObject({ status: 'disabled', items: [] });
      expect((await api(stack, `/calls/${id}`)).body.transcription).toEqual({ status: 'disabled', progress: 0 });
      expect(JSON.stringify(t.body)).not.toMatch(/summary|Алло/);
      const rerun = await api(stack, `/calls/${id}/transcript`, { method: 'POST' });
      expect(rerun.status).toBe(409);
      expect(rerun.body.error.code).toBe('transcription_disabled');
      const text = await api(stack, `/calls/${id}/transcript?format=text`);
      expect(text.status).toBe(409);
      expect(text.body).toMatchObject({ error: { code: 'transcription_disabled' }, status: 'disabled' });
      const summary = await api(stack, `/calls/${id}/summary`);
      expect(summary.body).toEqual({ callId: id, status: 'disabled', message: 'Резюме не настроены: нет расшифровки (TRANSCRIPTION_ENGINE=none)' });
      expect((await api(stack, `/calls/${id}/summary`, { method: 'POST' })).status).toBe(409);
    } finally {
      await stack.stop();
    }
  });
});

describe('transcription rules and mono recordings', () => {
  test('a call the rules skip says so; a re-run on demand transcribes it; a mono recording is one unlabeled speaker', async () => {
    const whisper = await fakeWhisper();
    const dir = mkdtempSync(join(tmpdir(), 'telefonist-stt-mono-'));
    // The same 3 s of audio, but mono: the left channel only.
    const stereo = parseWav(readFileSync(join(__dirname, '..', 'fixtures', 'freeswitch', '07_stereo.wav')));
    writeFileSync(join(dir, '07_stereo.wav'), encodeWav16(stereo.channels[0], stereo.sampleRate));
    const stack = await startStack('sqlite', {
      env: {
        TELEFONIST_RECORDINGS_DIR: dir,
        TELEFONIST_RECORDINGS_FS_DIR: '/var/lib/freeswitch/recordings',
        TRANSCRIPTION_ENGINE: 'openai',
        TRANSCRIPTION_URL: whisper.url,
        TRANSCRIBE_MIN_SECONDS: '10',
      },
      start: { transcription: { baseDelayMs: 50, scanEveryMs: 100 } },
    });
    try {
      await playAndSettle(stack, '07_stereo_recording', { rewrite: true });
      const id = (await api(stack, '/calls?hasRecording=true')).body.items[0].id;
      await waitFor(async () => (await api(stack, `/calls/${id}/transcript`)).body.status === 'skipped', 'skipped by the rules');
      expect((await api(stack, `/calls/${id}/transcript`)).body.items[0].error).toMatch(/shorter than TRANSCRIBE_MIN_SECONDS \(10 s\)/);
      expect(whisper.seen).toHaveLength(0);
      const skipped = await api(stack, `/calls/${id}/transcript?format=text`);
      expect(skipped.status).toBe(404);
      expect(skipped.body).toMatchObject({ error: { code: 'no_transcript', field: 'id' }, callId: id, status: 'skipped' });
      expect((await api(stack, `/calls/${id}/transcript`, { method: 'POST' })).status).toBe(202);
      await waitFor(async () => (await api(stack, `/calls/${id}/transcript`)).body.status === 'done', 'done on demand');
      const t = (await api(stack, `/calls/${id}/transcript`)).body;
      expect(whisper.seen).toHaveLength(1); // one channel
      expect(new Set(t.items[0].segments.map((s: any) => s.role))).toEqual(new Set(['unknown']));
      expect(t.items[0].segments[0].speaker).toBe('Собеседники');
    } finally {
      await stack.stop();
      await whisper.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** 16-bit stereo samples of `seconds` at 8 kHz, each channel given by a function of time (−1..1). */
function stereo(seconds: number, left: (t: number) => number, right: (t: number) => number): Buffer {
  const frames = Math.round(seconds * 8000);
  const data = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    data.writeInt16LE(Math.round(32767 * left(i / 8000)), i * 4);
    data.writeInt16LE(Math.round(32767 * right(i / 8000)), i * 4 + 2);
  }
  return data;
}

/** Voiced-sounding: a 150 Hz buzz with harmonics under a syllable envelope (3 per second). */
const voice = (t: number) => 0.3 * (0.3 + 0.7 * Math.abs(Math.sin(2 * Math.PI * 3 * t))) * (Math.sin(2 * Math.PI * 150 * t) + 0.5 * Math.sin(2 * Math.PI * 450 * t) + 0.25 * Math.sin(2 * Math.PI * 900 * t)) / 1.75;
const zeros = () => 0;
/** Line noise at about −70 dBFS (a fixed pseudo-random sequence). */
function lineNoise(): () => number {
  let x = 12345;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return ((x / 0x7fffffff) * 2 - 1) * 5.5e-4;
  };
}

describe('recordings as they are on disk: unfinalised, empty, silent', () => {
  let whisper: Awaited<ReturnType<typeof fakeWhisper>>;
  let dir: string;
  let stack: Stack;
  beforeAll(async () => {
    whisper = await fakeWhisper();
    dir = mkdtempSync(join(tmpdir(), 'telefonist-stt-disk-'));
    stack = await startStack('sqlite', {
      env: { TELEFONIST_RECORDINGS_DIR: dir, TELEFONIST_RECORDINGS_FS_DIR: '/var/lib/freeswitch/recordings', TRANSCRIPTION_ENGINE: 'openai', TRANSCRIPTION_URL: whisper.url },
      start: { transcription: { baseDelayMs: 50, scanEveryMs: 100, maxAttempts: 2 } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await whisper.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    whisper.seen.length = 0;
    whisper.state.answer = capturedCall;
  });

  /** The captured call replayed with `file` as its recording (FreeSWITCH's path), until its job ends. */
  async function transcribe(file: Buffer) {
    writeFileSync(join(dir, '07_stereo.wav'), file);
    await playAndSettle(stack, '07_stereo_recording', { rewrite: true });
    const id = (await api(stack, '/calls?hasRecording=true')).body.items[0].id;
    await waitFor(async () => ['done', 'skipped', 'failed'].includes((await api(stack, `/calls/${id}/transcript`)).body.status), 'job ended', 15_000);
    return { id, t: (await api(stack, `/calls/${id}/transcript`)).body };
  }

  test('an unfinalised WAV (RIFF size 0, data size 0) with 6 s of stereo audio behind it is transcribed as 6 s', async () => {
    const data = stereo(6, voice, (t) => voice(t + 0.1));
    const header = wavHeader(2, 8000, 0);
    header.writeUInt32LE(0, 4); // RIFF size 0: the recorder was killed before it closed the file
    const { t } = await transcribe(Buffer.concat([header, data]));
    expect(t.status).toBe('done');
    expect(t.items[0].audioSeconds).toBe(6);
    expect(whisper.seen.map((s) => s.samples)).toEqual([96000, 96000]); // 6 s per channel at 16 kHz
    expect(new Set(t.items[0].segments.map((s: any) => s.speaker))).toEqual(new Set(['1000', '1001']));
  });

  test('an empty file, a header without samples and 0.5 s of audio are skipped with a reason; the engine is never called', async () => {
    const empty = await transcribe(Buffer.alloc(0));
    expect(empty.t.items[0]).toMatchObject({ status: 'skipped', error: 'the recording file is empty (0 bytes)', segments: [] });
    const header = await transcribe(wavHeader(2, 8000, 0));
    expect(header.t.items[0]).toMatchObject({ status: 'skipped', error: 'the recording has no audio (a WAV header with no samples behind it)' });
    const half = stereo(0.5, voice, voice);
    const short = await transcribe(Buffer.concat([wavHeader(2, 8000, half.length), half]));
    expect(short.t.items[0]).toMatchObject({ status: 'skipped', audioSeconds: 0.5, error: 'the recording is 0.5 s of audio, shorter than TRANSCRIBE_MIN_SECONDS (3 s)' });
    expect((await api(stack, `/calls/${short.id}`)).body.transcription).toEqual({ status: 'skipped', progress: 0 });
    // A re-run on demand sets the length rule aside, never the emptiness.
    writeFileSync(join(dir, '07_stereo.wav'), Buffer.alloc(0));
    expect((await api(stack, `/calls/${empty.id}/transcript`, { method: 'POST' })).status).toBe(202);
    await waitFor(async () => (await api(stack, `/calls/${empty.id}/transcript`)).body.status === 'skipped', 'the re-run'); // queued until then
    expect((await api(stack, `/calls/${empty.id}/transcript`)).body.items[0]).toMatchObject({ status: 'skipped', error: 'the recording file is empty (0 bytes)' });
    expect(whisper.seen).toHaveLength(0);
  });

  test('a channel of zeros is not sent; silent stretches are cut out and what Whisper invents over them is dropped', async () => {
    // Left: speech 0–2.5 s, line noise (−70 dBFS) 2.5–8 s, speech 8–9.6 s, noise to 10 s. Right: zeros (a one-sided call).
    const noise = lineNoise();
    const left = (t: number) => (t < 2.5 || (t >= 8 && t < 9.6) ? voice(t) : noise());
    whisper.state.answer = () => [
      // Times on what the engine gets: 0–3.0 s is the recording's 0–3.0 s, 3.0–5.5 s its 7.5–10 s.
      { start: 0.2, end: 1.6, text: ' Алло, это склад.' },
      { start: 1.8, end: 2.9, text: ' Минутку.' }, // ends in silence, but there is speech under it: kept
      { start: 2.95, end: 3.45, text: ' Продолжение следует...' }, // 2.95–7.95 s: all silence
      { start: 3.6, end: 4.9, text: ' До свидания.' }, // 8.1–9.4 s
      { start: 5.4, end: 5.5, text: ' Субтитры сделал DimaTorzok' }, // 9.4–10 s: mostly silence, and a stock phrase
    ];
    const data = stereo(10, left, zeros);
    const { t } = await transcribe(Buffer.concat([wavHeader(2, 8000, data.length), data]));
    expect(t.status).toBe('done');
    expect(whisper.seen).toHaveLength(1); // the left channel only
    expect(whisper.seen[0].samples).toBe(5.5 * 16000); // 0–3.0 s and 7.5–10 s: the 4.5 s of silence between them cut out
    expect(t.items[0].audioSeconds).toBe(10);
    expect(t.items[0].segments).toEqual([
      { speaker: '1000', role: 'employee', start: 0.2, end: 2.9, text: 'Алло, это склад. Минутку.' },
      { speaker: '1000', role: 'employee', start: 8.1, end: 9.4, text: 'До свидания.' },
    ]);
  });

  test('a call silent on both sides is skipped, not sent', async () => {
    const noise = lineNoise();
    const data = stereo(8, noise, zeros);
    const { t } = await transcribe(Buffer.concat([wavHeader(2, 8000, data.length), data]));
    expect(t.items[0]).toMatchObject({ status: 'skipped', audioSeconds: 8, error: 'no speech: every channel is silent (nothing above -50 dBFS)' });
    expect(whisper.seen).toHaveLength(0);
  });
});
