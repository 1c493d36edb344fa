/**
 * @module log
 * JSON-lines logging with levels. Callers pass fields, never whole requests: tokens, keys,
 * passwords and message text must not reach a log line at info level, and nothing here adds them.
 */
import { causeChain } from './causes.ts';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type LogLevel = Level | 'silent';
export type Fields = Record<string, unknown>;

export type Logger = {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
};

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** `write` receives one JSON line per record; stdout by default (stderr for the stdio MCP server). */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
  bound: Fields = {},
): Logger {
  const emit = (at: Level, msg: string, fields?: Fields) => {
    if (RANK[at] < RANK[level]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...bound, ...fields })}\n`);
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger(level, write, { ...bound, ...fields }),
  };
}

/**
 * What of an error may be logged: its kind and codes (SQLSTATE, errno, HTTP status, down the cause
 * chain), never its message: driver messages carry SQL and query parameters (the user's data),
 * SDK messages carry model output. The AI SDK's `AI_` prefix is dropped from kinds.
 */
export function errorFields(error: unknown): Fields {
  const e = error as { name?: unknown; code?: unknown; statusCode?: unknown };
  let code: unknown;
  let status: unknown;
  for (const x of causeChain(error)) {
    const f = x as { code?: unknown; statusCode?: unknown };
    code ??= typeof f.code === 'string' || typeof f.code === 'number' ? f.code : undefined;
    status ??= typeof f.statusCode === 'number' ? f.statusCode : undefined;
  }
  const kind = typeof e?.name === 'string' ? e.name.replace(/^AI_/, '') : typeof error;
  return { error: kind, code, status };
}
