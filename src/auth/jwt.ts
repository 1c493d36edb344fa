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
 *   have none). A token without `exp` is accepted: whether tokens expire is the issuer's policy
 *   (Better Auth's always do), and `iss`/`aud` pin which issuer we trust.
 * - The user id is `sub`: a non-empty string of at most 255 characters with no control characters.
 * - `typ`, when present, is `JWT` or `at+jwt` (RFC 9068 access tokens from OAuth servers).
 * - The scopes are the space-separated `scope` claim (RFC 9068); no claim means none were issued
 *   (auth/scopes.ts gives such tokens full access), a claim that is not a string is refused.
 *
 * Every failure is one `InvalidToken`; its `problem` only tells expired tokens and an unreachable
 * JWKS apart (for the client's message and the operator's log). Nothing here echoes the token.
 */
import { decode, verify, verifyWithJwks } from 'hono/jwt';
import type { AsymmetricAlgorithm } from 'hono/utils/jwt/jwa';
import type { JWTPayload } from 'hono/utils/jwt/types';
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

export type TokenProblem = 'invalid' | 'expired' | 'jwks_unavailable';

export class InvalidToken extends Error {
  override name = 'InvalidToken';
  readonly problem: TokenProblem;
  constructor(problem: TokenProblem, options?: ErrorOptions) {
    super(`token rejected: ${problem}`, options);
    this.problem = problem;
  }
}

/** Resolves to the token's user id (`sub`), or rejects with `InvalidToken`. */
export type Verifier = (token: string) => Promise<string>;

export type VerifiedToken = {
  userId: string;
  /** The token's `scope` claim, split; undefined when it has none. */
  scopes: readonly string[] | undefined;
};

/** Resolves to who the token names and what it allows, or rejects with `InvalidToken`. */
export type TokenVerifier = (token: string) => Promise<VerifiedToken>;

export type VerifierOptions = { jwks?: KeySetOptions };

export function createVerifier(auth: Config['auth'], options: VerifierOptions = {}): Verifier {
  const verify = createTokenVerifier(auth, options);
  return async (token) => (await verify(token)).userId;
}

export function createTokenVerifier(auth: Config['auth'], options: VerifierOptions = {}): TokenVerifier {
  const secret = auth.jwtSecret ? importHmacKey(auth.jwtSecret) : undefined;
  const keySet = auth.jwksUrl ? createKeySet(auth.jwksUrl, options.jwks) : undefined;
  // Time claims are checked below, with skew; Hono checks iss, aud, the header and the signature.
  const claimChecks = { iss: auth.issuer, aud: auth.audience, exp: false, nbf: false, iat: false };

  const verifySignature = async (token: string): Promise<JWTPayload> => {
    const { alg, kid, typ } = decode(token).header as { alg?: unknown; kid?: unknown; typ?: unknown };
    // A token with no `typ` passes as before; one with a `typ` must be a JWT or an OAuth access
    // token (RFC 9068 `at+jwt`, what authorization servers issue to MCP hosts).
    const checks = { ...claimChecks, typ: typ === undefined ? undefined : TOKEN_TYPES };
    if (alg === 'HS256') {
      if (!secret) throw new InvalidToken('invalid');
      return verify(token, await secret, { alg: 'HS256', ...checks });
    }
    if (!keySet || !ASYMMETRIC.includes(alg as AsymmetricAlgorithm)) throw new InvalidToken('invalid');
    if (typeof kid !== 'string' || kid === '' || kid.length > MAX_KID_LENGTH)
      throw new InvalidToken('invalid');
    const key = await keySet.find(kid);
    if (!key) throw new InvalidToken('invalid');
    return verifyWithJwks(token, { keys: [key], verification: checks, allowedAlgorithms: ASYMMETRIC });
  };

  return async (token) => {
    if (token.length > MAX_TOKEN_LENGTH) throw new InvalidToken('invalid');
    let payload: JWTPayload;
    try {
      payload = await verifySignature(token);
    } catch (error) {
      if (error instanceof InvalidToken) throw error;
      throw new InvalidToken(error instanceof JwksUnavailable ? 'jwks_unavailable' : 'invalid', {
        cause: error,
      });
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
      throw new InvalidToken('invalid');
    checkTimes(payload, Math.floor(Date.now() / 1000));
    return { userId: userIdOf(payload), scopes: scopesOf(payload) };
  };
}

function scopesOf(payload: JWTPayload): readonly string[] | undefined {
  const { scope } = payload;
  if (scope === undefined) return undefined;
  if (typeof scope !== 'string') throw new InvalidToken('invalid');
  return scope.split(' ').filter(Boolean);
}

function checkTimes(payload: JWTPayload, now: number): void {
  const { exp, nbf, iat } = payload;
  if (exp !== undefined) {
    if (!isTime(exp)) throw new InvalidToken('invalid');
    if (now >= exp + CLOCK_SKEW_SECONDS) throw new InvalidToken('expired');
  }
  if (nbf !== undefined && !(isTime(nbf) && nbf <= now + CLOCK_SKEW_SECONDS))
    throw new InvalidToken('invalid');
  if (iat !== undefined && !(isTime(iat) && iat <= now + CLOCK_SKEW_SECONDS))
    throw new InvalidToken('invalid');
}

function userIdOf(payload: JWTPayload): string {
  const { sub } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH || /\p{Cc}/u.test(sub)) {
    throw new InvalidToken('invalid');
  }
  return sub;
}

const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function importHmacKey(secret: string): Promise<CryptoKey> {
  const raw = new TextEncoder().encode(secret);
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
}
