/**
 * The page follows `GET /events`, so what changes elsewhere (an MCP host, another tab or device,
 * the REST API) shows without a Refresh. Read with fetch rather than EventSource: EventSource
 * cannot send the Authorization header a jwt-mode page needs. After a cut (a network blip, a
 * server that drains for a deploy) it reconnects with backoff, sending the id of the last change
 * it received as `Last-Event-ID`, and the server first sends what was missed. A 401 stops it and
 * asks for credentials like every other request; signing in again starts it anew.
 */

import type { Task } from './api.ts';
import { reportUnauthorized, requestHeaders } from './api.ts';
import { problemFromResponse } from './problems.ts';

export type Reminder = { task: Task; late: boolean };

export type LiveEventHandlers = {
  /** Tasks changed (a burst comes as one call). */
  onTasksChanged(): void;
  onReminder(reminder: Reminder): void;
};

const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 30_000;
/** Changes arriving this close together reload the panel once. */
const COALESCE_MS = 150;

/** Starts following; returns how to stop. */
export function followEvents(handlers: LiveEventHandlers): () => void {
  let stopped = false;
  let abort: AbortController | undefined;
  let lastEventId: string | undefined;
  let retryMs = FIRST_RETRY_MS;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let coalesce: ReturnType<typeof setTimeout> | undefined;

  const changed = () => {
    if (coalesce) return;
    coalesce = setTimeout(() => {
      coalesce = undefined;
      handlers.onTasksChanged();
    }, COALESCE_MS);
  };

  const dispatch = (event: string, data: string, id: string | undefined) => {
    if (event === 'task') {
      if (id) lastEventId = id;
      changed();
    } else if (event === 'reminder') {
      try {
        handlers.onReminder(JSON.parse(data) as Reminder);
      } catch {
        // Not a reminder this page understands.
      }
    }
  };

  const connect = async () => {
    abort = new AbortController();
    const headers: Record<string, string> = { ...requestHeaders(), Accept: 'text/event-stream' };
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    try {
      const response = await fetch('/events', { headers, signal: abort.signal, cache: 'no-store' });
      if (response.status === 401) {
        reportUnauthorized(problemFromResponse(401, await response.text(), null));
        return;
      }
      if (!response.ok || !response.body) throw new Error(`GET /events answered ${response.status}`);
      retryMs = FIRST_RETRY_MS;
      // Without an id to replay from, what changed before this stream opened (since the panel
      // loaded, or during a cut) is read again whole.
      if (!lastEventId) changed();
      await readEvents(response.body, dispatch);
    } catch {
      // Cut, refused or offline: try again below.
    }
    if (stopped) return;
    retry = setTimeout(connect, retryMs * (0.75 + Math.random() / 2));
    retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
  };

  void connect();
  return () => {
    stopped = true;
    clearTimeout(retry);
    clearTimeout(coalesce);
    abort?.abort();
  };
}

/** Reads server-sent events (the HTML standard's fields, comments and blank-line dispatch). */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  dispatch: (event: string, data: string, id: string | undefined) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let id: string | undefined;
  let data: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
      if (line === '') {
        if (data.length > 0) dispatch(event || 'message', data.join('\n'), id);
        event = '';
        id = undefined;
        data = [];
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
        else if (field === 'id') id = text;
      }
    }
  }
}
