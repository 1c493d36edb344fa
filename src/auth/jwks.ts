/**
 * @module auth/jwks
 * The identity provider's public keys (`AUTH_JWKS_URL`, e.g. Better Auth's `/api/auth/jwks`), held
 * in memory. Hono's `verifyWithJwks` fetches its `jwks_uri` on every call; this module fetches once
 * and fetches again only when the keys are old or a token names a key id we have not seen (the
 * provider rotated its keys).
 *
 * Anyone can put any `kid` in a token, so a refetch for an unknown kid is rate-limited (at most one
 * per `cooldownMs`) and concurrent refetches are coalesced into one request; every fetch has a time
 * limit. If a refetch fails, the keys we already hold keep working: they were genuinely published,
 * and an outage of the provider should not log every user out.
 */
import type { HonoJsonWebKey } from 'hono/utils/jwt/jws';

export type KeySetOptions = {
  /** Keys older than this are fetched again on next use (default 10 minutes). */
  maxAgeMs?: number;
  /** Least time between two fetches, whatever triggers them (default 30 s). */
  cooldownMs?: number;
  /** Time limit of one fetch, body included (default 5 s). */
  timeoutMs?: number;
};

export type KeySet = {
  /** The published verification key with this id, or undefined. Throws `JwksUnavailable`. */
  find(kid: string): Promise<HonoJsonWebKey | undefined>;
};

/** The key set could not be fetched and we hold no key with the wanted id. */
export class JwksUnavailable extends Error {
  override name = 'JwksUnavailable';
}

const MAX_KEYS = 100;
const KEY_TYPES = new Set(['RSA', 'EC', 'OKP']);
const PUBLIC_MEMBERS = ['kty', 'kid', 'alg', 'crv', 'n', 'e', 'x', 'y'] as const;

export function createKeySet(url: string, options: KeySetOptions = {}): KeySet {
  const maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
  const cooldownMs = options.cooldownMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 5000;
  let keys: Map<string, HonoJsonWebKey> | undefined;
  let fetchedAt = 0;
  let attemptedAt: number | undefined;
  let pending: Promise<void> | undefined;

  const refresh = (): Promise<void> => {
    pending ??= (async () => {
      attemptedAt = Date.now();
      try {
        keys = await fetchKeys(url, timeoutMs);
        fetchedAt = Date.now();
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  return {
    async find(kid) {
      const now = Date.now();
      const wanted = keys === undefined || now - fetchedAt >= maxAgeMs || !keys.has(kid);
      const allowed = attemptedAt === undefined || now - attemptedAt >= cooldownMs;
      if (wanted && (pending || allowed)) {
        try {
          await (pending ?? refresh());
        } catch (cause) {
          if (!keys?.has(kid)) throw new JwksUnavailable('The JWKS could not be fetched', { cause });
        }
      }
      return keys?.get(kid);
    },
  };
}

async function fetchKeys(url: string, timeoutMs: number): Promise<Map<string, HonoJsonWebKey>> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/json' },
  });
  if (!res.ok) throw new Error(`JWKS answered HTTP ${res.status}`);
  const list = ((await res.json()) as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error('JWKS has no "keys" array');
  const found = new Map<string, HonoJsonWebKey>();
  for (const entry of list.slice(0, MAX_KEYS)) {
    const key = verificationKey(entry);
    if (key?.kid) found.set(key.kid, key);
  }
  return found;
}

/**
 * Only asymmetric signing keys, and only their public members: a symmetric (`oct`) key in a JWKS
 * would be an algorithm-confusion hazard, and a stray private member would make import fail.
 */
function verificationKey(entry: unknown): HonoJsonWebKey | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const jwk = entry as Record<string, unknown>;
  if (typeof jwk.kid !== 'string' || jwk.kid === '' || !KEY_TYPES.has(String(jwk.kty))) return undefined;
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  const key: Record<string, string> = {};
  for (const name of PUBLIC_MEMBERS) {
    if (typeof jwk[name] === 'string') key[name] = jwk[name];
  }
  return key as HonoJsonWebKey;
}
