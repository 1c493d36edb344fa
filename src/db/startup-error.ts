/**
 * @module db/startup-error
 * Why the database could not be used at start-up, in a user's words, on one line: which variable
 * named it (`DATABASE_URL` or `DATABASE_URL_UNPOOLED`), which host and port, and the reason
 * (refused, not found, timed out, authentication, TLS...). A person reading it knows what to fix.
 * Never the password, never SQL or query parameters, never a driver's or ORM's message: those can
 * carry the URL, the statement, or data. `npm start`, `npm run db:migrate` and the stdio MCP
 * server print `message` as it is.
 */
import type { Config } from '../config.ts';

/** Start-up refused because of the database; `message` is the one line to print. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** The embedded database's directory is open in another process (see db/client.ts). */
export function databaseInUse(directory: string, holder: string): StartupError {
  return new StartupError(
    `DATABASE_URL: the embedded database in ${directory} is already open in ${holder}; ` +
      'stop that process first, or give this one its own directory (DATABASE_URL=pglite://<dir>). ' +
      'Nothing was written.',
  );
}

/** Any failure to open or migrate the database at start-up, as one line for a person. */
export function describeStartupFailure(error: unknown, settings: Config['db']): StartupError {
  if (error instanceof StartupError) return error;
  if (settings.driver === 'pglite') {
    const code = findCode(error);
    return new StartupError(
      `DATABASE_URL: the embedded database in ${settings.url} could not be opened${code ? ` (${code})` : ''}`,
    );
  }
  // Start-up talks to the database through the migration URL only.
  const variable = settings.migrationUrl !== settings.url ? 'DATABASE_URL_UNPOOLED' : 'DATABASE_URL';
  return new StartupError(
    `${variable}: cannot use the database at ${hostPort(settings.migrationUrl)}: ${reason(error, settings)}`,
  );
}

function hostPort(url: string): string {
  try {
    const parsed = new URL(url);
    return `${decodeURIComponent(parsed.hostname)}:${parsed.port || '5432'}`;
  } catch {
    return 'an unreadable address';
  }
}

const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)_)/;
const TLS_MESSAGE = /\b(ssl|tls|certificate|self[- ]signed)\b/i;

function reason(error: unknown, settings: Config['db']): string {
  const codes = causes(error).map((e) => String((e as { code?: unknown }).code ?? ''));
  const messages = causes(error).map((e) => String((e as { message?: unknown }).message ?? ''));
  const has = (...wanted: string[]) => codes.find((c) => wanted.includes(c));
  const said = (re: RegExp) => messages.some((m) => re.test(m));
  const code = has('ECONNREFUSED');
  if (code) return `connection refused (${code}); is Postgres running there?`;
  const notFound = has('ENOTFOUND', 'EAI_AGAIN');
  if (notFound) return `host not found (${notFound})`;
  const auth = has('28P01', '28000');
  if (auth) return `authentication failed (${auth}); check the user name and password in the URL`;
  const tls = codes.find((c) => TLS_CODE.test(c));
  if (tls || said(TLS_MESSAGE))
    return `the TLS connection failed${tls ? ` (${tls})` : ''}; check sslmode and the server's certificate`;
  if (
    has('ETIMEDOUT') ||
    said(/timeout exceeded when trying to connect|connection timeout|query read timeout/i)
  ) {
    return `no answer within DB_CONNECT_TIMEOUT_MS (${settings.connectTimeoutMs} ms)`;
  }
  if (has('57014')) return `no answer within DB_STATEMENT_TIMEOUT_MS (${settings.statementTimeoutMs} ms)`;
  if (has('3D000')) return 'the database named in the URL does not exist (3D000)';
  if (has('57P03')) return 'the server is starting up or shutting down (57P03); try again shortly';
  if (has('53300')) return 'the server has too many connections (53300)';
  const unreachable = has('EHOSTUNREACH', 'ENETUNREACH');
  if (unreachable) return `the host cannot be reached (${unreachable})`;
  if (has('ECONNRESET', '08006', '57P01') || said(/connection terminated|server closed the connection/i)) {
    return 'the server closed the connection';
  }
  const any = codes.find((c) => /^[0-9A-Z]{5}$|^E[A-Z]+$/.test(c));
  return any ? `the database refused (${any})` : 'an unexpected error';
}

function findCode(error: unknown): string | undefined {
  return causes(error)
    .map((e) => (e as { code?: unknown }).code)
    .find((c): c is string => typeof c === 'string' && c !== '');
}

/** The error and its causes (Drizzle wraps driver errors; AggregateError holds one per address). */
function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  const visit = (e: unknown, depth: number) => {
    if (!e || depth > 6 || out.includes(e)) return;
    out.push(e);
    if (e instanceof AggregateError) for (const inner of e.errors) visit(inner, depth + 1);
    visit((e as { cause?: unknown }).cause, depth + 1);
  };
  visit(error, 0);
  return out;
}
