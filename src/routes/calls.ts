import { Router } from 'express';
import { z } from 'zod';
import { TokenService } from '../auth/tokens';
import { employeeScope, mayHearRecordings } from '../auth/scope';
import { withoutRecordings } from '../recordings/recording-files';
import { Transcriber, transcriptionStatus } from '../transcription/transcriber';
import { ClickToCall, FreeSwitchRefusedError, FreeSwitchTimeoutError, FreeSwitchUnavailableError } from '../calls/click-to-call';
import { actorOf, timeoutMessage } from '../control/control';
import { ORIGIN_KINDS } from '../calls/commands';
import { InvalidCursorError, JournalReader } from '../journal/journal-reader';
import { requireRole } from './auth';
import { parseCallListQuery } from './calls-query';
import { ApiError, jsonBody, route } from './errors';
import { visibleCall } from './call-access';


const clickToCallBody = z.object({
  employee: z.string().max(32),
  number: z.string().max(200),
  origin: z.object({
    kind: z.enum(ORIGIN_KINDS),
    ref: z.string().max(64).optional(),
    label: z.string().max(200).optional(),
  }).strict().optional(),
}).strict();

export function callsRouter(
  tokens: TokenService,
  reader: JournalReader,
  clickToCall: ClickToCall,
  integrationRecordings: 'all' | 'none',
  transcriber: Transcriber | null,
): Router {
  const r = Router();
  const readers = requireRole(tokens, ['admin', 'supervisor', 'operator', 'integration']);

  r.get(
    '/calls',
    readers,
    route(async (req, res) => {
      const request = parseCallListQuery(req.query as Record<string, unknown>);
      request.filter.employee = employeeScope(req.principal!, request.filter.employee);
      try {
        res.json(await reader.listCalls(request));
      } catch (e) {
        if (e instanceof InvalidCursorError) throw new ApiError(400, 'invalid_parameter', e.message, 'cursor');
        throw e;
      }
    }),
  );

  r.post(
    '/calls',
    readers,
    route(async (req, res) => {
      const body = jsonBody(req, clickToCallBody);
      employeeScope(req.principal!, body.employee);
      try {
        res.status(202).json(await clickToCall.dial(body, actorOf(req.principal!)));
      } catch (e) {
        if (e instanceof FreeSwitchUnavailableError) throw new ApiError(503, 'freeswitch_unavailable', e.message);
        if (e instanceof FreeSwitchRefusedError) throw new ApiError(502, 'freeswitch_refused', e.message);
        if (e instanceof FreeSwitchTimeoutError) throw new ApiError(504, 'freeswitch_timeout', timeoutMessage(e.timeout));
        throw e;
      }
    }),
  );

  r.get(
    '/calls/:id',
    readers,
    route(async (req, res) => {
      const call = await visibleCall(reader, req.params.id, req.principal!);
      // Who may not hear the recordings does not learn their paths either.
      const shown = mayHearRecordings(req.principal!, call.employees as string[], integrationRecordings) ? call : withoutRecordings(call);
      const transcription = transcriber ? transcriptionStatus(await transcriber.jobs(call.id)) : { status: 'disabled', progress: 0 };
      res.json({ ...shown, transcription });
    }),
  );
  return r;
}
