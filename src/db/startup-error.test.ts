import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { databaseInUse, describeStartupFailure, StartupError } from './startup-error.ts';

const URL = 'postgres://app:hunter2secret@db.example.com:6543/tasks';
const settings = (env: Record<string, string> = {}) =>
  loadConfig({ DATABASE_URL: URL, DB_CONNECT_TIMEOUT_MS: '700', DB_STATEMENT_TIMEOUT_MS: '900', ...env }).db;

/** A driver error as pg and Node raise them: a message and a code. */
const failure = (code: string, message = `failed with ${code} for ${URL}`) =>
  Object.assign(new Error(message), { code });

/** The line for `error` on the default settings. */
const line = (error: unknown) => describeStartupFailure(error, settings()).message;

describe('describeStartupFailure', () => {
  it('names the variable, the host and port, and why, in words', () => {
    expect(line(failure('ECONNREFUSED'))).toBe(
      'DATABASE_URL: cannot use the database at db.example.com:6543: connection refused (ECONNREFUSED); is Postgres running there?',
    );
  });

  it.each([
    ['ENOTFOUND', 'host not found (ENOTFOUND)'],
    ['EAI_AGAIN', 'host not found (EAI_AGAIN)'],
    ['28P01', 'authentication failed (28P01); check the user name and password in the URL'],
    [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      "the TLS connection failed (DEPTH_ZERO_SELF_SIGNED_CERT); check sslmode and the server's certificate",
    ],
    ['ETIMEDOUT', 'no answer within DB_CONNECT_TIMEOUT_MS (700 ms)'],
    ['57014', 'no answer within DB_STATEMENT_TIMEOUT_MS (900 ms)'],
    ['3D000', 'the database named in the URL does not exist (3D000)'],
    ['57P03', 'the server is starting up or shutting down (57P03); try again shortly'],
    ['53300', 'the server has too many connections (53300)'],
    ['EHOSTUNREACH', 'the host cannot be reached (EHOSTUNREACH)'],
    ['ECONNRESET', 'the server closed the connection'],
    ['42P01', 'the database refused (42P01)'],
  ])('%s: %s', (code, reason) => {
    expect(line(failure(code))).toBe(
      `DATABASE_URL: cannot use the database at db.example.com:6543: ${reason}`,
    );
  });

  it('reads the reason from the messages drivers give without a code', () => {
    expect(line(new Error('The server does not support SSL connections'))).toMatch(
      /the TLS connection failed;/,
    );
    expect(line(new Error('timeout exceeded when trying to connect'))).toMatch(
      /no answer within DB_CONNECT_TIMEOUT_MS/,
    );
    expect(line(new Error('Connection terminated unexpectedly'))).toMatch(
      /the server closed the connection$/,
    );
    expect(line(new Error('something else entirely'))).toMatch(/: an unexpected error$/);
  });

  it('finds the driver error inside the ORM error and among the addresses of an AggregateError', () => {
    const wrapped = new Error('Failed query: select pg_advisory_lock($1)\nparams: 42', {
      cause: failure('28P01'),
    });
    expect(line(wrapped)).toMatch(/authentication failed \(28P01\)/);
    const perAddress = new AggregateError(
      [failure('ECONNREFUSED'), failure('ECONNREFUSED')],
      'connect failed',
    );
    expect(line(perAddress)).toMatch(/connection refused \(ECONNREFUSED\)/);
  });

  it('never repeats the password, the query or the driver message', () => {
    const text = line(
      new Error(`Failed query: insert into x values ($1) ${URL}`, { cause: failure('53300') }),
    );
    expect(text).not.toMatch(/hunter2secret|Failed query|insert into|app:/);
  });

  it('names DATABASE_URL_UNPOOLED when start-up uses that URL', () => {
    const unpooled = settings({ DATABASE_URL_UNPOOLED: 'postgres://app:pw@direct.example.com/tasks' });
    expect(describeStartupFailure(failure('ECONNREFUSED'), unpooled).message).toMatch(
      /^DATABASE_URL_UNPOOLED: cannot use the database at direct\.example\.com:5432: connection refused/,
    );
  });

  it('says where the embedded database is, with the code when there is one', () => {
    const embedded = loadConfig({ DATABASE_URL: 'pglite:///var/data/tasks' }).db;
    expect(describeStartupFailure(failure('EACCES'), embedded).message).toBe(
      `DATABASE_URL: the embedded database in ${embedded.url} could not be opened (EACCES)`,
    );
    expect(describeStartupFailure(new Error('wasm'), embedded).message).toBe(
      `DATABASE_URL: the embedded database in ${embedded.url} could not be opened`,
    );
  });

  it('passes a StartupError through as it is', () => {
    const inUse = databaseInUse('/var/data/tasks', 'process 4242');
    expect(inUse).toBeInstanceOf(StartupError);
    expect(describeStartupFailure(inUse, settings())).toBe(inUse);
    expect(inUse.message).toMatch(/already open in process 4242; stop that process first/);
  });
});
