/**
 * How the page talks to the server outside the chat stream: who the user is (a name in dev
 * mode, a bearer token in jwt mode, kept in localStorage so a reload keeps it) and a small
 * fetch wrapper that turns the contract's `{"error": {"code", "message"}}` answers into
 * `ApiProblem`s the page can explain. The chat itself goes through the AI SDK's transport, which
 * sends the same `requestHeaders()`: the credentials and the browser's time zone (the user's
 * "today" and daily budget are in it).
 */
import { type Problem, problemFromResponse } from './problems.ts';

export type Credentials = { kind: 'user'; userId: string } | { kind: 'token'; token: string };

/** How the server identifies people (`GET /auth/config`): a user name, or a bearer token. */
export type AuthMode = 'dev' | 'jwt';

/** The server's auth mode, or undefined when it cannot be read (the person then picks). */
export async function loadAuthMode(): Promise<AuthMode | undefined> {
  try {
    const response = await fetch('/auth/config');
    const { mode } = (await response.json()) as { mode?: unknown };
    return mode === 'dev' || mode === 'jwt' ? mode : undefined;
  } catch {
    return undefined;
  }
}

const STORAGE_KEY = 'taskchat.credentials';

/** The server's dev-mode user id rule (src/auth): checked here too, so typos fail before a 401. */
export const USER_ID_PATTERN = /^[A-Za-z0-9._:@|-]{1,128}$/;

export function loadCredentials(): Credentials | undefined {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
    if (typeof value !== 'object' || value === null) return undefined;
    const stored = value as Record<string, unknown>;
    if (stored.kind === 'user' && typeof stored.userId === 'string') {
      return { kind: 'user', userId: stored.userId };
    }
    if (stored.kind === 'token' && typeof stored.token === 'string')
      return { kind: 'token', token: stored.token };
  } catch {
    // A hand-edited or foreign value: ask again rather than fail.
  }
  return undefined;
}

export function saveCredentials(credentials: Credentials): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
}

/** Read at every request, so a change of user applies to the very next call (chat included). */
export function authHeaders(): Record<string, string> {
  const credentials = loadCredentials();
  if (!credentials) return {};
  return credentials.kind === 'user'
    ? { 'X-User-Id': credentials.userId }
    : { Authorization: `Bearer ${credentials.token}` };
}

/** The browser's IANA time zone, or undefined when it has none to give (the server then uses the user's). */
function browserTimeZone(): string | undefined {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
  } catch {
    return undefined;
  }
}

/** What every request sends: the credentials and the browser's time zone. */
export function requestHeaders(): Record<string, string> {
  const zone = browserTimeZone();
  return { ...authHeaders(), ...(zone ? { 'X-Timezone': zone } : {}) };
}

// A 401 anywhere (list, tasks, chat) asks for credentials once, in one place: the app.
const unauthorizedListeners = new Set<(problem: Problem) => void>();

export function onUnauthorized(listener: (problem: Problem) => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function reportUnauthorized(problem: Problem): void {
  for (const listener of unauthorizedListeners) listener(problem);
}

export class ApiProblem extends Error {
  override name = 'ApiProblem';
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.sentence);
    this.problem = problem;
  }
}

/** JSON in, JSON out; any non-2xx answer throws an ApiProblem, a network failure too. */
export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  for (const [name, value] of Object.entries(requestHeaders())) headers.set(name, value);
  if (json !== undefined) headers.set('content-type', 'application/json');
  let response: Response;
  try {
    response = await fetch(path, {
      ...rest,
      headers,
      body: json !== undefined ? JSON.stringify(json) : rest.body,
    });
  } catch {
    throw new ApiProblem(problemFromResponse(0, '', null));
  }
  if (!response.ok) {
    const problem = problemFromResponse(
      response.status,
      await response.text(),
      response.headers.get('retry-after'),
    );
    if (problem.askCredentials) reportUnauthorized(problem);
    throw new ApiProblem(problem);
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/**
 * A v4 UUID. `crypto.randomUUID` exists only in secure contexts (https, localhost); a server
 * reached over plain http on a LAN address would otherwise break every send.
 */
export function newId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export type Task = {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
  priority: 'low' | 'medium' | 'high';
  dueDate: string | null;
  /** HH:MM on the due date, in the user's zone. */
  dueTime: string | null;
  /** An RRULE: completing the task moves it to the next occurrence. */
  repeat: string | null;
  /** An ISO 8601 instant (UTC). */
  reminder: string | null;
  createdAt: string;
  updatedAt: string;
};

export type ConversationSummary = { id: string; title: string; createdAt: string; updatedAt: string };
