/**
 * @module http/env
 * What the app's middleware puts on every request, declared once: the authenticated user and
 * the token's scopes (set by auth, read by every feature route), the request id, and the request-scoped logger that carries it.
 */
import type { RequestIdVariables } from 'hono/request-id';
import type { Logger } from '../log.ts';

export type AppEnv = {
  Variables: RequestIdVariables & {
    /** Set by the auth middleware; every feature route runs behind it. */
    userId: string;
    /**
     * The scopes of the request's token (auth/scopes.ts); undefined when it has no `scope` claim
     * or the request was not made with a token (dev mode): full access.
     */
    scopes: readonly string[] | undefined;
    /** The token's `zoneinfo` claim (auth), a time zone the user's identity provider knows; undefined without one. */
    zoneinfo: string | undefined;
    log: Logger;
  };
};
