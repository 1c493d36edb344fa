// Webhooks (issue 21, contract "Reminders"): a user registers URLs over HTTP, and each event they
// asked for is POSTed there, signed (`Taskchat-Signature`), retried under the same delivery id until
// a 2xx or 24 hours, and written in a delivery log the user can read. The SSRF guard refuses
// loopback, private and link-local targets (after DNS) unless WEBHOOK_ALLOW_PRIVATE=true, and https
// is required in production. Deliveries are received by a receiver written from the contract
// (support/webhook-receiver.ts), which checks the signature with its own code.
import { sql } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { type JobRunner, startJobRunner } from '../src/jobs/runner.ts';
import { createLogger } from '../src/log.ts';
import { webhookDeliveryTask } from '../src/webhooks/deliver.ts';
import type { Resolve } from '../src/webhooks/target.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createTestDb, type TestDb, testDrivers } from './support/db.ts';
import { sleep, until } from './support/sleep.ts';
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from './support/webhook-receiver.ts';

type Refusal = { error: { code: string; message: string } };
type NewWebhook = { id: string; url: string; events: string[]; secret: string; createdAt: string };
type Delivery = {
  id: string;
  type: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
  failedAt: string | null;
  status: string;
};

const ALLOW_PRIVATE = { WEBHOOK_ALLOW_PRIVATE: 'true' };
const JWT_SECRET = 'webhook-test-secret-0123456789abcdef';
// An embedded PGlite takes seconds to start on a busy machine; a worker's retry waits seconds too.
const TIMEOUT_MS = 120_000;
const quiet = createLogger('silent');

describe.each(testDrivers)('webhooks on %s', (driver) => {
  let t: TestDb;
  /** The app as tests and local development run it: private targets allowed (the receiver is on 127.0.0.1). */
  let app: TestApp;
  /** The app with the default rules. */
  let guarded: TestApp;
  let receiver: WebhookReceiver;
  let users = 0;
  const newUser = () => `hooked-${driver}-${++users}`;

  beforeAll(async () => {
    t = await createTestDb(driver);
    app = createTestApp(t, { env: { ...t.env, ...ALLOW_PRIVATE } });
    guarded = createTestApp(t);
  });
  afterAll(() => t?.drop());
  afterEach(async () => {
    await receiver?.close();
  });

  const send = (on: TestApp, user: string, method: string, path: string, body?: unknown) =>
    on.request(path, {
      method,
      headers: {
        'x-user-id': user,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  async function answer<T>(res: Response, status: number): Promise<T> {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    return (text ? JSON.parse(text) : undefined) as T;
  }
  const create = async (user: string, body: Record<string, unknown>, on = app) =>
    answer<NewWebhook>(await send(on, user, 'POST', '/webhooks', body), 201);
  const log = async (user: string, id: string) =>
    (
      await answer<{ deliveries: Delivery[] }>(
        await send(app, user, 'GET', `/webhooks/${id}/deliveries`),
        200,
      )
    ).deliveries;

  it('creates a webhook with its secret shown once, lists it without, and deletes it', async () => {
    receiver = await startWebhookReceiver();
    const user = newUser();
    const made = await create(user, { url: receiver.url });
    expect(made).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      url: receiver.url,
      events: ['reminder'],
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/),
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    const both = await create(user, { url: `${receiver.url}?second`, events: ['task', 'reminder', 'task'] });
    expect(both.events).toEqual(['task', 'reminder']);
    expect(both.secret).not.toBe(made.secret);

    const listed = await answer<{ webhooks: unknown[] }>(await send(app, user, 'GET', '/webhooks'), 200);
    expect(listed.webhooks).toEqual([
      { id: both.id, url: both.url, events: both.events, createdAt: both.createdAt },
      { id: made.id, url: made.url, events: made.events, createdAt: made.createdAt },
    ]);
    expect(JSON.stringify(listed)).not.toContain('whsec_');
    expect(await log(user, made.id)).toEqual([]);

    await answer(await send(app, user, 'DELETE', `/webhooks/${made.id}`), 204);
    await answer(await send(app, user, 'DELETE', `/webhooks/${made.id}`), 404);
    const after = await answer<{ webhooks: { id: string }[] }>(
      await send(app, user, 'GET', '/webhooks'),
      200,
    );
    expect(after.webhooks.map((w) => w.id)).toEqual([both.id]);
  });

  it('answers another user’s webhook exactly like a missing one', async () => {
    const owner = newUser();
    const other = newUser();
    const made = await create(owner, { url: 'http://127.0.0.1:9/hook' });
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const [method, path] of [
      ['DELETE', `/webhooks/${made.id}`],
      ['GET', `/webhooks/${made.id}/deliveries`],
    ] as const) {
      const theirs = await answer<Refusal>(await send(app, other, method, path), 404);
      const none = await answer<Refusal>(await send(app, other, method, path.replace(made.id, missing)), 404);
      expect(theirs).toEqual({ error: { ...none.error, requestId: expect.any(String) } });
      expect(theirs.error).toMatchObject({ code: 'not_found', message: 'Webhook not found' });
    }
    const list = await answer<{ webhooks: unknown[] }>(await send(app, other, 'GET', '/webhooks'), 200);
    expect(list.webhooks).toEqual([]);
    // Still there for its owner.
    const mine = await answer<{ webhooks: { id: string }[] }>(
      await send(app, owner, 'GET', '/webhooks'),
      200,
    );
    expect(mine.webhooks.map((w) => w.id)).toEqual([made.id]);
  });

  it('refuses malformed bodies and ids, naming the field', async () => {
    const user = newUser();
    const cases: [unknown, RegExp][] = [
      [{}, /^url: /],
      [{ url: 'http://127.0.0.1:9/', secret: 'mine' }, /unknown field secret/],
      [
        { url: 'http://127.0.0.1:9/', events: ['everything'] },
        /^events\.0: events must be a list of reminder/,
      ],
      [{ url: 'http://127.0.0.1:9/', events: [] }, /^events: events must name at least one event/],
      [{ url: 'not a url' }, /^url: url must be an absolute http\(s\) URL/],
      [{ url: 'ftp://example.com/x' }, /^url: url must be an http\(s\) URL/],
      [{ url: 'http://user:pw@127.0.0.1:9/' }, /^url: url must not carry a user name or password/],
      [
        { url: `http://127.0.0.1:9/${'x'.repeat(2048)}` },
        /^url: url must be an http\(s\) URL of at most 2048/,
      ],
    ];
    for (const [body, message] of cases) {
      const refused = await answer<Refusal>(await send(app, user, 'POST', '/webhooks', body), 400);
      expect(refused.error.code).toBe('invalid_request');
      expect(refused.error.message).toMatch(message);
    }
    const badId = await answer<Refusal>(await send(app, user, 'DELETE', '/webhooks/42'), 400);
    expect(badId.error.message).toMatch(/id must be a webhook id/);
    const made = await create(user, { url: 'http://127.0.0.1:9/' });
    const badLimit = await answer<Refusal>(
      await send(app, user, 'GET', `/webhooks/${made.id}/deliveries?limit=0`),
      400,
    );
    expect(badLimit.error.message).toMatch(/^limit: limit must be a whole number from 1 to 100/);
  });

  it('refuses loopback, private, link-local and mapped targets, also behind a name', async () => {
    const user = newUser();
    const refusals: [string, RegExp][] = [
      ['http://127.0.0.1/hook', /127\.0\.0\.1 is a loopback address/],
      ['http://localhost:8080/hook', /localhost resolves to (127\.0\.0\.1|::1), a loopback address/],
      ['http://10.0.0.1/hook', /10\.0\.0\.1 is a private address/],
      ['https://192.168.1.20/hook', /a private address/],
      ['http://172.16.5.4/hook', /a private address/],
      ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a link-local address/],
      ['http://100.64.0.1/hook', /a shared \(carrier-grade NAT\) address/],
      ['http://0.0.0.0/hook', /an unspecified address/],
      ['http://[::1]/hook', /::1 is a loopback address/],
      ['http://[::ffff:127.0.0.1]/hook', /::ffff:7f00:1 \(127\.0\.0\.1\) is a loopback address/],
      ['http://[::ffff:10.1.2.3]/hook', /::ffff:a01:203 \(10\.1\.2\.3\) is a private address/],
      ['http://[fe80::1]/hook', /a link-local address/],
      ['http://[fd00::1]/hook', /a private address/],
      ['http://[ff02::1]/hook', /a multicast address/],
      // Other spellings of 127.0.0.1 that the URL parser reads as it.
      ['http://2130706433/hook', /127\.0\.0\.1 is a loopback address/],
      ['http://0x7f.1/hook', /127\.0\.0\.1 is a loopback address/],
      ['http://does-not-exist.invalid/hook', /does-not-exist\.invalid does not resolve/],
    ];
    for (const [url, message] of refusals) {
      const refused = await answer<Refusal>(await send(guarded, user, 'POST', '/webhooks', { url }), 400);
      expect(refused.error.code, url).toBe('invalid_request');
      expect(refused.error.message, url).toMatch(/^url: url's host /);
      expect(refused.error.message, url).toMatch(message);
    }
    const none = await answer<{ webhooks: unknown[] }>(await send(guarded, user, 'GET', '/webhooks'), 200);
    expect(none.webhooks).toEqual([]);
    // The same targets are fine when the operator allows them (tests, local development).
    for (const url of ['http://127.0.0.1/hook', 'http://localhost:8080/hook', 'http://[::1]/hook']) {
      await create(user, { url }, app);
    }
  });

  it('requires https in production', async () => {
    const production = createTestApp(t, {
      env: { ...t.env, NODE_ENV: 'production', AUTH_JWT_SECRET: JWT_SECRET, ...ALLOW_PRIVATE },
    });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(newUser())
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JWT_SECRET));
    const post = (url: string) =>
      production.request('/webhooks', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url }),
      });
    const refused = await answer<Refusal>(await post('http://127.0.0.1:9/hook'), 400);
    expect(refused.error.message).toBe(
      'url: url must be https: deliveries are not sent in clear text in production',
    );
    await answer(await post('https://127.0.0.1:9/hook'), 201);
  });

  it('needs tasks:read to list and read the log, tasks:write to create and delete', async () => {
    const scoped = createTestApp(t, { env: { ...t.env, AUTH_JWT_SECRET: JWT_SECRET, ...ALLOW_PRIVATE } });
    const user = newUser();
    const token = (scope: string) =>
      new SignJWT({ scope })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user)
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(JWT_SECRET));
    const call = async (scope: string, method: string, path: string, body?: unknown) =>
      scoped.request(path, {
        method,
        headers: {
          authorization: `Bearer ${await token(scope)}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
    const readOnly = await answer<Refusal>(
      await call('tasks:read', 'POST', '/webhooks', { url: 'http://127.0.0.1:9/' }),
      403,
    );
    expect(readOnly.error).toMatchObject({
      code: 'insufficient_scope',
      message: 'This needs the tasks:write scope',
    });
    const made = await answer<NewWebhook>(
      await call('tasks:write', 'POST', '/webhooks', { url: 'http://127.0.0.1:9/' }),
      201,
    );
    await answer(await call('tasks:write', 'GET', '/webhooks'), 403);
    await answer(await call('tasks:read', 'GET', '/webhooks'), 200);
    await answer(await call('tasks:read', 'GET', `/webhooks/${made.id}/deliveries`), 200);
    await answer(await call('tasks:read', 'DELETE', `/webhooks/${made.id}`), 403);
    await answer(await call('tasks:read tasks:write', 'DELETE', `/webhooks/${made.id}`), 204);
  });

  describe('a delivery attempt (the webhook_delivery job, run directly)', () => {
    /** A delivery row as the fan-out trigger writes it, for a webhook of `user`. */
    async function queued(user: string, webhookId: string, createdAgo = '0 seconds') {
      const [row] = await t.database.run((db) =>
        queryRows<{ id: string; body: string }>(
          db,
          sql`with made as (select gen_random_uuid() as id, now() - ${createdAgo}::interval as at)
              insert into webhook_deliveries (id, webhook_id, user_id, type, body, created_at)
              select id, ${webhookId}::uuid, ${user}, 'task',
                     json_build_object('id', id, 'type', 'task', 'createdAt', webhook_iso(at),
                                       'data', json_build_object('task', null))::text, at
              from made returning id, body`,
        ),
      );
      return row as { id: string; body: string };
    }
    const rules = { allowPrivate: true, httpsOnly: false };
    const run = (
      deliveryId: string,
      options: { timeoutMs?: number; allowPrivate?: boolean; resolve?: Resolve } = {},
    ) =>
      webhookDeliveryTask({
        database: t.database,
        rules: { ...rules, allowPrivate: options.allowPrivate ?? true },
        timeoutMs: options.timeoutMs,
        resolve: options.resolve,
      })({ deliveryId });

    it('connects to the address it checked, not to a second DNS answer (no rebinding)', async () => {
      receiver = await startWebhookReceiver();
      const user = newUser();
      const hook = await create(user, { url: receiver.url, events: ['task'] });
      // A name only the check's resolver knows: the system's DNS has no answer for it, so a
      // delivery that arrives went to the address the check saw.
      const named = `http://hooks.rebind.test:${receiver.port}/hooks/taskchat`;
      await t.database.run((db) =>
        db.execute(sql`update webhooks set url = ${named} where id = ${hook.id}::uuid`),
      );
      const asked: string[] = [];
      const resolve: Resolve = async (host) => {
        asked.push(host);
        return [{ address: '127.0.0.1', family: 4 }];
      };
      const delivery = await queued(user, hook.id);
      await run(delivery.id, { resolve });
      expect(asked).toEqual(['hooks.rebind.test']);
      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]?.host).toBe(`hooks.rebind.test:${receiver.port}`);
      // The same delivery with the operator's rules: the check refuses the private answer, nothing is sent.
      const refused = await queued(user, hook.id);
      await expect(run(refused.id, { resolve, allowPrivate: false })).rejects.toThrow(
        "refused: url's host hooks.rebind.test resolves to 127.0.0.1, a loopback address",
      );
      expect(receiver.received).toHaveLength(1);
    });

    it('sends the same id and body on a retry after a failure, signed each time, and logs the attempts', async () => {
      receiver = await startWebhookReceiver();
      receiver.answer([500], 204);
      const user = newUser();
      const hook = await create(user, { url: receiver.url, events: ['task'] });
      const delivery = await queued(user, hook.id);

      await expect(run(delivery.id)).rejects.toThrow('answered 500');
      let [logged] = await log(user, hook.id);
      expect(logged).toMatchObject({
        id: delivery.id,
        attempts: 1,
        lastStatus: 500,
        lastError: 'answered 500',
        deliveredAt: null,
        failedAt: null,
        status: 'pending',
      });
      await run(delivery.id);
      [logged] = await log(user, hook.id);
      expect(logged).toMatchObject({ attempts: 2, lastStatus: 204, lastError: null, status: 'delivered' });
      expect(logged?.deliveredAt).toEqual(expect.any(String));
      // A delivered delivery is not sent again, whatever runs its job again.
      await run(delivery.id);

      expect(receiver.received).toHaveLength(2);
      for (const got of receiver.received) {
        expect(got.raw).toBe(delivery.body);
        expect(got.body.id).toBe(delivery.id);
        expect(got.contentType).toBe('application/json');
        expect(await verifySignature(got.signature, got.raw, hook.secret)).toBe(true);
        expect(await verifySignature(got.signature, got.raw, 'whsec_not-the-secret')).toBe(false);
      }
      // Nothing the receiver said is kept.
      const stored = await t.database.run((db) =>
        queryRows<{ row: string }>(db, sql`select to_jsonb(d)::text as row from webhook_deliveries d`),
      );
      expect(stored.map((r) => r.row).join()).not.toContain('SECRET-ANSWER-TEXT');
    });

    it('gives up on an answer that takes too long, and says so', async () => {
      receiver = await startWebhookReceiver();
      receiver.answer(['hang']);
      const user = newUser();
      const hook = await create(user, { url: receiver.url, events: ['task'] });
      const delivery = await queued(user, hook.id);
      await expect(run(delivery.id, { timeoutMs: 300 })).rejects.toThrow('timed out after 0.3 s');
      const [logged] = await log(user, hook.id);
      expect(logged).toMatchObject({ attempts: 1, lastStatus: null, lastError: 'timed out after 0.3 s' });
    });

    it('does not follow a redirect', async () => {
      receiver = await startWebhookReceiver();
      const elsewhere = await startWebhookReceiver();
      try {
        receiver.answer([{ redirect: elsewhere.url }]);
        const user = newUser();
        const hook = await create(user, { url: receiver.url, events: ['task'] });
        const delivery = await queued(user, hook.id);
        await expect(run(delivery.id)).rejects.toThrow('answered 302 (redirects are not followed)');
        expect(receiver.received).toHaveLength(1);
        expect(elsewhere.received).toHaveLength(0);
        const [logged] = await log(user, hook.id);
        expect(logged).toMatchObject({
          lastStatus: 302,
          lastError: 'answered 302 (redirects are not followed)',
        });
      } finally {
        await elsewhere.close();
      }
    });

    it('says "connection refused" when nothing listens, and checks the target again before sending', async () => {
      const user = newUser();
      const hook = await create(user, { url: 'http://127.0.0.1:9/nothing-here', events: ['task'] });
      const first = await queued(user, hook.id);
      await expect(run(first.id)).rejects.toThrow('connection refused');
      // The operator turned private targets off since: the next attempt is refused before connecting.
      const second = await queued(user, hook.id);
      await expect(run(second.id, { allowPrivate: false })).rejects.toThrow(
        "refused: url's host 127.0.0.1 is a loopback address; webhooks may only target public addresses",
      );
      const logged = await log(user, hook.id);
      expect(logged.map((d) => d.lastError)).toEqual([
        "refused: url's host 127.0.0.1 is a loopback address; webhooks may only target public addresses",
        'connection refused',
      ]);
    });

    it('stops retrying 24 hours after the event: the delivery is failed, and the job ends without an error', async () => {
      receiver = await startWebhookReceiver();
      receiver.answer([], 503);
      const user = newUser();
      const hook = await create(user, { url: receiver.url, events: ['task'] });
      // Failing on its 23rd hour: retried later.
      const young = await queued(user, hook.id, '23 hours');
      await expect(run(young.id)).rejects.toThrow('answered 503');
      // Failing past its 24th: recorded as failed, no error (graphile-worker then drops the job).
      const old = await queued(user, hook.id, '24 hours 1 second');
      await t.database.run((db) =>
        db.execute(sql`update webhook_deliveries set attempts = 13 where id = ${old.id}::uuid`),
      );
      await expect(run(old.id)).resolves.toBeUndefined();
      const byId = Object.fromEntries((await log(user, hook.id)).map((d) => [d.id, d]));
      expect(byId[young.id]).toMatchObject({ status: 'pending', attempts: 1, failedAt: null });
      expect(byId[old.id]).toMatchObject({ status: 'failed', attempts: 13, failedAt: expect.any(String) });
      expect(receiver.received.map((r) => r.body.id)).toEqual([young.id]);
    });

    it('does nothing for a delivery whose webhook was deleted', async () => {
      receiver = await startWebhookReceiver();
      const user = newUser();
      const hook = await create(user, { url: receiver.url, events: ['task'] });
      const delivery = await queued(user, hook.id);
      await answer(await send(app, user, 'DELETE', `/webhooks/${hook.id}`), 204);
      await expect(run(delivery.id)).resolves.toBeUndefined();
      expect(receiver.received).toHaveLength(0);
    });
  });
});

// With the job engine: the fan-out triggers of migration 0011 queue each delivery in the statement of
// its event, and graphile-worker runners (jobs/runner.ts, as `npm start` and `npm run worker` run
// them) deliver it, retrying with graphile-worker's own backoff.
describe.each(testDrivers.filter((driver) => driver !== 'neon'))(
  'webhook deliveries by the worker on %s',
  (driver) => {
    let t: TestDb;
    let app: TestApp;
    let receiver: WebhookReceiver;
    let runners: JobRunner[] = [];
    let users = 0;
    const newUser = () => `worked-${driver}-${++users}`;

    beforeAll(async () => {
      t = await createTestDb(driver, { extraEnv: ALLOW_PRIVATE });
      app = createTestApp(t);
    }, TIMEOUT_MS);
    afterEach(async () => {
      await Promise.all(runners.map((runner) => runner.stop()));
      runners = [];
      await receiver?.close();
    });
    afterAll(() => t?.drop());

    async function startRunners(n: number) {
      for (let i = 0; i < n; i++) {
        runners.push(await startJobRunner({ config: t.config, database: t.database, logger: quiet }));
      }
    }
    const rest = async (user: string, method: string, path: string, body?: unknown) => {
      const res = await app.request(path, {
        method,
        headers: { 'x-user-id': user, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      expect(res.status, `${method} ${path}: ${text}`).toBeLessThan(300);
      return text ? (JSON.parse(text) as Record<string, any>) : undefined;
    };
    const hook = async (user: string, events: string[]) =>
      (await rest(user, 'POST', '/webhooks', { url: receiver.url, events })) as NewWebhook;
    const logOf = async (user: string, id: string) =>
      ((await rest(user, 'GET', `/webhooks/${id}/deliveries`)) as { deliveries: Delivery[] }).deliveries;

    it(
      'POSTs a `task` event for a REST change: the task and the change as the API shows them, signed',
      async () => {
        receiver = await startWebhookReceiver();
        const user = newUser();
        const tasksOnly = await hook(user, ['task']);
        const remindersOnly = await hook(user, ['reminder']);
        await startRunners(1);
        const task = await rest(user, 'POST', '/tasks', { title: 'water the plants', dueDate: '2026-12-24' });
        await receiver.waitFor(1);
        const [got] = receiver.received;
        const [change] = ((await rest(user, 'GET', '/changes')) as { changes: Record<string, unknown>[] })
          .changes;
        expect(got?.body).toEqual({
          id: expect.any(String),
          type: 'task',
          createdAt: expect.stringMatching(/Z$/),
          data: { task: await rest(user, 'GET', `/tasks/${task?.id}`), change },
        });
        expect(change).toMatchObject({ action: 'add', source: 'rest', before: null });
        expect(await verifySignature(got?.signature, got?.raw ?? '', tasksOnly.secret)).toBe(true);
        expect(await verifySignature(got?.signature, got?.raw ?? '', remindersOnly.secret)).toBe(false);

        const [logged] = await logOf(user, tasksOnly.id);
        expect(logged).toMatchObject({
          id: got?.body.id,
          type: 'task',
          attempts: 1,
          lastStatus: 200,
          status: 'delivered',
        });
        // The webhook that asked for reminders only got nothing.
        expect(await logOf(user, remindersOnly.id)).toEqual([]);
        expect(receiver.received).toHaveLength(1);
      },
      TIMEOUT_MS,
    );

    it(
      'retries a failed delivery with the same id and body until the receiver answers 2xx',
      async () => {
        receiver = await startWebhookReceiver();
        receiver.answer([503]);
        const user = newUser();
        const webhook = await hook(user, ['task']);
        await startRunners(1);
        await rest(user, 'POST', '/tasks', { title: 'call the plumber' });
        // graphile-worker waits e^1 ≈ 2.7 s before the second attempt.
        await receiver.waitFor(2);
        const [first, second] = receiver.received;
        expect(second?.raw).toBe(first?.raw);
        expect(second?.body.id).toBe(first?.body.id);
        expect(await verifySignature(second?.signature, second?.raw ?? '', webhook.secret)).toBe(true);
        const logged = await until('the delivered log entry', async () => {
          const [entry] = await logOf(user, webhook.id);
          return entry?.status === 'delivered' ? entry : undefined;
        });
        expect(logged).toMatchObject({ id: first?.body.id, attempts: 2, lastStatus: 200, lastError: null });
      },
      TIMEOUT_MS,
    );

    it(
      'sends nothing more to a deleted webhook, not even the retry of a failed delivery',
      async () => {
        receiver = await startWebhookReceiver();
        receiver.answer([500]);
        const user = newUser();
        const webhook = await hook(user, ['task']);
        await startRunners(1);
        await rest(user, 'POST', '/tasks', { title: 'first' });
        await receiver.waitFor(1);
        await rest(user, 'DELETE', `/webhooks/${webhook.id}`);
        await rest(user, 'POST', '/tasks', { title: 'second' });
        // Past the first retry's time (e^1 ≈ 2.7 s): had it been sent, it would be here.
        await sleep(4000);
        expect(receiver.received.map((r) => r.body.data.task.title)).toEqual(['first']);
        const jobs = await t.database.run((db) =>
          queryRows<{ n: number }>(
            db,
            sql`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'webhook_delivery'`,
          ),
        );
        expect(jobs[0]?.n).toBe(0);
      },
      TIMEOUT_MS,
    );

    it(
      'delivers a reminder to the webhook once, with two runners, with the task and whether it was late',
      async () => {
        receiver = await startWebhookReceiver();
        const user = newUser();
        const webhook = await hook(user, ['reminder']);
        await startRunners(2);
        const task = await rest(user, 'POST', '/tasks', {
          title: 'take the pills',
          reminder: new Date(Date.now() + 1500).toISOString(),
        });
        await receiver.waitFor(1);
        // Time for a second delivery, were there one to make.
        await sleep(2500);
        expect(receiver.received).toHaveLength(1);
        const [got] = receiver.received;
        expect(got?.body).toEqual({
          id: expect.any(String),
          type: 'reminder',
          createdAt: expect.stringMatching(/Z$/),
          data: { task: await rest(user, 'GET', `/tasks/${task?.id}`), late: false },
        });
        expect(await verifySignature(got?.signature, got?.raw ?? '', webhook.secret)).toBe(true);
        const [logged] = await logOf(user, webhook.id);
        expect(logged).toMatchObject({
          id: got?.body.id,
          type: 'reminder',
          status: 'delivered',
          attempts: 1,
        });
      },
      TIMEOUT_MS,
    );
  },
);
