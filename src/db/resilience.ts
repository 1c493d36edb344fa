/**
 * @module db/resilience
 * The one place that decides what to do when Postgres misbehaves. Errors are classified as
 * transient (the statement certainly did not run: the connection was refused, timed out, the
 * server is starting, Neon's compute is waking, too many connections) or not; only transient
 * ones are retried, with capped exponential backoff and full jitter. After repeated transient
 * failures a circuit breaker opens and calls fail fast with `DbUnavailableError` (503 over HTTP)
 * instead of piling up behind a dead database; after a cool-down one trial call decides.
 *
 * A statement that did not answer in time (the server's statement timeout, 57014, or the driver's
 * own read timeout) is an outage too, not a bug: a stalled or overloaded database answers 503
 * like a stopped one. It is never retried (a stall would multiply the wait), and the error says
 * whether the statement may have run (`mayHaveRun`), so that callers never report a change that
 * may have been made as one that was not.
 *
 * A statement that got no pool connection (db/admission.ts: too many waiting, or waited too long)
 * is load, not an outage: 503 without a retry, and the breaker does not count it.
 */
import { causeChain } from '../causes.ts';
import { PoolBusyError } from './admission.ts';

export type Unavailability = 'unreachable' | 'timeout';

/** The database cannot be reached now; `retryAfterSeconds` is when trying again makes sense. */
export class DbUnavailableError extends Error {
  override name = 'DbUnavailableError';
  readonly retryAfterSeconds: number;
  /** `unreachable`: no answer at all (refused, reset, breaker open); `timeout`: no answer in time. */
  readonly reason: Unavailability;
  /** False only when the statement certainly did not run (or was rolled back); true when it may have committed. */
  readonly mayHaveRun: boolean;
  constructor(
    retryAfterSeconds: number,
    options: { cause?: unknown; reason?: Unavailability; mayHaveRun?: boolean } = {},
  ) {
    // Our own sentence: wherever this message ends up (a tool part, a log), it is the contract's.
    super(
      options.reason === 'timeout'
        ? 'The database did not answer in time; try again shortly'
        : 'The database is unavailable; try again shortly',
      { cause: options.cause },
    );
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
    this.reason = options.reason ?? 'unreachable';
    this.mayHaveRun = options.mayHaveRun ?? false;
  }
}

// Node socket errors raised while connecting: no statement reached the server.
const CONNECT_ERRNO = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
// SQLSTATEs answered before any statement runs.
const CONNECT_SQLSTATE = new Set([
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
  '53300', // too_many_connections
  '57P03', // cannot_connect_now (starting up, recovering)
]);
// Driver messages for failures before the statement was sent (pg pool, Neon proxy and compute).
const CONNECT_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /connection terminated due to connection timeout/i,
  /couldn't connect to compute node/i,
  /compute node .*(starting|waking)/i,
  /endpoint .* (is )?(idle|suspended|starting)/i,
  /too many connections/i,
  /websocket .*(error|closed) before/i,
];
// The connection died while a statement may have been running: safe to retry only for reads.
const LOST_MESSAGES = [/connection terminated/i, /server closed the connection/i, /ECONNRESET/];
const LOST_SQLSTATE = new Set(['08006', '08003', '57P01']);
// The server cancelled the statement (statement_timeout): it was rolled back, nothing changed.
const CANCELLED_SQLSTATE = '57014';
// The driver gave up waiting for the answer (pg and Neon's `query_timeout`): it may have committed.
const READ_TIMEOUT_MESSAGES = [/query read timeout/i];

/**
 * `busy`: the statement never got a pool connection (the app's own queue was full or too slow).
 * `connect`: the statement never reached the server. `lost`: the connection died while it may have
 * been running. `cancelled`: the server's statement timeout cancelled it (rolled back).
 * `read_timeout`: the driver stopped waiting (it may have committed). `other`: the database answered
 * with an error of its own (a constraint, a bug): it is up.
 */
export type ErrorKind = 'busy' | 'connect' | 'lost' | 'cancelled' | 'read_timeout' | 'other';

/** Walks the cause chain (Drizzle wraps driver errors) to classify a failure. */
export function classifyDbError(error: unknown): ErrorKind {
  let lost = false;
  for (const e of causeChain(error)) {
    if (e instanceof PoolBusyError) return 'busy';
    if (e instanceof DbUnavailableError) return 'connect';
    const code = String((e as { code?: unknown }).code ?? '');
    const message = String((e as { message?: unknown }).message ?? '');
    if (CONNECT_ERRNO.has(code) || CONNECT_SQLSTATE.has(code)) return 'connect';
    if (e instanceof AggregateError && e.errors.some((inner) => classifyDbError(inner) === 'connect')) {
      return 'connect';
    }
    if (CONNECT_MESSAGES.some((re) => re.test(message))) return 'connect';
    if (code === CANCELLED_SQLSTATE) return 'cancelled';
    if (READ_TIMEOUT_MESSAGES.some((re) => re.test(message))) return 'read_timeout';
    if (LOST_SQLSTATE.has(code) || code === 'ECONNRESET' || LOST_MESSAGES.some((re) => re.test(message))) {
      lost = true;
    }
  }
  return lost ? 'lost' : 'other';
}

/** Whether `error` may be retried; a lost connection only when the operation is idempotent. */
export function isRetryable(error: unknown, idempotent: boolean): boolean {
  const kind = classifyDbError(error);
  return kind === 'connect' || (kind === 'lost' && idempotent);
}

/** Whether a failed statement may still have committed (so its effect must be looked for, not assumed absent). */
export function mayHaveRun(error: unknown): boolean {
  if (error instanceof DbUnavailableError) return error.mayHaveRun;
  const kind = classifyDbError(error);
  return kind === 'lost' || kind === 'read_timeout';
}

function unavailable(error: unknown, kind: ErrorKind, retryAfterSeconds: number): DbUnavailableError {
  const timeout = kind === 'cancelled' || kind === 'read_timeout' || kind === 'busy';
  return new DbUnavailableError(retryAfterSeconds, {
    cause: error,
    reason: timeout ? 'timeout' : 'unreachable',
    mayHaveRun: kind === 'lost' || kind === 'read_timeout',
  });
}

export type ResilienceOptions = {
  /** Attempts per call, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Consecutive transient failures (after retries) that open the breaker. */
  failureThreshold: number;
  /** How long the breaker stays open before one trial call. */
  openMs: number;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
};

export const DEFAULT_RESILIENCE: ResilienceOptions = {
  attempts: 3,
  baseDelayMs: 50,
  maxDelayMs: 1000,
  failureThreshold: 5,
  openMs: 5000,
  random: Math.random,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: Date.now,
};

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Retry-with-backoff plus circuit breaker around database calls. */
export class Resilience {
  readonly #options: ResilienceOptions;
  #failures = 0;
  #openedAt = 0;
  #state: BreakerState = 'closed';
  #trialRunning = false;

  constructor(options: Partial<ResilienceOptions> = {}) {
    this.#options = { ...DEFAULT_RESILIENCE, ...options };
  }

  get state(): BreakerState {
    if (this.#state === 'open' && this.#options.now() - this.#openedAt >= this.#options.openMs) {
      this.#state = 'half-open';
    }
    return this.#state;
  }

  /**
   * Runs `operation`, retrying transient failures; throws `DbUnavailableError` when the DB is down
   * or did not answer in time. `probe`: background work that must learn as soon as the database is
   * back (ending stranded turns): it runs even while the breaker is open, once, without retries; a
   * success closes the breaker for everyone, a failure leaves the breaker as it was.
   */
  async run<T>(operation: () => Promise<T>, { idempotent = false, probe = false } = {}): Promise<T> {
    if (!probe) this.#admit();
    const { attempts, baseDelayMs, maxDelayMs, random, sleep } = this.#options;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#once(operation);
      if ('value' in outcome) return outcome.value;
      const { error, kind } = outcome;
      if (probe) throw unavailable(error, kind, this.#retryAfterSeconds());
      if (kind === 'busy') {
        // Says nothing about the database's health: a trial call that met it may be made again.
        this.#trialRunning = false;
        throw unavailable(error, kind, 1);
      }
      if (attempt >= attempts || !isRetryable(error, idempotent) || this.#state === 'half-open') {
        this.#failed();
        throw unavailable(error, kind, this.#retryAfterSeconds());
      }
      await sleep(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
    }
  }

  /** One try. Any answer from the database closes the breaker, an error answer too (it is up). */
  async #once<T>(
    operation: () => Promise<T>,
  ): Promise<{ value: T } | { error: unknown; kind: Exclude<ErrorKind, 'other'> }> {
    try {
      const value = await operation();
      this.#succeeded();
      return { value };
    } catch (error) {
      const kind = classifyDbError(error);
      if (kind === 'other') {
        // The database answered (a constraint, a syntax error...): it is up.
        this.#succeeded();
        throw error;
      }
      return { error, kind };
    }
  }

  #admit(): void {
    const state = this.state;
    if (state === 'closed') return;
    if (state === 'half-open' && !this.#trialRunning) {
      this.#trialRunning = true;
      return;
    }
    throw new DbUnavailableError(this.#retryAfterSeconds(), { mayHaveRun: false });
  }

  #succeeded(): void {
    this.#failures = 0;
    this.#state = 'closed';
    this.#trialRunning = false;
  }

  #failed(): void {
    this.#failures++;
    this.#trialRunning = false;
    if (this.#state === 'half-open' || this.#failures >= this.#options.failureThreshold) {
      this.#state = 'open';
      this.#openedAt = this.#options.now();
    }
  }

  #retryAfterSeconds(): number {
    if (this.#state !== 'open') return 1;
    return (this.#openedAt + this.#options.openMs - this.#options.now()) / 1000;
  }
}
