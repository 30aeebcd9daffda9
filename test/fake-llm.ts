/**
 * A local OpenAI-compatible chat-completions server for the summary and chat-analysis tests: answers each
 * request with the next of `state.answers`, else with `good` as a fenced JSON block (as local models often
 * write it). `state.mode`: `up`; `down` resets every connection; `hold` takes the request and never answers.
 * Every request is kept (`path`, `auth`, parsed `body`).
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const fenced = (o: unknown) => '```json\n' + JSON.stringify(o) + '\n```';

export interface FakeLlm {
  state: { answers: string[]; requests: Array<{ path: string | undefined; auth: string | undefined; body: any }>; mode: 'up' | 'down' | 'hold' };
  /** The base URL a ChatOpenAI client / LLM_BASE_URL takes (`…/v1`). */
  url: string;
  close(): Promise<void>;
}

export async function startFakeLlm(good: unknown, model = 'local'): Promise<FakeLlm> {
  const state: FakeLlm['state'] = { answers: [], requests: [], mode: 'up' };
  const server: Server = createServer((req, res) => {
    if (state.mode === 'down') {
      req.socket.destroy();
      return;
    }
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      state.requests.push({ path: req.url, auth: req.headers.authorization, body: JSON.parse(body) });
      if (state.mode === 'hold') return;
      const content = state.answers.shift() ?? fenced(good);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({
        id: 'chatcmpl-1', object: 'chat.completion', created: 0, model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
