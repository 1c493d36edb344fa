/**
 * @module webhooks/deliver
 * The `webhook_delivery` job (graphile-worker; src/jobs/tasks.ts lists it): one attempt at one
 * delivery. The fan-out trigger (migration 0011) queued it with the delivery's id as payload and
 * job key, in the statement of the event. The attempt is recorded in the delivery log; a failure
 * (anything but a 2xx within 10 s) throws, so that graphile-worker retries the job with its
 * exponential backoff, under the same delivery id and with the same body. Retrying stops once 24
 * hours have passed since the event: the delivery is recorded as failed and the job ends normally.
 * A delivery whose webhook was deleted is gone with it: the job finds nothing and does nothing.
 *
 * The trigger queues the job with max_attempts 14. graphile-worker waits exp(min(n, 10)) seconds
 * after the n-th failure (3 s, 7 s, 20 s ... 2.3 h, then 6.1 h each), so attempt 13 runs about
 * 21.9 hours after the first and attempt 14 about 28 hours after it: that run finds the 24 hours
 * over and settles the delivery as failed without sending. Fewer attempts would give up before
 * the contract's 24 hours; more would only wake a job that has nothing left to do. Should the
 * engine ever run a job's last attempt early, that attempt's failure settles the delivery too.
 */
import type { Database } from '../db/client.ts';
import type { Logger } from '../log.ts';
import { sendDelivery } from './send.ts';
import { createWebhookStore, throughClient, throughDatabase } from './store.ts';
import type { Resolve, TargetRules } from './target.ts';

/** The contract's limit for one attempt, from resolving the host to the answer's status. */
export const DELIVERY_TIMEOUT_MS = 10_000;

export const WEBHOOK_DELIVERY_TASK = 'webhook_delivery';

export type WebhookDeliveryDeps = {
  rules: TargetRules;
  /**
   * Where the delivery is read and recorded. Unset: through the job's own connection
   * (graphile-worker's `helpers.query`), as a runner runs it; tests running the task directly pass one.
   */
  database?: Database;
  logger?: Logger;
  /** Tests shorten it; the contract's is 10 s. */
  timeoutMs?: number;
  resolve?: Resolve;
};

/** What the task uses of graphile-worker's JobHelpers (a structural subset, so tests can run it alone). */
export type JobInfo = {
  job?: { attempts: number; max_attempts: number };
  query?: (text: string, values: unknown[]) => Promise<{ rows: unknown[] }>;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A failed attempt, for graphile-worker to retry; the message is ours (the log's words). */
export class DeliveryFailed extends Error {
  override name = 'DeliveryFailed';
}

/**
 * The `webhook_delivery` task: `(payload, helpers) => Promise<void>`, as graphile-worker calls it.
 * Payload `{ deliveryId }`.
 */
export function webhookDeliveryTask(deps: WebhookDeliveryDeps) {
  const timeoutMs = deps.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const own = deps.database && createWebhookStore(throughDatabase(deps.database));

  return async function webhookDelivery(payload: unknown, helpers?: JobInfo): Promise<void> {
    const deliveryId = (payload as { deliveryId?: unknown } | null)?.deliveryId;
    // Not ours to retry: a malformed job (queued by hand?) never gets better.
    if (typeof deliveryId !== 'string' || !UUID.test(deliveryId)) return;
    const query = helpers?.query;
    const store = own ?? (query && createWebhookStore(throughClient((text, values) => query(text, values))));
    if (!store) throw new Error('webhook_delivery needs a database or the job helpers');
    const delivery = await store.pending(deliveryId);
    if (!delivery || delivery.settled) return;
    if (delivery.expired) {
      await store.expire(deliveryId);
      return;
    }
    const outcome = await sendDelivery(delivery.url, delivery.body, delivery.secret, {
      rules: deps.rules,
      timeoutMs,
      resolve: deps.resolve,
    });
    // graphile-worker counts this attempt in `attempts` already; at max_attempts none follows.
    const job = helpers?.job;
    const lastChance = job !== undefined && job.attempts >= job.max_attempts;
    const settled = await store.recordAttempt(deliveryId, {
      ok: outcome.ok,
      status: outcome.status,
      error: outcome.ok ? null : outcome.error,
      lastChance,
    });
    if (outcome.ok || settled) return;
    deps.logger?.info('webhook delivery failed; it will be retried', { deliveryId, reason: outcome.error });
    throw new DeliveryFailed(outcome.error);
  };
}
