/**
 * @module model/provider
 * Which model a turn talks to: chosen by configuration, never by code edits. `offline` is the
 * built-in command reader (no key, no network); anything else goes through `@ai-sdk/openai`, to
 * OpenAI itself (Responses API) or to any OpenAI-compatible server (Chat Completions).
 */
import { createOpenAI } from '@ai-sdk/openai';
import type { LanguageModel } from 'ai';
import type { Config } from '../config.ts';
import { createOfflineModel } from './offline.ts';

export function createChatModel(settings: Config['model']): LanguageModel {
  if (settings.id === 'offline') return createOfflineModel();
  const provider = createOpenAI({
    // Local OpenAI-compatible servers usually take any key; OpenAI itself needs the real one.
    apiKey: settings.apiKey ?? 'not-needed',
    baseURL: settings.baseURL,
  });
  return settings.api === 'chat' ? provider.chat(settings.id) : provider.responses(settings.id);
}
