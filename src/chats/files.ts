import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, rename, writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** A file refused by the store: too large (413) or of a refused type (415). */
export class FileRejected extends Error {
  constructor(
    readonly status: 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

export interface StoredFile {
  /** SHA-256 of the bytes, hex: the file's id and its name on disk. */
  id: string;
  size: number;
  /** Decided from the content (magic bytes), never from the name. */
  mime: string;
}

/** A file name safe to store and show: no path, no control characters, at most 200 characters. */
export function safeFileName(name: string | undefined, mime: string): string {
  const base = (name ?? '').replace(/^.*[\\/]/, '').replace(/[\u0000-\u001f\u007f"]/g, '').trim().slice(0, 200);
  if (base) return base;
  const ext = EXT[mime] ?? 'bin';
  return `file.${ext}`;
}

const EXT: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif', 'image/webp': 'webp', 'application/pdf': 'pdf',
  'application/zip': 'zip', 'text/plain': 'txt', 'video/mp4': 'mp4', 'audio/ogg': 'ogg', 'audio/mpeg': 'mp3',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/msword': 'doc', 'application/octet-stream': 'bin',
};

const startsWith = (b: Buffer, sig: number[], at = 0) => b.length >= at + sig.length && sig.every((x, i) => b[at + i] === x);

/**
 * The type of a file from its first bytes. Executables and scripts are refused (null); anything else
 * unknown is application/octet-stream (customers send any file).
 */
export function sniffType(b: Buffer, name?: string): string | null {
  if (startsWith(b, [0x4d, 0x5a]) || startsWith(b, [0x7f, 0x45, 0x4c, 0x46]) || startsWith(b, [0x23, 0x21]) || startsWith(b, [0xcf, 0xfa, 0xed, 0xfe])) return null;
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(b, [0x47, 0x49, 0x46, 0x38])) return 'image/gif';
  if (startsWith(b, [0x52, 0x49, 0x46, 0x46]) && startsWith(b, [0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  if (startsWith(b, [0x25, 0x50, 0x44, 0x46, 0x2d])) return 'application/pdf';
  if (startsWith(b, [0x4f, 0x67, 0x67, 0x53])) return 'audio/ogg';
  if (startsWith(b, [0x49, 0x44, 0x33])) return 'audio/mpeg';
  if (startsWith(b, [0x66, 0x74, 0x79, 0x70], 4)) return 'video/mp4';
  if (startsWith(b, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return 'application/msword';
  if (startsWith(b, [0x50, 0x4b, 0x03, 0x04])) {
    // Office Open XML is a zip whose entries name its kind.
    const head = b.subarray(0, Math.min(b.length, 4096)).toString('latin1');
    if (head.includes('word/')) return 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
    if (head.includes('xl/')) return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
    if (/\.docx$/i.test(name ?? '') && head.includes('[Content_Types].xml')) return 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
    return 'application/zip';
  }
  const sample = b.subarray(0, Math.min(b.length, 8192));
  if (!sample.includes(0) && isUtf8(sample)) return 'text/plain';
  return 'application/octet-stream';
}

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b.length === 8192 ? b.subarray(0, 8188) : b);
    return true;
  } catch {
    return false;
  }
}

/** Content-addressed chat attachments under one directory: `<dir>/<first 2 hex>/<sha256>`. */
export class ChatFiles {
  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  pathOf(id: string): string {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new Error('bad file id');
    return join(this.dir, id.slice(0, 2), id);
  }

  has(id: string): boolean {
    return /^[0-9a-f]{64}$/.test(id) && existsSync(this.pathOf(id));
  }

  /** Stores bytes once per content; checks size and type. */
  async put(bytes: Buffer, name?: string): Promise<StoredFile> {
    if (bytes.length > this.maxBytes) throw new FileRejected(413, `the file is ${bytes.length} bytes; at most ${this.maxBytes} are accepted`);
    if (bytes.length === 0) throw new FileRejected(415, 'the file is empty');
    const mime = sniffType(bytes, name);
    if (!mime) throw new FileRejected(415, 'executable files and scripts are not accepted');
    const id = createHash('sha256').update(bytes).digest('hex');
    const path = this.pathOf(id);
    if (!existsSync(path)) {
      mkdirSync(join(this.dir, id.slice(0, 2)), { recursive: true });
      const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, path).catch(async (e) => {
        await unlink(tmp).catch(() => undefined);
        throw e;
      });
    }
    return { id, size: bytes.length, mime };
  }

  read(id: string): Promise<Buffer> {
    return readFile(this.pathOf(id));
  }
}
