import { Segment } from './dialogue';

/** A speech-to-text engine: one mono 16 kHz WAV in, timed segments out. */
export interface TranscriptionEngine {
  readonly name: string;
  transcribe(wav16k: Buffer, opts: { language: string; signal?: AbortSignal }): Promise<Segment[]>;
}

export class EngineError extends Error {
  constructor(
    message: string,
    /** Worth retrying (timeouts, 5xx, connection errors) or not (4xx, malformed answers). */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * An OpenAI-compatible transcription endpoint (`POST {base}/audio/transcriptions`, multipart, `verbose_json`):
 * faster-whisper-server, whisper.cpp's server with `--inference-path`, vLLM, a GPU box on the LAN. Nothing
 * leaves the server unless the installer points `TRANSCRIPTION_URL` elsewhere.
 */
export class OpenAiCompatibleEngine implements TranscriptionEngine {
  readonly name = 'openai-compatible';

  constructor(private readonly opts: { baseUrl: string; model: string; apiKey?: string; timeoutMs?: number }) {}

  async transcribe(wav16k: Buffer, opts: { language: string; signal?: AbortSignal }): Promise<Segment[]> {
    refuseEmpty(wav16k);
    const form = new FormData();
    form.append('file', new Blob([wav16k], { type: 'audio/wav' }), 'audio.wav');
    form.append('model', this.opts.model);
    form.append('response_format', 'verbose_json');
    if (opts.language !== 'auto') form.append('language', opts.language);
    const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 600_000);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await fetch(`${this.opts.baseUrl.replace(/\/+$/, '')}/audio/transcriptions`, {
        method: 'POST',
        body: form,
        headers: this.opts.apiKey ? { Authorization: `Bearer ${this.opts.apiKey}` } : {},
        signal,
      });
    } catch (e) {
      throw new EngineError(`transcription endpoint unreachable: ${(e as Error).message}`, true);
    }
    const text = await res.text();
    if (!res.ok) throw new EngineError(`transcription endpoint answered ${res.status}: ${text.slice(0, 200)}`, res.status >= 500 || res.status === 429);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new EngineError('transcription endpoint answered something that is not JSON', false);
    }
    return segmentsOf(body);
  }
}

/** Empty audio is never sent to an engine (the queue skips silent and empty recordings before). */
export function refuseEmpty(wav16k: Buffer): void {
  if (wav16k.length <= 44) throw new EngineError('empty audio is not sent to the engine', false);
}

/** `verbose_json`: `{segments: [{start, end, text}]}`; plain `{text}` becomes one segment without times. */
export function segmentsOf(body: unknown): Segment[] {
  const b = body as { segments?: unknown; text?: unknown; duration?: unknown };
  if (Array.isArray(b?.segments)) {
    return b.segments.map((s: { start?: unknown; end?: unknown; text?: unknown }, i: number) => {
      if (typeof s?.start !== 'number' || typeof s?.end !== 'number' || typeof s?.text !== 'string') {
        throw new EngineError(`segment ${i} lacks start, end or text`, false);
      }
      return { start: s.start, end: s.end, text: s.text };
    });
  }
  if (typeof b?.text === 'string') return [{ start: 0, end: typeof b.duration === 'number' ? b.duration : 0, text: b.text }];
  throw new EngineError('the answer has neither segments nor text', false);
}
