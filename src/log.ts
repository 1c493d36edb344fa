/**
 * @module log
 * JSON-lines logging with levels. Callers pass fields, never whole requests: tokens, keys,
 * passwords and message text must not reach a log line at info level, and nothing here adds them.
 */
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

/** What of an error may be logged: its class and codes, not its message (it can carry data). */
export function errorFields(error: unknown): Fields {
  const e = error as { name?: string; code?: unknown; statusCode?: unknown; cause?: { code?: unknown } };
  return { error: e?.name ?? typeof error, code: e?.code ?? e?.cause?.code, status: e?.statusCode };
}

/** An error's reason with any URL credentials masked: for start-up failures, where the reason matters. */
export function safeMessage(error: unknown): string {
  // Wrappers (Drizzle's failed-query error, our DbUnavailableError) hide the driver's reason.
  let e: unknown = error;
  while ((e as { cause?: unknown })?.cause instanceof Error) e = (e as Error).cause;
  const reason =
    e instanceof AggregateError
      ? e.errors.map((x) => String(x?.message)).join('; ')
      : String((e as Error)?.message ?? e);
  const text = e === error ? reason : `${(error as Error).message}: ${reason}`;
  return text.replace(/(\w+:\/\/[^:/\s@]+:)[^@\s]+@/g, '$1***@');
}
