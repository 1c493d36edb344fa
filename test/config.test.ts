import { describe, expect, it } from 'vitest';
import { loadConfig, redactConfig } from '../src/config.ts';
import { configError } from './support/config-error.ts';

describe('configuration', () => {
  it('defaults to embedded Postgres, the offline model and dev auth with no environment', () => {
    const config = loadConfig({});
    expect(config.db).toMatchObject({ driver: 'pglite', url: './.data/pglite' });
    expect(config.model.id).toBe('offline');
    expect(config.auth.mode).toBe('dev');
    expect(config).toMatchObject({ host: '127.0.0.1', port: 3000 });
    expect(config.chat).toMatchObject({ historyMessages: 40, maxBodyBytes: 65536, maxMessageChars: 8000 });
    expect(Object.isFrozen(config) && Object.isFrozen(config.db)).toBe(true);
  });

  it('picks the driver from the URL', () => {
    expect(loadConfig({ DATABASE_URL: 'pglite://memory' }).db).toMatchObject({
      driver: 'pglite',
      url: 'memory',
    });
    expect(loadConfig({ DATABASE_URL: 'postgres://u@127.0.0.1/db' }).db.driver).toBe('pg');
    const neon = loadConfig({
      DATABASE_URL: 'postgresql://u:p@ep-cool-1-pooler.eu-central-1.aws.neon.tech/db?sslmode=require',
      DATABASE_URL_UNPOOLED: 'postgresql://u:p@ep-cool-1.eu-central-1.aws.neon.tech/db?sslmode=require',
    }).db;
    expect(neon.driver).toBe('neon');
    expect(neon.migrationUrl).toContain('ep-cool-1.eu-central-1');
    expect(loadConfig({ DATABASE_URL: 'postgres://u@127.0.0.1/db', DB_DRIVER: 'neon-http' }).db.driver).toBe(
      'neon-http',
    );
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be a whole number'],
    [{ PORT: '70000' }, 'PORT must be between 0 and 65535'],
    [{ DB_DRIVER: 'mysql' }, 'DB_DRIVER must be one of auto, neon, neon-http, pg, pglite'],
    [
      { DATABASE_URL: 'mysql://x@y/z' },
      'DATABASE_URL must start with postgres:// or postgresql:// (or pglite://)',
    ],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL is not a valid URL'],
    [{ DB_DRIVER: 'pg' }, 'DATABASE_URL is required when DB_DRIVER=pg'],
    [{ DB_POOL_MAX: '0' }, 'DB_POOL_MAX must be between 1 and 1000'],
    [{ NEON_WS_PROXY: 'nope' }, 'NEON_WS_PROXY must be host:port'],
    [{ OPENAI_API: 'completions' }, 'OPENAI_API must be responses or chat'],
    [{ OPENAI_BASE_URL: 'ftp://x' }, 'OPENAI_BASE_URL must be an http(s) URL'],
    [
      { CHAT_MODEL: 'gpt-5-mini' },
      'OPENAI_API_KEY is required for CHAT_MODEL=gpt-5-mini (or set CHAT_MODEL=offline)',
    ],
    [{ MAX_STEPS: '0' }, 'MAX_STEPS must be between 1 and 50'],
    [{ HISTORY_MESSAGES: 'lots' }, 'HISTORY_MESSAGES must be a whole number'],
    [{ AUTH_MODE: 'basic' }, 'AUTH_MODE must be jwt or dev'],
    [{ AUTH_MODE: 'jwt' }, 'AUTH_MODE=jwt needs AUTH_JWT_SECRET or AUTH_JWKS_URL'],
    [{ AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET must be at least 32 characters'],
    [
      { NODE_ENV: 'production' },
      'NODE_ENV=production needs authentication: set AUTH_JWT_SECRET (HS256 tokens) or AUTH_JWKS_URL (your identity provider)',
    ],
    [
      { NODE_ENV: 'production', AUTH_MODE: 'dev' },
      'AUTH_MODE=dev is refused when NODE_ENV=production; set AUTH_JWT_SECRET or AUTH_JWKS_URL',
    ],
    [{ AUTH_JWT_REQUIRE_EXP: 'yes' }, 'AUTH_JWT_REQUIRE_EXP must be true or false'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of debug, info, warn, error, silent'],
    [
      { DEFAULT_TIMEZONE: 'Mars/Olympus' },
      'DEFAULT_TIMEZONE must be an IANA time zone name, e.g. Europe/Paris',
    ],
    [
      { USAGE_BUDGET_TOKENS_PER_DAY: '-1' },
      'USAGE_BUDGET_TOKENS_PER_DAY must be between 0 and 1000000000000',
    ],
    ...[
      'not json',
      '{"gpt-5-mini": {"inputPerMTok": 1}}',
      '{"m": {"inputPerMTok": -1, "outputPerMTok": 1}}',
    ].map((prices): [Record<string, string>, string] => [
      { MODEL_PRICES: prices },
      'MODEL_PRICES must be JSON like {"<model id>": {"inputPerMTok": 0.25, "outputPerMTok": 2, "cachedInputPerMTok": 0.025}} (non-negative numbers)',
    ]),
  ])('%o stops start-up with: %s', (env, message) => {
    expect(configError(env)).toBe(message);
  });

  it('refuses plaintext to a remote host and allows it locally', () => {
    expect(configError({ DATABASE_URL: 'postgres://u:secret@db.example.com/app?sslmode=disable' })).toBe(
      'DATABASE_URL: sslmode=disable to a remote host is refused; use sslmode=require or verify-full',
    );
    expect(
      configError({
        DATABASE_URL: 'postgres://u@127.0.0.1/app',
        DATABASE_URL_UNPOOLED: 'postgres://u:secret@db.example.com/app?sslmode=prefer',
      }),
    ).toContain('DATABASE_URL_UNPOOLED: sslmode=prefer');
    expect(loadConfig({ DATABASE_URL: 'postgres://u@localhost/app?sslmode=disable' }).db.driver).toBe('pg');
    expect(
      configError({ DATABASE_URL: 'postgres://u@db.example.com/app', NEON_WS_PROXY: 'proxy.example.com:80' }),
    ).toContain('NEON_WS_PROXY must be on this machine');
  });

  it('never puts a secret in an error message', () => {
    const message = configError({
      DATABASE_URL: 'postgres://u:hunter2hunter2@db.example.com/app?sslmode=disable',
    });
    expect(message).not.toContain('hunter2');
  });

  it('prints a redacted form without passwords, keys or secrets', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://app:pa55word@db.example.com/app?sslmode=require',
      OPENAI_API_KEY: 'sk-test-abcdef',
      AUTH_JWT_SECRET: 'a-very-long-shared-secret-of-32-chars!',
    });
    const printed = JSON.stringify(redactConfig(config));
    expect(printed).not.toMatch(/pa55word|sk-test-abcdef|a-very-long-shared-secret/);
    expect(printed).toContain('db.example.com');
    expect(config.model.id).toBe('gpt-5-mini');
    expect(config.auth.mode).toBe('jwt');
  });
});

describe('PUBLIC_URL and AUTH_AUTHORIZATION_SERVERS', () => {
  it('names the server by where it listens unless PUBLIC_URL says otherwise', () => {
    expect(loadConfig({}).publicUrl).toBe('http://127.0.0.1:3000');
    expect(loadConfig({ HOST: '::1', PORT: '8080' }).publicUrl).toBe('http://[::1]:8080');
    expect(loadConfig({ PUBLIC_URL: 'https://Tasks.Example.com/' }).publicUrl).toBe(
      'https://tasks.example.com',
    );
    expect(loadConfig({ PUBLIC_URL: 'https://example.com:8443/taskchat/' }).publicUrl).toBe(
      'https://example.com:8443/taskchat',
    );
  });

  it.each(['ftp://example.com', 'example.com', 'https://example.com/?x=1', 'https://user:pw@example.com'])(
    'refuses PUBLIC_URL=%s with one line naming it',
    (value) => {
      expect(configError({ PUBLIC_URL: value })).toMatch(/^PUBLIC_URL/);
    },
  );

  it('announces AUTH_AUTHORIZATION_SERVERS, else an AUTH_JWT_ISSUER that is a URL, else none', () => {
    const jwks = { AUTH_JWKS_URL: 'https://auth.example.com/jwks' };
    expect(
      loadConfig({
        ...jwks,
        AUTH_AUTHORIZATION_SERVERS: 'https://a.example.com, https://b.example.com/tenant',
      }).auth.authorizationServers,
    ).toEqual(['https://a.example.com', 'https://b.example.com/tenant']);
    expect(
      loadConfig({ ...jwks, AUTH_JWT_ISSUER: 'https://auth.example.com' }).auth.authorizationServers,
    ).toEqual(['https://auth.example.com']);
    expect(loadConfig({ ...jwks, AUTH_JWT_ISSUER: 'taskchat-issuer' }).auth.authorizationServers).toEqual([]);
    expect(loadConfig(jwks).auth.authorizationServers).toEqual([]);
    expect(configError({ ...jwks, AUTH_AUTHORIZATION_SERVERS: 'not a url' })).toMatch(
      /^AUTH_AUTHORIZATION_SERVERS/,
    );
  });
});
