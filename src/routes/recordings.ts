import { createReadStream } from 'node:fs';
import { Router } from 'express';
import { TokenService } from '../auth/tokens';
import { JournalReader } from '../journal/journal-reader';
import { parseRange, RecordingFiles } from '../recordings/recording-files';
import { requireRole, revokedError, tokenRevoked } from './auth';
import { ApiError, route } from './errors';
import { audibleCall, callIdOf } from './call-access';

/** A call's recordings as audio: whole, or by byte range (a browser's audio player seeks with Range). */
export function recordingsRouter(tokens: TokenService, reader: JournalReader, files: RecordingFiles, integration: 'all' | 'none'): Router {
  const r = Router();
  r.get(
    '/calls/:id/recordings/:n',
    requireRole(tokens, ['admin', 'supervisor', 'operator', 'integration'], { queryToken: true }),
    route(async (req, res) => {
      const { id, n } = req.params;
      callIdOf(id);
      if (!/^\d{1,4}$/.test(n)) throw new ApiError(400, 'invalid_parameter', 'n must be the recording\'s number in the call (0, 1, ...)', 'n');
      const call = await audibleCall(reader, id, req.principal!, integration);
      const rec = call.recordings[Number(n)];
      if (!rec) throw new ApiError(404, 'not_found', `call ${id} has no recording ${n}`, 'n');
      if (!files.configured) throw new ApiError(404, 'not_found', 'recordings are not served here: TELEFONIST_RECORDINGS_DIR is not set', 'n');
      const file = await files.open(rec.path);
      if (!file) throw new ApiError(404, 'not_found', 'the recording file is not in TELEFONIST_RECORDINGS_DIR', 'n');
      if (tokenRevoked(res)) throw revokedError();
      const range = parseRange(req.headers.range, file.size);
      if (range === 'unsatisfiable') {
        res.set('Content-Range', `bytes */${file.size}`);
        throw new ApiError(416, 'range_not_satisfiable', `the file has ${file.size} bytes`, 'Range');
      }
      res.set({
        'Accept-Ranges': 'bytes',
        'Content-Type': file.contentType,
        'Last-Modified': file.modified.toUTCString(),
        ETag: `"${file.size.toString(16)}-${file.modified.getTime().toString(16)}"`,
        // Call audio is personal data: no cache (browser or proxy) keeps a copy.
        'Cache-Control': 'no-store',
      });
      const { start, end } = range ?? { start: 0, end: file.size - 1 };
      if (range) res.status(206).set('Content-Range', `bytes ${start}-${end}/${file.size}`);
      res.set('Content-Length', String(Math.max(0, end - start + 1)));
      if (req.method === 'HEAD' || file.size === 0) {
        res.end();
        return;
      }
      await new Promise<void>((resolve) => {
        const stream = createReadStream(file.path, { start, end });
        stream.on('error', () => {
          res.destroy();
          resolve();
        });
        res.on('close', () => {
          stream.destroy();
          resolve();
        });
        stream.pipe(res);
      });
    }),
  );
  return r;
}
