import { realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export interface RecordingFile {
  path: string;
  size: number;
  modified: Date;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.flac': 'audio/flac',
  '.m4a': 'audio/mp4',
};

/**
 * Where FreeSWITCH's recordings are on this machine. FreeSWITCH reports each file by its own path
 * (`/var/lib/freeswitch/recordings/…`); `fsDir` is that directory as FreeSWITCH names it, `dir` the same
 * directory here (a mount, or the same path when Telefonist runs beside FreeSWITCH). Nothing outside `dir`
 * is ever served, whatever path an event carried: `..`, symlinks out of it and other directories are
 * refused as absent.
 */
export class RecordingFiles {
  private readonly dir: string | null;
  private readonly fsDir: string | null;

  constructor(opts: { dir?: string; fsDir?: string }) {
    this.dir = opts.dir ? resolve(opts.dir) : null;
    this.fsDir = opts.fsDir ? resolve(opts.fsDir) : this.dir;
  }

  get configured(): boolean {
    return this.dir !== null;
  }

  /** The local file for a path FreeSWITCH reported, or null when it is not (or not allowed to be) here. */
  async open(fsPath: string): Promise<RecordingFile | null> {
    if (!this.dir || !this.fsDir || !isAbsolute(fsPath) || fsPath.includes('\0')) return null;
    const rel = relative(this.fsDir, resolve(fsPath));
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) return null;
    try {
      const root = await realpath(this.dir);
      const real = await realpath(join(this.dir, rel));
      if (!real.startsWith(root + sep)) return null;
      const s = await stat(real);
      if (!s.isFile()) return null;
      return { path: real, size: s.size, modified: s.mtime, contentType: CONTENT_TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream' };
    } catch {
      return null;
    }
  }
}

/**
 * One byte range of an HTTP `Range` header against a file of `size` bytes: `{start, end}` (inclusive),
 * 'unsatisfiable' (416), or null to send the whole file (no header, another unit, several ranges).
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null;
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  let start: number;
  let end: number;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
    if (b !== '' && Number(b) < start) return null;
  }
  if (start >= size || size === 0) return 'unsatisfiable';
  return { start, end };
}

/**
 * A call detail for someone who may not hear its recordings: no recordings, and no file paths in the
 * timeline's recording entries (that they were recorded, and when, stays).
 */
export function withoutRecordings<T extends { recordings: unknown[]; timeline: Array<Record<string, unknown>>; transferRoute?: unknown }>(call: T): T {
  return {
    ...call,
    recordings: [],
    timeline: call.timeline.map((t) => {
      if (t.kind !== 'recording_started' && t.kind !== 'recording_stopped') return t;
      const { path: _path, ...rest } = t;
      return rest;
    }),
  };
}
