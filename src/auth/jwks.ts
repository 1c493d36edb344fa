/**
 * @module auth/jwks
 * The identity provider's public keys (`AUTH_JWKS_URL`, e.g. Better Auth's `/api/auth/jwks`), held
 * in memory. Hono's `verifyWithJwks` fetches its `jwks_uri` on every call; this module fetches once
 * and fetches again only when the keys are old or a token names a key id we have not seen (the
 * provider rotated its keys; Better Auth creates the new key at the moment it signs with it, so the
 * first token of a new key can arrive a moment after our last fetch).
 *
 * Anyone can put any `kid` in a token, so fetches are spaced: at most one per `minIntervalMs`
 * (1 s), whatever asks for them, and concurrent askers share one request. A token whose key is
 * unknown and arrives inside that second waits for the next allowed fetch instead of being
 * refused, so a just-rotated key is accepted at once, while a flood of random kids costs the
 * provider at most one request per second per instance. Every fetch has a time limit.
 *
 * If a fetch fails, the keys we already hold keep working: they were genuinely published, and an
 * outage of the provider should not log every user out. A key we do not hold then cannot be
 * checked at all: `JwksUnavailable`, which the middleware answers with 503, not 401 (the token may
 * well be genuine). Until the next allowed attempt such tokens are answered at once, without
 * waiting for a provider that just failed.
 */
import type { HonoJsonWebKey } from 'hono/utils/jwt/jws';

export type KeySetOptions = {
  /** Keys older than this are fetched again on next use (default 10 minutes). */
  maxAgeMs?: number;
  /** Least time between two fetches, whatever triggers them (default 1 s). */
  minIntervalMs?: number;
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
  const minIntervalMs = options.minIntervalMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 5000;
  let keys: Map<string, HonoJsonWebKey> | undefined;
  let fetchedAt = 0;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let lastFailure: unknown;
  // The one fetch under way or scheduled; every asker awaits it. It never rejects: the outcome
  // is in `keys` / `lastFailure`.
  let next: Promise<void> | undefined;

  const fetchNow = async (): Promise<void> => {
    attemptedAt = Date.now();
    try {
      keys = await fetchKeys(url, timeoutMs);
      fetchedAt = Date.now();
      lastFailure = undefined;
    } catch (error) {
      lastFailure = error;
    }
  };

  /** The next fetch: now if the last attempt is far enough behind, else as soon as it is. */
  const refresh = (): Promise<void> => {
    next ??= (async () => {
      const wait = attemptedAt + minIntervalMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await fetchNow();
    })().finally(() => {
      next = undefined;
    });
    return next;
  };

  return {
    async find(kid) {
      const held = keys?.get(kid);
      const stale = keys === undefined || Date.now() - fetchedAt >= maxAgeMs;
      if (held && !stale) return held;
      const spaced = Date.now() - attemptedAt >= minIntervalMs;
      // The provider failed a moment ago: no waiting on it; what we hold still works.
      if (lastFailure !== undefined && !spaced && !next) {
        if (held) return held;
        throw new JwksUnavailable('The JWKS could not be fetched', { cause: lastFailure });
      }
      // Old keys are re-read when allowed (a withdrawn key stops working), never waited for.
      if (held && !spaced && !next) return held;
      await refresh();
      const found = keys?.get(kid);
      if (!found && lastFailure !== undefined) {
        throw new JwksUnavailable('The JWKS could not be fetched', { cause: lastFailure });
      }
      return found;
    },
  };
}

/** Why a fetch failed, in words that may be logged (ours, never a response body). */
export class JwksFetchFailed extends Error {
  override name = 'JwksFetchFailed';
}

async function fetchKeys(url: string, timeoutMs: number): Promise<Map<string, HonoJsonWebKey>> {
  let body: unknown;
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/json' },
    });
    if (!res.ok) throw new JwksFetchFailed(`the JWKS answered HTTP ${res.status}`);
    body = await res.json();
  } catch (error) {
    if (error instanceof JwksFetchFailed) throw error;
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    throw new JwksFetchFailed(
      timedOut ? `the JWKS did not answer within ${timeoutMs} ms` : 'the JWKS could not be reached or read',
      { cause: error },
    );
  }
  const list = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new JwksFetchFailed('the JWKS has no "keys" array');
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
