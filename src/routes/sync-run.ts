import { RequestHandler, Router } from 'express';
import { z } from 'zod';
import { REF_RE } from '../directory/customer-input';
import { jsonBody, route } from './errors';

/**
 * A full bulk sync from 1C (employees, customers): every batch names the same run, then
 * `POST …/sync/finish` with that run deletes what the run did not send.
 */
export const syncRunSchema = z.string().regex(REF_RE, 'must be letters, digits, - _ . :, up to 64 characters');

/** `POST <path>` {"run"} → what `finish` answers (the deleted count). */
export function syncFinishRoute(r: Router, path: string, guard: RequestHandler, finish: (run: string) => Promise<unknown>): void {
  r.post(
    path,
    guard,
    route(async (req, res) => {
      const body = jsonBody(req, z.object({ run: syncRunSchema }).strict());
      res.json(await finish(body.run));
    }),
  );
}
