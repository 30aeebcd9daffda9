import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { ChatOpenAI } from '@langchain/openai';
import { ChatOllama } from '@langchain/ollama';

export interface LlmConfig {
  provider: 'none' | 'openai' | 'ollama';
  baseUrl?: string;
  model: string;
  apiKey?: string;
}

/**
 * The chat model the installer points us at: any OpenAI-compatible endpoint (vLLM, llama.cpp server,
 * Ollama's /v1, a cloud API if they choose) or Ollama's native API. None configured: no summaries, and the
 * API says so.
 */
export function chatModelFrom(c: LlmConfig): BaseChatModel | null {
  if (c.provider === 'openai') {
    return new ChatOpenAI({ model: c.model, apiKey: c.apiKey ?? 'not-needed', configuration: { baseURL: c.baseUrl }, temperature: 0, maxRetries: 1 });
  }
  if (c.provider === 'ollama') return new ChatOllama({ baseUrl: c.baseUrl, model: c.model, temperature: 0, format: 'json' });
  return null;
}
