/**
 * @module model/provider
 * Which model a turn talks to: chosen by configuration, never by code edits. `offline` is the
 * built-in command reader (no key, no network); anything else goes through `@ai-sdk/openai`, to
 * OpenAI itself (Responses API) or to any OpenAI-compatible server (Chat Completions).
 *
 * Its HTTP calls go through our own fetch (./transport.ts: kept-alive connections, streamed text
 * joined into batches before the SDK parses it), and are watched (`watchProviderCalls`): whether the provider answered at all (a
 * status line, whatever followed) is what separates 502 from 504 when the time limit runs out,
 * and only the fetch knows it (the SDK parses the body before anything else sees the call).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createOpenAI } from '@ai-sdk/openai';
import type { LanguageModel } from 'ai';
import type { Config } from '../config.ts';
import { createOfflineModel } from './offline.ts';
import { createModelFetch } from './transport.ts';

export function createChatModel(settings: Config['model']): LanguageModel {
  if (settings.id === 'offline') return createOfflineModel();
  const provider = createOpenAI({
    // Local OpenAI-compatible servers usually take any key; OpenAI itself needs the real one.
    apiKey: settings.apiKey ?? 'not-needed',
    baseURL: settings.baseURL,
    fetch: watchedFetch(createModelFetch({ batchMs: settings.streamBatchMs })),
  });
  return settings.api === 'chat' ? provider.chat(settings.id) : provider.responses(settings.id);
}

/** What the provider did during one run; `answered` is reset by the caller before each model call. */
export type ProviderWatch = { answered: boolean };

const watches = new AsyncLocalStorage<ProviderWatch>();

/** Runs `work` (a model run) with its provider calls noting into `watch` when they get an answer. */
export function watchProviderCalls<T>(watch: ProviderWatch, work: () => T): T {
  return watches.run(watch, work);
}

const watchedFetch =
  (send: typeof fetch): typeof fetch =>
  async (input, init) => {
    const response = await send(input, init);
    const watch = watches.getStore();
    if (watch) watch.answered = true;
    return response;
  };
