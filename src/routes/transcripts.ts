import { Router } from 'express';
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
      if (format === 'text') throw new ApiError(409, 'transcription_disabled', 'transcription is not configured (TRANSCRIPTION_ENGINE=none)', 'id');
      res.json({ callId: call.id, status: 'disabled', message: 'Расшифровка не настроена (TRANSCRIPTION_ENGINE=none)', items: [] });
      return;
    }
    const items = await transcriber.jobs(call.id);
    const { status } = transcriptionStatus(items);
    if (format === 'text') {
      if (status !== 'done') throw new ApiError(409, 'not_ready', `the transcript is ${status}`, 'id');
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

function disabledText(transcriber: Transcriber | null): string {
  return transcriber ? 'Резюме не настроены: не задана языковая модель (LLM_PROVIDER=none)' : 'Резюме не настроены: нет расшифровки (TRANSCRIPTION_ENGINE=none)';
}
