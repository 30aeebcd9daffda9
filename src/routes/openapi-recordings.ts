/**
 * OpenAPI parts for a call's recordings, transcript and summary: GET /calls/{id}/recordings/{n} (Range),
 * GET/POST /calls/{id}/transcript (JSON or format=text for 1C, with its final refusals) and
 * GET/POST /calls/{id}/summary.
 */
import { callIdParam, errorResponses, nullable, ref } from './openapi-parts';

/** GET /calls/{id}/transcript?format=text without text: the usual error, plus the call and its transcript status. */
const transcriptRefusal = {
  allOf: [
    ref('Error'),
    {
      type: 'object',
      properties: {
        callId: { type: 'string' },
        status: { type: 'string', enum: ['disabled', 'none', 'queued', 'running', 'failed', 'skipped'] },
      },
    },
  ],
};

export const recordingPaths = {
  '/calls/{id}/recordings/{n}': {
    get: {
      summary: 'A recording\'s audio, whole or by byte range (Range: bytes=…; 206 with Content-Range). Operators hear only calls they took '
        + 'part in, the integration role per TELEFONIST_INTEGRATION_RECORDINGS; `?access_token=` for an <audio> element.',
      security: [{ bearer: [] }],
      parameters: [
        callIdParam,
        { name: 'n', in: 'path', required: true, description: 'The recording\'s index in the call\'s `recordings`.', schema: { type: 'integer', minimum: 0 } },
        { name: 'Range', in: 'header', required: false, schema: { type: 'string', example: 'bytes=0-65535' } },
      ],
      responses: {
        '200': { description: 'The whole file.', content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } } },
        '206': { description: 'The requested byte range.', content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } } },
        ...errorResponses(400, 401, 403, 404, 416),
      },
    },
  },
  '/calls/{id}/transcript': {
    get: {
      summary: 'The call\'s transcript: per recording, a dialogue of segments (speaker, role, start, end, text), or with format=text one '
        + 'line per turn for 1C. status: disabled (no engine configured), none, queued, running, done, failed, skipped (by the rules, or nothing to transcribe: an empty file, no speech; the item\'s error says why). '
        + 'format=text answers 200 only when status is done; otherwise the usual error plus `callId` and the same `status`: 409 not_ready while queued or running '
        + '(ask again later), and final answers that need no polling: 409 transcript_failed (failed; POST re-runs it), 404 no_transcript (none or skipped), '
        + '409 transcription_disabled (disabled).',
      security: [{ bearer: [] }],
      parameters: [
        callIdParam,
        { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['json', 'text'], default: 'json' } },
      ],
      responses: {
        '200': {
          description: 'The transcript and its status.',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  callId: { type: 'string' },
                  status: { type: 'string', enum: ['disabled', 'none', 'queued', 'running', 'done', 'failed', 'skipped'] },
                  items: {
                    type: 'array',
                    items: {
                      type: 'object',
                      additionalProperties: true,
                      properties: {
                        recording: { type: 'integer' }, status: { type: 'string' }, progress: { type: 'integer' }, attempts: { type: 'integer' },
                        error: nullable({ type: 'string' }), engine: nullable({ type: 'string' }), language: nullable({ type: 'string' }),
                        audioSeconds: nullable({ type: 'number' }), wallMs: nullable({ type: 'integer' }),
                        segments: {
                          type: 'array',
                          items: {
                            type: 'object',
                            properties: {
                              speaker: { type: 'string' }, role: { type: 'string', enum: ['customer', 'employee', 'unknown'] },
                              start: { type: 'number' }, end: { type: 'number' }, text: { type: 'string' },
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
            'text/plain': { schema: { type: 'string' } },
          },
        },
        ...errorResponses(400, 401, 403),
        '404': {
          description: 'No such call, or with format=text: error.code no_transcript (status none or skipped; final).',
          content: { 'application/json': { schema: transcriptRefusal } },
        },
        '409': {
          description: 'format=text only: error.code not_ready (status queued or running: ask again later), transcript_failed (status failed; final '
            + 'until a re-run), transcription_disabled (status disabled).',
          content: { 'application/json': { schema: transcriptRefusal } },
        },
      },
    },
    post: {
      summary: 'Transcribe the call\'s recordings (again) now, whatever the rules say.',
      security: [{ bearer: [] }],
      parameters: [callIdParam],
      responses: {
        '202': { description: 'Queued.', content: { 'application/json': { schema: { type: 'object', properties: { callId: { type: 'string' }, status: { type: 'string' }, recordings: { type: 'integer' } } } } } },
        ...errorResponses(400, 401, 403, 404, 409),
      },
    },
  },
  '/calls/{id}/summary': {
    get: {
      summary: 'The LangChain summary of the call\'s transcript: summary, keyPoints, customerWants, agreements, nextActions, sentiment. '
        + 'status: disabled (no LLM or no transcription configured; said plainly, no placeholder text), none, pending, done, failed (with error).',
      security: [{ bearer: [] }],
      parameters: [callIdParam],
      responses: {
        '200': {
          description: 'The summary and its status.',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  callId: { type: 'string' },
                  status: { type: 'string', enum: ['disabled', 'none', 'pending', 'done', 'failed'] },
                  message: { type: 'string' }, model: nullable({ type: 'string' }), error: nullable({ type: 'string' }), updatedAt: { type: 'string', format: 'date-time' },
                  summary: nullable({
                    type: 'object',
                    properties: {
                      summary: { type: 'string' }, keyPoints: { type: 'array', items: { type: 'string' } }, customerWants: { type: 'string' },
                      agreements: { type: 'array', items: { type: 'string' } },
                      nextActions: { type: 'array', items: { type: 'object', properties: { who: { type: 'string' }, what: { type: 'string' }, due: nullable({ type: 'string' }) } } },
                      sentiment: { type: 'string', enum: ['positive', 'neutral', 'negative', 'mixed'] },
                    },
                  }),
                },
              },
            },
          },
        },
        ...errorResponses(400, 401, 403, 404),
      },
    },
    post: {
      summary: 'Summarise the call again now.',
      security: [{ bearer: [] }],
      parameters: [callIdParam],
      responses: { '202': { description: 'Queued.' }, ...errorResponses(400, 401, 403, 404, 409) },
    },
  },
};
