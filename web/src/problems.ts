/**
 * Every failure the page can meet, as one sentence a person understands and what they can do
 * about it. The server answers errors as `{"error": {"code", "message"}}` (the contract's table);
 * the AI SDK's transport throws with that body as its message, and an error that happens after
 * the stream started arrives as the server's plain text. This module reads all three shapes.
 */
import { APICallError } from 'ai';

export type Problem = {
  /** HTTP status; 0 when the server could not be reached, undefined for an error inside a stream. */
  status: number | undefined;
  code: string | undefined;
  /** What the server said, shown under the sentence when it adds something. */
  serverMessage: string | undefined;
  sentence: string;
  /** Sending the same thing again can succeed (the server kept the message, or it was busy). */
  retry: boolean;
  retryAfterSeconds?: number;
  /** 401: the page asks for a name or token. */
  askCredentials?: boolean;
};

const CODE_BY_STATUS: Record<number, string> = {
  401: 'unauthorized',
  404: 'not_found',
  409: 'conversation_busy',
  413: 'payload_too_large',
  429: 'rate_limited',
  500: 'internal_error',
  502: 'model_error',
  503: 'db_unavailable',
  504: 'model_timeout',
};

export function problemFromResponse(status: number, body: string, retryAfter: string | null): Problem {
  if (status === 0) {
    return {
      status,
      code: undefined,
      serverMessage: undefined,
      sentence:
        'The server cannot be reached. Check your connection (or whether taskchat is running), then retry.',
      retry: true,
    };
  }
  const parsed = parseErrorBody(body);
  const code = parsed?.code ?? CODE_BY_STATUS[status] ?? (status === 403 ? 'forbidden' : undefined);
  const serverMessage = parsed?.message ?? (body.trim().slice(0, 300) || undefined);
  const seconds = parseRetryAfter(retryAfter) ?? secondsIn(serverMessage);
  return { status, code, serverMessage, retryAfterSeconds: seconds, ...describe(code, status, seconds) };
}

/** The error `useChat` reports: an HTTP refusal, a network failure, or an error part mid-stream. */
export function problemFromChatError(error: Error, retryAfter: string | null): Problem {
  if (APICallError.isInstance(error)) {
    return problemFromResponse(error.statusCode ?? 500, error.responseBody ?? error.message, retryAfter);
  }
  if (error instanceof TypeError) return problemFromResponse(0, '', null);
  // An `error` part after the stream started: the server's own sentence (it says whether the
  // message was kept). Some servers send the JSON error shape here too.
  const parsed = parseErrorBody(error.message);
  if (parsed) {
    const status = Object.entries(CODE_BY_STATUS).find(([, c]) => c === parsed.code)?.[0];
    return problemFromResponse(status ? Number(status) : 500, error.message, null);
  }
  return {
    status: undefined,
    code: undefined,
    serverMessage: error.message,
    sentence: 'The answer stopped before it was complete.',
    retry: true,
  };
}

function describe(
  code: string | undefined,
  status: number,
  seconds: number | undefined,
): Pick<Problem, 'sentence' | 'retry' | 'askCredentials'> {
  switch (code) {
    case 'invalid_request':
      return { sentence: 'The server could not accept this message.', retry: false };
    case 'unauthorized':
      return {
        sentence: 'The server did not accept your name or token. Please sign in again.',
        retry: true,
        askCredentials: true,
      };
    case 'forbidden_origin':
      return {
        sentence:
          "The server refuses requests from this page's address (forbidden origin). Open the page from the server's own URL, or add this origin to CORS_ORIGINS.",
        retry: false,
      };
    case 'insufficient_scope':
      return { sentence: 'Your token does not allow this action (missing scope).', retry: false };
    case 'forbidden':
      return { sentence: 'The server refused this request (forbidden).', retry: false };
    case 'not_found':
      return { sentence: 'That conversation or task does not exist (any more).', retry: false };
    case 'undo_conflict':
      return { sentence: 'That change cannot be undone now.', retry: false };
    case 'conversation_busy':
      return {
        sentence: 'This conversation is still answering an earlier message. Wait a moment, then retry.',
        retry: true,
      };
    case 'payload_too_large':
      return { sentence: 'That message is too long to send. Shorten it and try again.', retry: false };
    case 'rate_limited':
      return {
        sentence:
          seconds !== undefined
            ? `You have sent too many messages in the last minute. Try again in ${seconds} s.`
            : 'You have sent too many messages in the last minute. Try again in a little while.',
        retry: true,
      };
    case 'budget_exhausted':
      return {
        sentence: `You have used today's token budget. It renews at midnight${
          seconds !== undefined ? `, in ${Math.ceil(seconds / 3600)} h` : ''
        }.`,
        retry: false,
      };
    case 'model_error':
      return {
        sentence: "The AI model's provider failed. Your message was kept: retry to send it again.",
        retry: true,
      };
    case 'model_timeout':
      return { sentence: 'The AI model took too long to answer. Your message was kept: retry.', retry: true };
    case 'db_unavailable':
      return { sentence: 'The database is unavailable right now. Retry in a few seconds.', retry: true };
    case 'draining':
      return { sentence: 'The server is restarting. Retry in a moment.', retry: true };
    case 'internal_error':
      return {
        sentence: 'Something went wrong on the server. Retry; if it keeps failing, tell whoever runs it.',
        retry: true,
      };
    default:
      return {
        sentence: `The server answered with an unexpected error (HTTP ${status}).`,
        retry: status >= 500,
      };
  }
}

function parseErrorBody(text: string): { code: string; message: string } | undefined {
  try {
    const value: unknown = JSON.parse(text);
    const error = (value as { error?: unknown } | null)?.error;
    if (typeof error !== 'object' || error === null) return undefined;
    const { code, message } = error as Record<string, unknown>;
    if (typeof code !== 'string') return undefined;
    return { code, message: typeof message === 'string' ? message : '' };
  } catch {
    return undefined;
  }
}

/** `Retry-After` is delta-seconds or an HTTP date. */
function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function secondsIn(message: string | undefined): number | undefined {
  const match = message?.match(/(\d+)\s*(?:s\b|sec|second)/i);
  return match ? Number(match[1]) : undefined;
}
