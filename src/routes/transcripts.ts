import { Response, Router } from 'express';
import { Principal, TokenService } from '../auth/tokens';
import { JournalReader } from '../journal/journal-reader';
import { Transcriber, transcriptionStatus } from '../transcription/transcriber';
import { CallSummaries } from '../ai/call-summaries';
import { dialogueText } from '../transcription/dialogue';
import { requireRole } from './auth';
import { ApiError, route } from './errors';
import { audibleCall } from './call-access';
import { rejectUnknown, single } from './query';

/** A call's transcripts for 1C (JSON segments or plain text) and re-runs on demand. */
export function transcriptsRouter(
  tokens: TokenService,
  reader: JournalReader,
  transcriber: Transcriber | null,
  summaries: CallSummaries | null,
  integration: 'all' | 'none',
): Router {
  const r = Router();
  const who = requireRole(tokens, ['admin', 'supervisor', 'operator', 'integration']);
  const callFor = (id: string, who: Principal) => audibleCall(reader, id, who, integration);

  r.get('/calls/:id/transcript', who, route(async (req, res) => {
    const query = req.query as Record<string, unknown>;
    rejectUnknown(query, new Set(['format']));
    const format = single(query, 'format') ?? 'json';
    if (format !== 'json' && format !== 'text') throw new ApiError(400, 'invalid_parameter', 'format must be json or text', 'format');
    const call = await callFor(req.params.id, req.principal!);
    if (!transcriber) {
      if (format === 'text') return textRefused(res, call.id, 'disabled');
      res.json({ callId: call.id, status: 'disabled', message: 'Расшифровка не настроена (TRANSCRIPTION_ENGINE=none)', items: [] });
      return;
    }
    const items = await transcriber.jobs(call.id);
    const { status } = transcriptionStatus(items);
    if (format === 'text') {
      if (status !== 'done') return textRefused(res, call.id, status);
      res.type('text/plain; charset=utf-8').send(`${dialogueText(items.filter((i) => i.status === 'done').flatMap((i) => i.segments))}\n`);
      return;
    }
    res.json({ callId: call.id, status, items });
  }));

  r.post('/calls/:id/transcript', who, route(async (req, res) => {
    const call = await callFor(req.params.id, req.principal!);
    if (!transcriber) throw new ApiError(409, 'transcription_disabled', 'transcription is not configured (TRANSCRIPTION_ENGINE=none)', 'id');
    const n = await transcriber.rerun(call.id);
    if (!n) throw new ApiError(409, 'no_recording', 'the call has no finished recording', 'id');
    res.status(202).json({ callId: call.id, status: 'queued', recordings: n });
  }));
  r.get('/calls/:id/summary', who, route(async (req, res) => {
    const call = await callFor(req.params.id, req.principal!);
    if (!summaries) {
      res.json({ callId: call.id, status: 'disabled', message: disabledText(transcriber) });
      return;
    }
    res.json(await summaries.get(call.id));
  }));

  r.post('/calls/:id/summary', who, route(async (req, res) => {
    const call = await callFor(req.params.id, req.principal!);
    if (!summaries || !transcriber) throw new ApiError(409, 'summaries_disabled', disabledText(transcriber), 'id');
    if (!(await transcriber.jobs(call.id)).some((j) => j.status === 'done')) throw new ApiError(409, 'not_ready', 'the call has no finished transcript to summarise', 'id');
    summaries.request(call.id);
    res.status(202).json({ callId: call.id, status: 'pending' });
  }));
  return r;
}

/**
 * Why format=text has no text, told apart so that 1C stops asking once the answer is final: 409 not_ready only
 * while a job is queued or running; 409 transcript_failed, 404 no_transcript (no job, or every recording skipped)
 * and 409 transcription_disabled are final until something changes (a re-run, a new recording). The body is the
 * usual {"error"} plus the call's id and the same `status` the JSON form reports.
 */
function textRefused(res: Response, callId: string, status: 'disabled' | 'none' | 'queued' | 'running' | 'failed' | 'skipped'): void {
  const [code, httpStatus, message]: [string, number, string] = status === 'queued' || status === 'running'
    ? ['not_ready', 409, `the transcript is ${status}`]
    : status === 'failed' ? ['transcript_failed', 409, 'the transcription failed (see the items\' error in the JSON form; POST re-runs it)']
      : status === 'disabled' ? ['transcription_disabled', 409, 'transcription is not configured (TRANSCRIPTION_ENGINE=none)']
        : ['no_transcript', 404, status === 'skipped' ? 'the call\'s recordings were not transcribed (skipped by the rules or nothing to transcribe)' : 'the call has no transcript (no finished recording)'];
  res.status(httpStatus).json({ error: { code, message, field: 'id' }, callId, status });
}

function disabledText(transcriber: Transcriber | null): string {
  return transcriber ? 'Резюме не настроены: не задана языковая модель (LLM_PROVIDER=none)' : 'Резюме не настроены: нет расшифровки (TRANSCRIPTION_ENGINE=none)';
}
