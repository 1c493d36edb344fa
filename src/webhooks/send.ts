/**
 * @module webhooks/send
 * One delivery attempt: a signed POST to an address the SSRF guard just allowed (./target.ts), and
 * its outcome in our own words. What the receiver answers is read for its status only; the body is
 * never read, let alone stored. Redirects are not followed (a 3xx is a failed attempt: following
 * one would send the signed body to a place nobody checked). The whole attempt, from resolving the
 * host to the response's headers, has one time limit (10 s in the contract).
 *
 * The socket connects to the checked address: `lookup` hands it that address instead of asking DNS
 * again, while the URL keeps its host name for the Host header, TLS's server name and certificate
 * check. So DNS rebinding (a public answer for the check, a private one for the connection) fails.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { SIGNATURE_HEADER, signatureHeader } from './signature.ts';
import {
  type CheckedTarget,
  checkTarget,
  type Resolve,
  type TargetRefused,
  type TargetRules,
} from './target.ts';

export type AttemptOutcome =
  | { ok: true; status: number }
  /** `status`: the receiver's HTTP status, null when it gave none; `error`: why, in our words. */
  | { ok: false; status: number | null; error: string };

export type SendOptions = {
  rules: TargetRules;
  timeoutMs: number;
  /** The signature's time. */
  now?: () => Date;
  /** Tests resolve names their own way; by default the system resolver. */
  resolve?: Resolve;
};

const USER_AGENT = 'taskchat-webhooks/1';

/** POSTs `body` to `url` signed with `secret`, after checking the target again. Never throws. */
export async function sendDelivery(
  url: string,
  body: string,
  secret: string,
  options: SendOptions,
): Promise<AttemptOutcome> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  const timedOut = {
    ok: false,
    status: null,
    error: `timed out after ${seconds(options.timeoutMs)}`,
  } as const;
  let target: CheckedTarget;
  try {
    target = await abortable(checkTarget(url, options.rules, options.resolve), signal);
  } catch (error) {
    if (signal.aborted) return timedOut;
    return { ok: false, status: null, error: `refused: ${(error as TargetRefused).message}` };
  }
  const headers = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    [SIGNATURE_HEADER]: signatureHeader(secret, body, options.now?.() ?? new Date()),
  };
  try {
    const status = await post(target, headers, body, signal);
    if (status >= 200 && status < 300) return { ok: true, status };
    const error =
      status >= 300 && status < 400
        ? `answered ${status} (redirects are not followed)`
        : `answered ${status}`;
    return { ok: false, status, error };
  } catch (error) {
    if (signal.aborted) return timedOut;
    return { ok: false, status: null, error: connectionFailure(error) };
  }
}

/** The status of the answer to a POST of `body` to the checked address; the answer's body is discarded. */
function post(
  target: CheckedTarget,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<number> {
  const { address, family } = target;
  // Node asks with `all: true` when it tries several addresses (autoSelectFamily): one either way.
  const pinned = ((_host, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as LookupFunction;
  const request = target.url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(
      target.url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: pinned,
        signal,
        // A fresh connection each time: a pooled socket could be one made to another address.
        agent: false,
      },
      (res) => {
        resolve(res.statusCode ?? 0);
        // Only the status matters: the body is neither read nor kept, and the socket is closed.
        res.destroy();
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Waits for `work`, or rejects when `signal` aborts (DNS lookups cannot be cancelled). */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

/** A socket or TLS error in a few words of ours (never the system's message, which may name internals). */
function connectionFailure(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset before an answer';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_STATUS':
      return 'the answer was not HTTP';
    default:
      if (typeof code === 'string' && /CERT|SSL|TLS|SELF_SIGNED|ERR_TLS/.test(code)) {
        return `TLS failed: the certificate was not accepted (${code})`;
      }
      return 'could not connect';
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
