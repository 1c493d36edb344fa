/**
 * @module config
 * The environment (README "Configuration", .env.example), parsed once into a typed, frozen object. Nothing else in the
 * program reads `process.env`: every module receives the piece of `Config` it needs, so tests
 * build any configuration they like without touching the process.
 *
 * A bad value stops start-up with ONE line naming the variable and what is wrong with it, and
 * never echoes a secret. `redactConfig` is the only form of the config that may be printed.
 */
import type { TelemetryOptions } from 'ai';
import { z } from 'zod';
import { canonicalZone } from './time/zone.ts';

export type DbDriver = 'pglite' | 'pg' | 'neon' | 'neon-http';

export type Config = Readonly<{
  nodeEnv: string;
  host: string;
  port: number;
  /** The externally visible base URL, no trailing slash: the OAuth resource id and the own origin. */
  publicUrl: string;
  /** False when PUBLIC_URL was not given and `publicUrl` is only where the server listens. */
  publicUrlGiven: boolean;
  db: Readonly<{
    driver: DbDriver;
    /** Postgres URL, or for PGlite `memory` / a data directory. */
    url: string;
    /** Direct (unpooled) URL for migrations; same as `url` unless set. */
    migrationUrl: string;
    neonWsProxy: string | undefined;
    poolMax: number;
    /** Statements that may wait for a pool connection at once, and how long each may wait (db/admission.ts). */
    queueMax: number;
    queueTimeoutMs: number;
    connectTimeoutMs: number;
    statementTimeoutMs: number;
  }>;
  model: Readonly<{
    /** `offline` selects the built-in command interpreter. */
    id: string;
    apiKey: string | undefined;
    baseURL: string | undefined;
    api: 'responses' | 'chat';
    timeoutMs: number;
    maxSteps: number;
    maxToolCalls: number;
    maxRetries: number;
    /** How long streamed text may wait to be joined with the text after it (model/transport.ts). */
    streamBatchMs: number;
    /**
     * The AI SDK's per-call telemetry setting, passed as it is by the agent. Inputs and outputs
     * (prompts, replies, tool arguments and results) are never recorded; the app adds the
     * OpenTelemetry integration when `telemetry.tracing`, and turns telemetry off otherwise.
     */
    telemetry: TelemetryOptions;
  }>;
  chat: Readonly<{
    historyMessages: number;
    maxBodyBytes: number;
    maxMessageChars: number;
    rateLimitPerMinute: number;
    leaseMs: number;
    /** Which chat tool calls wait for the user's decision: destructive (delete_task), writes, or none. */
    approvalPolicy: 'destructive' | 'writes' | 'none';
    /** How long a pending approval can still be decided. */
    approvalTtlMs: number;
  }>;
  auth: Readonly<{
    mode: 'jwt' | 'dev';
    jwtSecret: string | undefined;
    jwksUrl: string | undefined;
    issuer: string | undefined;
    audience: string | undefined;
    /** Refuse tokens without an `exp` claim (`AUTH_JWT_REQUIRE_EXP`, default true). */
    requireExp: boolean;
    /** OAuth authorization servers announced to MCP hosts (RFC 9728); empty: no OAuth discovery. */
    authorizationServers: readonly string[];
  }>;
  corsOrigins: readonly string[];
  mcpUser: string | undefined;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  health: Readonly<{
    /** A database slower than this makes /health say `degraded`. */
    degradedMs: number;
  }>;
  /** When set, GET /metrics requires `Authorization: Bearer <it>`. */
  metricsToken: string | undefined;
  /**
   * WORKER: this process also runs the background worker (jobs/runner.ts: reminders, webhook
   * deliveries); false for web instances of a deploy that runs `npm run worker` apart.
   */
  worker: boolean;
  /** REDIS_URL: relays live answers and stops between instances; optional. */
  redisUrl: string | undefined;
  telemetry: TelemetrySettings;
  /** The IANA zone of users with none of their own (`DEFAULT_TIMEZONE`; time/zone.ts says the order). */
  defaultTimezone: string;
  usage: Readonly<{
    /** Input + output tokens one user may spend per local day; 0: no budget. */
    budgetTokensPerDay: number;
    /** USD per million tokens by model id (`MODEL_PRICES`); undefined: costs are unknown (null). */
    prices: Readonly<Record<string, ModelPrice>> | undefined;
  }>;
  /** Where webhooks may point (webhooks/target.ts). */
  webhooks: Readonly<{
    /** `WEBHOOK_ALLOW_PRIVATE`: loopback and private addresses are allowed (tests, local development). */
    allowPrivate: boolean;
    /** NODE_ENV=production: webhook URLs must be https. */
    httpsOnly: boolean;
  }>;
}>;

/** One model's prices in USD per million tokens; cached input costs the input price unless given. */
export type ModelPrice = Readonly<{
  inputPerMTok: number;
  outputPerMTok: number;
  cachedInputPerMTok?: number;
}>;

/** OpenTelemetry trace export, from the standard `OTEL_*` variables. */
export type TelemetrySettings = Readonly<{
  /** False: no tracer is built and no span is made. */
  tracing: boolean;
  serviceName: string;
  resourceAttributes: Readonly<Record<string, string>>;
  sampler: Readonly<{ name: SamplerName; ratio: number }>;
  otlp: Readonly<{
    /** The full traces URL (`.../v1/traces`). */
    url: string;
    protocol: 'http/protobuf' | 'http/json';
    /** Often carries a vendor's API key: a secret. */
    headers: Readonly<Record<string, string>>;
    timeoutMs: number;
    compression: 'gzip' | 'none';
  }>;
}>;

export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

/** Start-up refused: `message` is the one line to print. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_OPENAI_MODEL = 'gpt-5-mini';
export const DEFAULT_PGLITE_DIR = './.data/pglite';

const int = (name: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be between ${min} and ${max}`);

const price = z.number().finite().nonnegative();
const ModelPrices = z.record(
  z.string().min(1),
  z.strictObject({ inputPerMTok: price, outputPerMTok: price, cachedInputPerMTok: price.optional() }),
);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const optionalText = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

const httpUrl = (name: string) =>
  optionalText.refine(
    (s) => s === undefined || /^https?:\/\/[^\s]+$/.test(s),
    `${name} must be an http(s) URL`,
  );

const flag = (name: string) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((s) => s === 'true' || s === 'false', `${name} must be true or false`)
    .transform((s) => s === 'true');

const Env = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: int('PORT', 0, 65535).default(3000),
  HOST: z.string().trim().min(1, 'HOST must not be empty').default('127.0.0.1'),
  DATABASE_URL: optionalText,
  DATABASE_URL_UNPOOLED: optionalText,
  DB_DRIVER: z
    .enum(['auto', 'neon', 'neon-http', 'pg', 'pglite'], {
      error: 'DB_DRIVER must be one of auto, neon, neon-http, pg, pglite',
    })
    .default('auto'),
  NEON_WS_PROXY: optionalText.refine(
    (s) => s === undefined || /^[\w.-]+:\d+$/.test(s),
    'NEON_WS_PROXY must be host:port',
  ),
  DB_POOL_MAX: int('DB_POOL_MAX', 1, 1000).default(10),
  DB_QUEUE_MAX: int('DB_QUEUE_MAX', 0, 1_000_000).default(2000),
  DB_QUEUE_TIMEOUT_MS: int('DB_QUEUE_TIMEOUT_MS', 100, 600_000).default(10_000),
  DB_CONNECT_TIMEOUT_MS: int('DB_CONNECT_TIMEOUT_MS', 100, 120_000).default(5000),
  DB_STATEMENT_TIMEOUT_MS: int('DB_STATEMENT_TIMEOUT_MS', 100, 600_000).default(10_000),
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: httpUrl('OPENAI_BASE_URL'),
  OPENAI_API: z.enum(['responses', 'chat'], { error: 'OPENAI_API must be responses or chat' }).optional(),
  CHAT_MODEL: optionalText,
  MODEL_TIMEOUT_MS: int('MODEL_TIMEOUT_MS', 100, 3_600_000).default(60_000),
  MAX_STEPS: int('MAX_STEPS', 1, 50).default(8),
  MAX_TOOL_CALLS: int('MAX_TOOL_CALLS', 1, 500).default(20),
  MODEL_MAX_RETRIES: int('MODEL_MAX_RETRIES', 0, 10).default(2),
  MODEL_STREAM_BATCH_MS: int('MODEL_STREAM_BATCH_MS', 0, 1000).default(50),
  HISTORY_MESSAGES: int('HISTORY_MESSAGES', 2, 1000).default(40),
  MAX_BODY_BYTES: int('MAX_BODY_BYTES', 256, 10_485_760).default(65_536),
  MAX_MESSAGE_CHARS: int('MAX_MESSAGE_CHARS', 1, 1_000_000).default(8000),
  RATE_LIMIT_TURNS_PER_MINUTE: int('RATE_LIMIT_TURNS_PER_MINUTE', 0, 100_000).default(30),
  DEFAULT_TIMEZONE: optionalText.refine(
    (s) => s === undefined || canonicalZone(s) !== undefined,
    'DEFAULT_TIMEZONE must be an IANA time zone name, e.g. Europe/Paris',
  ),
  USAGE_BUDGET_TOKENS_PER_DAY: int('USAGE_BUDGET_TOKENS_PER_DAY', 0, 1_000_000_000_000).default(0),
  MODEL_PRICES: optionalText.transform((s, ctx) => {
    if (s === undefined) return undefined;
    const parsed = ModelPrices.safeParse(parseJson(s));
    if (parsed.success) return parsed.data;
    ctx.addIssue({
      code: 'custom',
      message:
        'MODEL_PRICES must be JSON like {"<model id>": {"inputPerMTok": 0.25, "outputPerMTok": 2, "cachedInputPerMTok": 0.025}} (non-negative numbers)',
    });
    return z.NEVER;
  }),
  WEBHOOK_ALLOW_PRIVATE: flag('WEBHOOK_ALLOW_PRIVATE').default(false),
  TURN_LEASE_MS: int('TURN_LEASE_MS', 1000, 3_600_000).optional(),
  APPROVAL_POLICY: z
    .enum(['destructive', 'writes', 'none'], { error: 'APPROVAL_POLICY must be destructive, writes or none' })
    .default('destructive'),
  APPROVAL_TTL_HOURS: int('APPROVAL_TTL_HOURS', 1, 8760).default(24),
  CORS_ORIGINS: optionalText,
  TASKCHAT_USER: optionalText,
  AUTH_MODE: z.enum(['jwt', 'dev'], { error: 'AUTH_MODE must be jwt or dev' }).optional(),
  AUTH_JWT_SECRET: optionalText.refine(
    (s) => s === undefined || s.length >= 32,
    'AUTH_JWT_SECRET must be at least 32 characters',
  ),
  AUTH_JWKS_URL: httpUrl('AUTH_JWKS_URL'),
  AUTH_JWT_ISSUER: optionalText,
  AUTH_JWT_AUDIENCE: optionalText,
  AUTH_JWT_REQUIRE_EXP: flag('AUTH_JWT_REQUIRE_EXP').default(true),
  AUTH_AUTHORIZATION_SERVERS: optionalText,
  PUBLIC_URL: httpUrl('PUBLIC_URL'),
  LOG_LEVEL: z
    .enum(['debug', 'info', 'warn', 'error', 'silent'], {
      error: 'LOG_LEVEL must be one of debug, info, warn, error, silent',
    })
    .default('info'),
  // Below PING_TIMEOUT (1500 ms in src/health/routes.ts), past which the database counts as down.
  HEALTH_DEGRADED_MS: int('HEALTH_DEGRADED_MS', 1, 1499).default(250),
  WORKER: flag('WORKER').default(true),
  REDIS_URL: optionalText.refine((s) => {
    if (s === undefined) return true;
    try {
      return ['redis:', 'rediss:'].includes(new URL(s).protocol);
    } catch {
      return false;
    }
  }, 'REDIS_URL must be a redis:// or rediss:// URL'),
  METRICS_TOKEN: optionalText.refine(
    (s) => s === undefined || /^[\x21-\x7e]{16,}$/.test(s),
    'METRICS_TOKEN must be at least 16 printable ASCII characters without spaces',
  ),
  // The OpenTelemetry SDK's own environment variables (opentelemetry.io/docs/specs/otel/configuration).
  OTEL_SDK_DISABLED: optionalText,
  OTEL_TRACES_EXPORTER: optionalText,
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'),
  OTEL_EXPORTER_OTLP_PROTOCOL: optionalText,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: optionalText,
  OTEL_EXPORTER_OTLP_HEADERS: optionalText,
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: optionalText,
  OTEL_EXPORTER_OTLP_TIMEOUT: int('OTEL_EXPORTER_OTLP_TIMEOUT', 1, 600_000).optional(),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: int('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 1, 600_000).optional(),
  OTEL_EXPORTER_OTLP_COMPRESSION: optionalText,
  OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: optionalText,
  OTEL_SERVICE_NAME: optionalText,
  OTEL_RESOURCE_ATTRIBUTES: optionalText,
  OTEL_TRACES_SAMPLER: optionalText,
  OTEL_TRACES_SAMPLER_ARG: optionalText,
});

type Env = z.infer<typeof Env>;

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '']);

export function isLocalHost(host: string): boolean {
  return LOCAL_HOSTS.has(host) || host.startsWith('127.') || host.startsWith('/');
}

export function isNeonHost(host: string): boolean {
  return /\.neon\.(tech|build)$/i.test(host);
}

/** Parse the environment. Throws `ConfigError` with a one-line message on the first problem. */
export function loadConfig(source: Record<string, string | undefined>): Config {
  const parsed = Env.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    const message = issue?.message ?? 'invalid';
    // Messages produced by our own refinements already start with the variable's name.
    throw new ConfigError(message.startsWith(name) ? message : `${name}: ${message}`);
  }
  const env = parsed.data;
  const config: Config = {
    nodeEnv: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    publicUrl: publicUrl(env),
    publicUrlGiven: env.PUBLIC_URL !== undefined,
    db: databaseSettings(env),
    model: modelSettings(env),
    chat: {
      historyMessages: env.HISTORY_MESSAGES,
      maxBodyBytes: env.MAX_BODY_BYTES,
      maxMessageChars: env.MAX_MESSAGE_CHARS,
      rateLimitPerMinute: env.RATE_LIMIT_TURNS_PER_MINUTE,
      // A turn's lease outlives the longest legitimate turn, so only a dead process's lease expires.
      leaseMs: env.TURN_LEASE_MS ?? env.MODEL_TIMEOUT_MS + 30_000,
      approvalPolicy: env.APPROVAL_POLICY,
      approvalTtlMs: env.APPROVAL_TTL_HOURS * 3_600_000,
    },
    auth: authSettings(env),
    corsOrigins: env.CORS_ORIGINS
      ? env.CORS_ORIGINS.split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [],
    mcpUser: env.TASKCHAT_USER,
    logLevel: env.LOG_LEVEL,
    health: { degradedMs: env.HEALTH_DEGRADED_MS },
    metricsToken: env.METRICS_TOKEN,
    worker: env.WORKER,
    redisUrl: env.REDIS_URL,
    telemetry: telemetrySettings(env),
    defaultTimezone: canonicalZone(env.DEFAULT_TIMEZONE ?? 'UTC') ?? 'UTC',
    usage: { budgetTokensPerDay: env.USAGE_BUDGET_TOKENS_PER_DAY, prices: env.MODEL_PRICES },
    webhooks: { allowPrivate: env.WEBHOOK_ALLOW_PRIVATE, httpsOnly: env.NODE_ENV === 'production' },
  };
  return deepFreeze(config);
}

function databaseSettings(env: Env): Config['db'] {
  const common = {
    neonWsProxy: env.NEON_WS_PROXY,
    poolMax: env.DB_POOL_MAX,
    queueMax: env.DB_QUEUE_MAX,
    queueTimeoutMs: env.DB_QUEUE_TIMEOUT_MS,
    connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
  };
  const url = env.DATABASE_URL;
  if (url === undefined || url.startsWith('pglite://')) {
    if (env.DB_DRIVER !== 'auto' && env.DB_DRIVER !== 'pglite') {
      throw new ConfigError(`DATABASE_URL is required when DB_DRIVER=${env.DB_DRIVER}`);
    }
    const location = url === undefined ? DEFAULT_PGLITE_DIR : url.slice('pglite://'.length);
    if (location === '') throw new ConfigError('DATABASE_URL: pglite:// needs "memory" or a directory');
    return { driver: 'pglite', url: location, migrationUrl: location, ...common };
  }
  if (env.DB_DRIVER === 'pglite') {
    throw new ConfigError('DB_DRIVER=pglite needs DATABASE_URL unset or pglite://memory or pglite://<dir>');
  }
  const host = checkPostgresUrl('DATABASE_URL', url);
  const migrationUrl = env.DATABASE_URL_UNPOOLED ?? url;
  if (env.DATABASE_URL_UNPOOLED) checkPostgresUrl('DATABASE_URL_UNPOOLED', env.DATABASE_URL_UNPOOLED);
  const driver = env.DB_DRIVER === 'auto' ? (isNeonHost(host) ? 'neon' : 'pg') : env.DB_DRIVER;
  if (env.NEON_WS_PROXY && !isLocalHost(env.NEON_WS_PROXY.replace(/:\d+$/, ''))) {
    // The proxy speaks plain ws://, so it is only for a proxy on this machine.
    throw new ConfigError('NEON_WS_PROXY must be on this machine (localhost/127.0.0.1): it is not encrypted');
  }
  return { driver, url, migrationUrl, ...common };
}

/** Validates a postgres:// URL and refuses plaintext to a remote host. Returns the host. */
function checkPostgresUrl(name: string, value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(`${name} must start with postgres:// or postgresql:// (or pglite://)`);
  }
  const host = decodeURIComponent(parsed.hostname);
  if (host === '') throw new ConfigError(`${name} has no host`);
  const sslmode = parsed.searchParams.get('sslmode');
  if (!isLocalHost(host) && sslmode !== null && ['disable', 'allow', 'prefer'].includes(sslmode)) {
    throw new ConfigError(
      `${name}: sslmode=${sslmode} to a remote host is refused; use sslmode=require or verify-full`,
    );
  }
  return host;
}

function modelSettings(env: Env): Config['model'] {
  const id = env.CHAT_MODEL ?? (env.OPENAI_API_KEY ? DEFAULT_OPENAI_MODEL : 'offline');
  if (id !== 'offline' && !env.OPENAI_API_KEY && !env.OPENAI_BASE_URL) {
    throw new ConfigError(`OPENAI_API_KEY is required for CHAT_MODEL=${id} (or set CHAT_MODEL=offline)`);
  }
  return {
    id,
    apiKey: env.OPENAI_API_KEY,
    baseURL: env.OPENAI_BASE_URL,
    api: env.OPENAI_API ?? (env.OPENAI_BASE_URL ? 'chat' : 'responses'),
    timeoutMs: env.MODEL_TIMEOUT_MS,
    maxSteps: env.MAX_STEPS,
    maxToolCalls: env.MAX_TOOL_CALLS,
    maxRetries: env.MODEL_MAX_RETRIES,
    streamBatchMs: env.MODEL_STREAM_BATCH_MS,
    telemetry: { isEnabled: true, recordInputs: false, recordOutputs: false, functionId: 'taskchat.turn' },
  };
}

function authSettings(env: Env): Config['auth'] {
  const mode = env.AUTH_MODE ?? (env.AUTH_JWT_SECRET || env.AUTH_JWKS_URL ? 'jwt' : 'dev');
  if (mode === 'dev' && env.NODE_ENV === 'production') {
    // Dev mode is only the default here: say what is missing, not what nobody asked for.
    throw new ConfigError(
      env.AUTH_MODE === 'dev'
        ? 'AUTH_MODE=dev is refused when NODE_ENV=production; set AUTH_JWT_SECRET or AUTH_JWKS_URL'
        : 'NODE_ENV=production needs authentication: set AUTH_JWT_SECRET (HS256 tokens) or AUTH_JWKS_URL (your identity provider)',
    );
  }
  if (mode === 'jwt' && !env.AUTH_JWT_SECRET && !env.AUTH_JWKS_URL) {
    throw new ConfigError('AUTH_MODE=jwt needs AUTH_JWT_SECRET or AUTH_JWKS_URL');
  }
  return {
    mode,
    jwtSecret: env.AUTH_JWT_SECRET,
    jwksUrl: env.AUTH_JWKS_URL,
    issuer: env.AUTH_JWT_ISSUER,
    audience: env.AUTH_JWT_AUDIENCE,
    requireExp: env.AUTH_JWT_REQUIRE_EXP,
    authorizationServers: authorizationServers(env),
  };
}

/**
 * PUBLIC_URL names this server to the outside (OAuth resource id, own origin); by default where it
 * listens. Only a scheme, host, port and optional path prefix: a query or fragment cannot be part
 * of a base URL, and a trailing slash would make `${publicUrl}/mcp` differ from what hosts compute.
 */
function publicUrl(env: Env): string {
  if (env.PUBLIC_URL === undefined) {
    const host = env.HOST.includes(':') && !env.HOST.startsWith('[') ? `[${env.HOST}]` : env.HOST;
    return `http://${host}:${env.PORT}`;
  }
  const url = parseUrl('PUBLIC_URL', env.PUBLIC_URL);
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError('PUBLIC_URL must be a base URL: scheme, host, port and path only');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Issuer URLs exactly as the authorization servers state them (clients compare them to `issuer`). */
function authorizationServers(env: Env): readonly string[] {
  if (env.AUTH_AUTHORIZATION_SERVERS !== undefined) {
    const list = env.AUTH_AUTHORIZATION_SERVERS.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const issuer of list) {
      const url = parseUrl('AUTH_AUTHORIZATION_SERVERS', issuer);
      if (url.search || url.hash) {
        throw new ConfigError('AUTH_AUTHORIZATION_SERVERS: an issuer URL has no query or fragment');
      }
    }
    return list;
  }
  // An issuer that is not a URL (some setups use a plain name) cannot be discovered by a client.
  const issuer = env.AUTH_JWT_ISSUER;
  return issuer !== undefined && /^https?:\/\/[^\s]+$/.test(issuer) ? [issuer] : [];
}

function parseUrl(name: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an http(s) URL`);
  }
  return url;
}

const SAMPLERS: readonly SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

/**
 * Traces are off unless one of the standard variables asks for them: an OTLP endpoint, an exporter,
 * or a service name (which then exports to the OTLP default, http://localhost:4318). The exporter
 * library still reads the TLS certificate variables (`OTEL_EXPORTER_OTLP_CERTIFICATE`...) itself.
 */
function telemetrySettings(env: Env): TelemetrySettings {
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const name of exporters) {
    if (name !== 'otlp' && name !== 'none') {
      throw new ConfigError(`OTEL_TRACES_EXPORTER must be otlp or none (${name} is not built in)`);
    }
  }
  const asked =
    exporters.includes('otlp') ||
    (exporters.length === 0 &&
      [env.OTEL_EXPORTER_OTLP_ENDPOINT, env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, env.OTEL_SERVICE_NAME].some(
        (v) => v !== undefined,
      ));
  const disabled = env.OTEL_SDK_DISABLED?.toLowerCase() === 'true';

  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    'http/protobuf'
  )
    .trim()
    .toLowerCase();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    const name = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
      ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
      : 'OTEL_EXPORTER_OTLP_PROTOCOL';
    throw new ConfigError(`${name} must be http/protobuf or http/json (grpc is not built in)`);
  }
  const compression = (
    env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ??
    env.OTEL_EXPORTER_OTLP_COMPRESSION ??
    'none'
  )
    .trim()
    .toLowerCase();
  if (compression !== 'gzip' && compression !== 'none') {
    throw new ConfigError('OTEL_EXPORTER_OTLP_COMPRESSION must be gzip or none');
  }
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318';
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${base.replace(/\/+$/, '')}/v1/traces`;

  const resourceAttributes = keyValues('OTEL_RESOURCE_ATTRIBUTES', env.OTEL_RESOURCE_ATTRIBUTES);
  const samplerName = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  if (!(SAMPLERS as readonly string[]).includes(samplerName)) {
    throw new ConfigError(`OTEL_TRACES_SAMPLER must be one of ${SAMPLERS.join(', ')}`);
  }
  const ratio = env.OTEL_TRACES_SAMPLER_ARG === undefined ? 1 : Number(env.OTEL_TRACES_SAMPLER_ARG);
  if (!(ratio >= 0 && ratio <= 1)) {
    throw new ConfigError('OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1');
  }
  return {
    tracing: asked && !disabled,
    serviceName: env.OTEL_SERVICE_NAME ?? resourceAttributes['service.name'] ?? 'taskchat',
    resourceAttributes,
    sampler: { name: samplerName as SamplerName, ratio },
    otlp: {
      url,
      protocol,
      headers: {
        ...keyValues('OTEL_EXPORTER_OTLP_HEADERS', env.OTEL_EXPORTER_OTLP_HEADERS),
        ...keyValues('OTEL_EXPORTER_OTLP_TRACES_HEADERS', env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
      },
      timeoutMs: env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000,
      compression,
    },
  };
}

/** The OTEL_* list format: `key1=value1,key2=value2`, values percent-encoded. Never echoes a value. */
function keyValues(name: string, value: string | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (value === undefined) return result;
  for (const pair of value.split(',')) {
    if (pair.trim() === '') continue;
    const at = pair.indexOf('=');
    const key = pair.slice(0, Math.max(0, at)).trim();
    if (at < 1 || key === '') throw new ConfigError(`${name} must be a list of key=value pairs`);
    try {
      result[key] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      throw new ConfigError(`${name}: the value of ${key} is not valid percent-encoding`);
    }
  }
  return result;
}

/** Hides the password of a URL; leaves everything else readable. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return value.includes('@') ? '***' : value;
  }
}

/** The config as it may be printed: no password, key or secret in it. */
export function redactConfig(config: Config): Record<string, unknown> {
  const hidden = (v: string | undefined) => (v === undefined ? undefined : '***');
  return {
    ...config,
    db: { ...config.db, url: redactUrl(config.db.url), migrationUrl: redactUrl(config.db.migrationUrl) },
    model: { ...config.model, apiKey: hidden(config.model.apiKey) },
    auth: { ...config.auth, jwtSecret: hidden(config.auth.jwtSecret) },
    metricsToken: hidden(config.metricsToken),
    redisUrl: config.redisUrl === undefined ? undefined : redactUrl(config.redisUrl),
    telemetry: {
      ...config.telemetry,
      otlp: {
        ...config.telemetry.otlp,
        url: redactUrl(config.telemetry.otlp.url),
        headers: Object.fromEntries(Object.keys(config.telemetry.otlp.headers).map((k) => [k, '***'])),
      },
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
