/**
 * @module auth/jwt
 * Bearer token verification for `AUTH_MODE=jwt`, on Hono's own JWT utilities: `verify` for HS256
 * tokens signed with `AUTH_JWT_SECRET`, `verifyWithJwks` for asymmetric tokens whose keys come from
 * `AUTH_JWKS_URL` (cached by ./jwks.ts). What this module adds around them:
 *
 * - The algorithm is chosen by us, never trusted from the token: HS256 goes only to the secret
 *   (imported as an HMAC-SHA-256 key, so it cannot be read as anything else), asymmetric algorithms
 *   only to the JWKS, anything else (`none`, HS384/512, unknown) is refused. So an HS256 token
 *   "signed" with a public key never meets that public key.
 * - `exp`, `nbf` and `iat` are checked here with `CLOCK_SKEW_SECONDS` of tolerance (Hono's checks
 *   have none). A token without `exp` is refused unless `AUTH_JWT_REQUIRE_EXP=false`: such a token
 *   is a credential that never ends, and every provider we document (and `npm run token`) sets one.
 * - The user id is `sub`: a non-empty string of at most 255 characters with no control characters.
 * - `typ`, when present, is `JWT` or `at+jwt` (RFC 9068 access tokens from OAuth servers).
 * - The scopes are the space-separated `scope` claim (RFC 9068); no claim means none were issued
 *   (auth/scopes.ts gives such tokens full access), a claim that is not a string is refused.
 *
 * Every failure is one `InvalidToken`; its `problem` tells expired tokens and an unreachable JWKS
 * apart (for the client's answer), and its `reason` says in the operator's words what was wrong
 * (which claim, what we expected), for the log: a refused token is otherwise a mystery when an
 * identity provider is being set up. Neither ever carries the token or its signature; Hono's own
 * error messages do, so they are translated here, never passed on.
 */
import { decode, verify, verifyWithJwks } from 'hono/jwt';
import type { AsymmetricAlgorithm } from 'hono/utils/jwt/jwa';
import type { JWTPayload } from 'hono/utils/jwt/types';
import {
  JwtHeaderInvalid,
  JwtPayloadRequiresAud,
  JwtTokenAudience,
  JwtTokenInvalid,
  JwtTokenIssuer,
  JwtTokenSignatureMismatched,
} from 'hono/utils/jwt/types';
import type { Config } from '../config.ts';
import { createKeySet, JwksUnavailable, type KeySetOptions } from './jwks.ts';

/** Tolerance for clocks that disagree between the issuer and us. */
export const CLOCK_SKEW_SECONDS = 30;
export const MAX_SUB_LENGTH = 255;
const MAX_TOKEN_LENGTH = 8192;
const MAX_KID_LENGTH = 256;

const TOKEN_TYPES = ['JWT', 'at+jwt'];

const ASYMMETRIC: readonly AsymmetricAlgorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

export type TokenProblem = 'invalid' | 'expired' | 'no_expiry' | 'jwks_unavailable';

export class InvalidToken extends Error {
  override name = 'InvalidToken';
  readonly problem: TokenProblem;
  /** What was wrong, for the operator's log: claim names and expected values, never the token. */
  readonly reason: string;
  constructor(problem: TokenProblem, reason: string, options?: ErrorOptions) {
    super(`token rejected: ${reason}`, options);
    this.problem = problem;
    this.reason = reason;
  }
}

/** Resolves to the token's user id (`sub`), or rejects with `InvalidToken`. */
export type Verifier = (token: string) => Promise<string>;

export type VerifiedToken = {
  userId: string;
  /** The token's `scope` claim, split; undefined when it has none. */
  scopes: readonly string[] | undefined;
  /** The OpenID `zoneinfo` claim when it is a string: the user's zone unless they chose one (time/zone.ts). */
  zoneinfo: string | undefined;
};

/** Resolves to who the token names and what it allows, or rejects with `InvalidToken`. */
export type TokenVerifier = (token: string) => Promise<VerifiedToken>;

export type VerifierOptions = {
  jwks?: KeySetOptions;
  /** Where the required audience comes from, when the log should say (an OAuth resource's). */
  audienceSource?: string;
};

export function createVerifier(auth: Config['auth'], options: VerifierOptions = {}): Verifier {
  const verify = createTokenVerifier(auth, options);
  return async (token) => (await verify(token)).userId;
}

export function createTokenVerifier(auth: Config['auth'], options: VerifierOptions = {}): TokenVerifier {
  const secret = auth.jwtSecret ? importHmacKey(auth.jwtSecret) : undefined;
  const keySet = auth.jwksUrl ? createKeySet(auth.jwksUrl, options.jwks) : undefined;
  // Time claims are checked below, with skew; Hono checks iss, aud, the header and the signature.
  const claimChecks = { iss: auth.issuer, aud: auth.audience, exp: false, nbf: false, iat: false };
  const expected = { issuer: auth.issuer, audience: auth.audience, audienceSource: options.audienceSource };

  const verifySignature = async (token: string): Promise<JWTPayload> => {
    const { alg, kid, typ } = decode(token).header as { alg?: unknown; kid?: unknown; typ?: unknown };
    // A token with no `typ` passes as before; one with a `typ` must be a JWT or an OAuth access
    // token (RFC 9068 `at+jwt`, what authorization servers issue to MCP hosts).
    const checks = { ...claimChecks, typ: typ === undefined ? undefined : TOKEN_TYPES };
    if (alg === 'HS256') {
      if (!secret) throw new InvalidToken('invalid', 'alg HS256, but AUTH_JWT_SECRET is not set');
      return verify(token, await secret, { alg: 'HS256', ...checks });
    }
    if (!ASYMMETRIC.includes(alg as AsymmetricAlgorithm)) {
      throw new InvalidToken('invalid', `alg ${quoted(alg)} is not accepted`);
    }
    if (!keySet) throw new InvalidToken('invalid', `alg ${quoted(alg)}, but AUTH_JWKS_URL is not set`);
    if (typeof kid !== 'string' || kid === '' || kid.length > MAX_KID_LENGTH)
      throw new InvalidToken('invalid', 'no usable kid in the header');
    const key = await keySet.find(kid);
    if (!key) throw new InvalidToken('invalid', `kid ${quoted(kid)} is not in the JWKS`);
    return verifyWithJwks(token, { keys: [key], verification: checks, allowedAlgorithms: ASYMMETRIC });
  };

  return async (token) => {
    if (token.length > MAX_TOKEN_LENGTH) throw new InvalidToken('invalid', 'longer than 8192 characters');
    let payload: JWTPayload;
    try {
      payload = await verifySignature(token);
    } catch (error) {
      if (error instanceof InvalidToken) throw error;
      if (error instanceof JwksUnavailable) {
        throw new InvalidToken('jwks_unavailable', 'the JWKS could not be fetched', { cause: error });
      }
      throw new InvalidToken('invalid', reasonFor(error, token, expected), { cause: error });
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
      throw new InvalidToken('invalid', 'the payload is not a JSON object');
    checkTimes(payload, Math.floor(Date.now() / 1000), auth.requireExp);
    return {
      userId: userIdOf(payload),
      scopes: scopesOf(payload),
      zoneinfo: typeof payload.zoneinfo === 'string' ? payload.zoneinfo : undefined,
    };
  };
}

type Expected = {
  issuer: string | undefined;
  audience: string | undefined;
  audienceSource?: string | undefined;
};

/** Hono's verification errors in our words. Their messages carry the token: never pass them on. */
function reasonFor(error: unknown, token: string, expected: Expected): string {
  if (error instanceof JwtTokenSignatureMismatched) return 'the signature does not match';
  if (error instanceof JwtHeaderInvalid) return 'the header typ is not JWT or at+jwt';
  const claims = claimsOf(token);
  if (error instanceof JwtTokenIssuer) {
    return `iss ${quoted(claims.iss)} is not AUTH_JWT_ISSUER ${quoted(expected.issuer)}`;
  }
  if (error instanceof JwtTokenAudience || error instanceof JwtPayloadRequiresAud) {
    const source = expected.audienceSource ? ` (${expected.audienceSource})` : ' (AUTH_JWT_AUDIENCE)';
    return `aud ${quoted(claims.aud)} does not include ${quoted(expected.audience)}${source}`;
  }
  if (error instanceof JwtTokenInvalid) return 'not a well-formed JWT';
  if (error instanceof Error && error.name.startsWith('JwtAlgorithm')) return 'alg does not match the key';
  return error instanceof Error && error.name.startsWith('Jwt') ? error.name : 'not a well-formed JWT';
}

/** The unverified payload, only to say which claim was wrong. */
function claimsOf(token: string): Record<string, unknown> {
  try {
    const { payload } = decode(token);
    return typeof payload === 'object' && payload !== null ? payload : {};
  } catch {
    return {};
  }
}

/** A claim value for the log: JSON, cut short (a claim is the sender's text, not ours). */
function quoted(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function scopesOf(payload: JWTPayload): readonly string[] | undefined {
  const { scope } = payload;
  if (scope === undefined) return undefined;
  if (typeof scope !== 'string') throw new InvalidToken('invalid', 'the scope claim is not a string');
  return scope.split(' ').filter(Boolean);
}

function checkTimes(payload: JWTPayload, now: number, requireExp: boolean): void {
  const { exp, nbf, iat } = payload;
  if (exp === undefined && requireExp) {
    throw new InvalidToken('no_expiry', 'no exp claim (AUTH_JWT_REQUIRE_EXP is true)');
  }
  if (exp !== undefined) {
    if (!isTime(exp)) throw new InvalidToken('invalid', 'exp is not a number');
    if (now >= exp + CLOCK_SKEW_SECONDS) {
      throw new InvalidToken('expired', `expired ${now - exp} s ago (exp ${exp})`);
    }
  }
  if (nbf !== undefined && !(isTime(nbf) && nbf <= now + CLOCK_SKEW_SECONDS))
    throw new InvalidToken('invalid', `nbf ${quoted(nbf)} is in the future`);
  if (iat !== undefined && !(isTime(iat) && iat <= now + CLOCK_SKEW_SECONDS))
    throw new InvalidToken('invalid', `iat ${quoted(iat)} is in the future`);
}

function userIdOf(payload: JWTPayload): string {
  const { sub } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH || /\p{Cc}/u.test(sub)) {
    throw new InvalidToken('invalid', 'sub is missing, empty, too long or holds control characters');
  }
  return sub;
}

const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function importHmacKey(secret: string): Promise<CryptoKey> {
  const raw = new TextEncoder().encode(secret);
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
}
