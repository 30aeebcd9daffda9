/**
 * Transcription end to end: a replayed call with the captured stereo recording, the real WAV, a real
 * HTTP server speaking the OpenAI transcription API, the durable queue across a restart, and the API 1C
 * reads the transcript from.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav16, parseWav } from '../src/transcription/audio';
import { api, playAndSettle, Stack, startStack, waitFor } from './helpers';

type Mode = 'ok' | 'malformed' | 'unavailable' | 'hold';

/** A Whisper server on the LAN, as far as the OpenAI API goes. */
async function fakeWhisper() {
  const seen: Array<{ model: string; language: string | null; rate: number; channels: number; samples: number }> = [];
  let mode: Mode = 'ok';
  let release: (() => void) | null = null;
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const form = await new Request('http://fake/', { method: 'POST', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) }).formData();
      const file = form.get('file') as Blob;
      const pcm = parseWav(Buffer.from(await file.arrayBuffer()));
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
      const k = n++ % 2;
      res.end(JSON.stringify({
        text: '',
        segments: k === 0
          ? [{ start: 0.1, end: 0.9, text: ' Алло, слушаю.' }, { start: 2.0, end: 2.8, text: ' Да, конечно.' }]
          : [{ start: 1.0, end: 1.9, text: ' Добрый день, нужен счёт.' }],
      }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`,
    seen,
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
    await stack.restart(); // the engine call in flight is abandoned; the job goes back to the queue
    whisper.set('ok');
    whisper.release();
    const t = await transcriptOf(id, 'done');
    // (The fake answers by arrival order, and the abandoned request was answered late: who says what may swap.)
    const segments = t.items[0].segments;
    expect(new Set(segments.map((s: any) => s.speaker))).toEqual(new Set(['1000', '1001']));
    expect(segments.map((s: any) => s.start)).toEqual([0.1, 1, 2]);
    expect((await api(stack, '/calls?hasRecording=true')).body.items).toHaveLength(calls.length);
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
      expect((await api(stack, `/calls/${id}/transcript`)).body.items[0].error).toMatch(/rules skip/);
      expect(whisper.seen).toHaveLength(0);
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
