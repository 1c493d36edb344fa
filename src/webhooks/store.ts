/**
 * @module webhooks/store
 * Every statement about webhooks and their deliveries, one round trip each, each scoped to the
 * user whose webhook it is (the user id comes first): another user's webhook is as absent as one
 * that never existed. The delivery rows themselves are written by the fan-out triggers of
 * migration 0011, in the statement of the event; here they are read (the log, the job) and updated
 * once per attempt.
 */
import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { type Database, queryRows } from '../db/client.ts';
import type { WEBHOOK_EVENTS } from '../db/schema.ts';

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** A webhook as the API shows it (never its secret, except once when it is made). */
export type Webhook = { id: string; url: string; events: WebhookEvent[]; createdAt: string };

/** One delivery as the log shows it: what happened, never what the receiver said beyond its status. */
export type Delivery = {
  id: string;
  type: WebhookEvent;
  createdAt: string;
  attempts: number;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
  failedAt: string | null;
  status: 'pending' | 'delivered' | 'failed';
};

/** What the delivery job needs of one delivery and its webhook. */
export type PendingDelivery = {
  id: string;
  body: string;
  url: string;
  secret: string;
  /** 24 hours have passed since the event: no more attempts. */
  expired: boolean;
  /** Delivered or given up already (a duplicate run): nothing to do. */
  settled: boolean;
};

/** What one attempt came to, for the log. */
export type AttemptRecord = { ok: boolean; status: number | null; error: string | null; lastChance: boolean };

type WebhookRow = { id: string; url: string; events: WebhookEvent[]; created_at: Date | string };
type DeliveryRow = {
  id: string;
  type: WebhookEvent;
  created_at: Date | string;
  attempts: number;
  last_attempt_at: Date | string | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | string | null;
  failed_at: Date | string | null;
};

/** How long a delivery is retried, as the contract says. */
export const RETRY_WINDOW = sql`interval '24 hours'`;

/** Runs one statement and gives its rows; `idempotent`: safe to send again after a lost answer. */
export type Execute = <T>(statement: SQL, idempotent?: boolean) => Promise<T[]>;

/** Statements through the app's database handle (its retries and circuit breaker). */
export const throughDatabase =
  (database: Database): Execute =>
  (statement, idempotent = false) =>
    database.run((db) => queryRows(db, statement), { idempotent });

const dialect = new PgDialect();

/**
 * Statements through a client that takes text and values, such as graphile-worker's
 * `helpers.query`: a job runs on the connection its runner has, the embedded PGlite included.
 */
export const throughClient =
  (query: (text: string, values: unknown[]) => Promise<{ rows: unknown[] }>): Execute =>
  async <T>(statement: SQL) => {
    const { sql: text, params } = dialect.sqlToQuery(statement);
    return (await query(text, params)).rows as T[];
  };

export function createWebhookStore(rows: Execute) {
  return {
    /** The new webhook, or undefined when the user has `max` already. */
    async create(
      userId: string,
      url: string,
      events: WebhookEvent[],
      secret: string,
      max: number,
    ): Promise<Webhook | undefined> {
      const eventList = sql`array[${sql.join(
        events.map((event) => sql`${event}`),
        sql`, `,
      )}]::text[]`;
      const [row] = await rows<WebhookRow>(sql`
        insert into webhooks (user_id, url, events, secret)
        select ${userId}, ${url}, ${eventList}, ${secret}
        where (select count(*) from webhooks where user_id = ${userId}) < ${max}::int
        returning id, url, events, created_at`);
      return row && webhookFromRow(row);
    },

    async list(userId: string): Promise<Webhook[]> {
      const found = await rows<WebhookRow>(
        sql`select id, url, events, created_at from webhooks
            where user_id = ${userId} order by created_at desc, id`,
        true,
      );
      return found.map(webhookFromRow);
    },

    /** False when the user has no such webhook. Its delivery log goes with it (foreign key cascade). */
    async remove(userId: string, id: string): Promise<boolean> {
      const gone = await rows<{ id: string }>(
        sql`delete from webhooks where user_id = ${userId} and id = ${id}::uuid returning id`,
      );
      return gone.length > 0;
    },

    /** The webhook's deliveries, newest first; undefined when the user has no such webhook. */
    async deliveries(userId: string, webhookId: string, limit: number): Promise<Delivery[] | undefined> {
      const found = await rows<DeliveryRow & { webhook: string | null }>(
        sql`select w.id as webhook, d.id, d.type, d.created_at, d.attempts, d.last_attempt_at,
                   d.last_status, d.last_error, d.delivered_at, d.failed_at
            from webhooks w
            left join lateral (
              select * from webhook_deliveries d
              where d.webhook_id = w.id order by d.created_at desc, d.id limit ${limit}::int
            ) d on true
            where w.user_id = ${userId} and w.id = ${webhookId}::uuid
            order by d.created_at desc, d.id`,
        true,
      );
      if (found.length === 0) return undefined;
      return found.filter((row) => row.id !== null).map(deliveryFromRow);
    },

    /** A delivery with its webhook's URL and secret; undefined when it (or its webhook) is gone. */
    async pending(deliveryId: string): Promise<PendingDelivery | undefined> {
      const [row] = await rows<PendingDelivery>(
        sql`select d.id, d.body, w.url, w.secret,
                   now() - d.created_at >= ${RETRY_WINDOW} as expired,
                   (d.delivered_at is not null or d.failed_at is not null) as settled
            from webhook_deliveries d join webhooks w on w.id = d.webhook_id
            where d.id = ${deliveryId}::uuid`,
        true,
      );
      return row;
    },

    /**
     * Records an attempt. A failure after the 24 hours (or on the job's last attempt) settles the
     * delivery as failed. Returns whether it is settled (delivered or failed) now.
     */
    async recordAttempt(deliveryId: string, attempt: AttemptRecord): Promise<boolean> {
      const [row] = await rows<{ settled: boolean }>(sql`
        update webhook_deliveries set
          attempts = attempts + 1,
          last_attempt_at = now(),
          last_status = ${attempt.status}::int,
          last_error = ${attempt.error}::text,
          delivered_at = case when ${attempt.ok}::boolean then now() end,
          failed_at = case when not ${attempt.ok}::boolean
                            and (${attempt.lastChance}::boolean or now() - created_at >= ${RETRY_WINDOW})
                           then now() end
        where id = ${deliveryId}::uuid
        returning (delivered_at is not null or failed_at is not null) as settled`);
      // A webhook deleted during the attempt took its delivery with it: nothing left to retry.
      return row?.settled ?? true;
    },

    /** Closes a delivery whose 24 hours ran out before this attempt, without sending it. */
    async expire(deliveryId: string): Promise<void> {
      await rows(sql`
        update webhook_deliveries
        set failed_at = now(), last_error = coalesce(last_error, 'not attempted within 24 hours')
        where id = ${deliveryId}::uuid and delivered_at is null and failed_at is null`);
    },
  };
}

export type WebhookStore = ReturnType<typeof createWebhookStore>;

function webhookFromRow(row: WebhookRow): Webhook {
  return { id: row.id, url: row.url, events: row.events, createdAt: iso(row.created_at) };
}

function deliveryFromRow(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    type: row.type,
    createdAt: iso(row.created_at),
    attempts: row.attempts,
    lastAttemptAt: isoOrNull(row.last_attempt_at),
    lastStatus: row.last_status,
    lastError: row.last_error,
    deliveredAt: isoOrNull(row.delivered_at),
    failedAt: isoOrNull(row.failed_at),
    status: row.delivered_at ? 'delivered' : row.failed_at ? 'failed' : 'pending',
  };
}

// Drivers hand back Date objects; a string would mean a driver without type parsing.
const iso = (value: Date | string) => (value instanceof Date ? value : new Date(value)).toISOString();
const isoOrNull = (value: Date | string | null) => (value === null ? null : iso(value));
