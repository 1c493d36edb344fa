// The user's "today" is in their time zone (contract "Time."): the X-Timezone header, else the zone
// stored with PATCH /me, else the token's zoneinfo, else DEFAULT_TIMEZONE. The fake OpenAI server
// records the system prompt the model was given; the app's clock is pinned.
import { sign } from 'hono/jwt';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChatHarness, createTestApp, startChatApp } from './support/app.ts';
import { testConfig, testDrivers } from './support/db.ts';

// 10:30 UTC: already tomorrow at UTC+14, still yesterday at UTC-12.
const NOW = new Date('2026-12-05T10:30:00Z');

// Each test starts its own app and database: an embedded PGlite takes seconds on a busy machine.
const PGLITE_TIMEOUT_MS = 120_000;

describe.each(testDrivers)('time zones on %s', (driver) => {
  let h: ChatHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const systemPrompt = (harness: ChatHarness): string => {
    const system = harness.fake.requests.at(-1)?.messages.find((m: { role: string }) => m.role === 'system');
    return String(system?.content ?? '');
  };
  const me = (harness: ChatHarness, user: string, init: RequestInit = {}) =>
    harness.app.request('/me', {
      ...init,
      headers: { 'x-user-id': user, 'content-type': 'application/json', ...init.headers },
    });

  it(
    'gives the model the date, time and zone of the X-Timezone header',
    async () => {
      h = await startChatApp(driver, { now: () => NOW });
      await h.say('kiribati', 'hello');
      expect(systemPrompt(h)).toContain('Today is 2026-12-05;');

      const ahead = await h.chat(
        'kiribati',
        { message: 'what day is it' },
        { 'x-timezone': 'Pacific/Kiritimati' },
      );
      expect(ahead.status).toBe(200);
      expect(systemPrompt(h)).toContain("Today is 2026-12-06; the user's local time is 00:30");
      expect(systemPrompt(h)).toContain('time zone is Pacific/Kiritimati');

      const behind = await h.chat('baker', { message: 'what day is it' }, { 'x-timezone': 'Etc/GMT+12' });
      expect(behind.status).toBe(200);
      expect(systemPrompt(h)).toContain('Today is 2026-12-04;');
      expect(systemPrompt(h)).toContain('time zone is Etc/GMT+12');
    },
    PGLITE_TIMEOUT_MS,
  );

  it(
    'refuses an X-Timezone that is not an IANA name',
    async () => {
      h = await startChatApp(driver, { now: () => NOW });
      for (const zone of ['Mars/Olympus', '+02:00', '']) {
        const res = await h.chat('u', { message: 'hi' }, { 'x-timezone': zone });
        expect(res.status, zone).toBe(400);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
      }
      expect(h.fake.requests).toHaveLength(0);
    },
    PGLITE_TIMEOUT_MS,
  );

  it(
    'stores the zone PATCH /me sets and uses it for turns without a header',
    async () => {
      h = await startChatApp(driver, { now: () => NOW, env: { DEFAULT_TIMEZONE: 'America/New_York' } });
      expect(await (await me(h, 'traveller')).json()).toEqual({
        userId: 'traveller',
        timezone: 'America/New_York',
      });

      const bad = await me(h, 'traveller', {
        method: 'PATCH',
        body: JSON.stringify({ timezone: 'Nowhere/Town' }),
      });
      expect(bad.status).toBe(400);

      const set = await me(h, 'traveller', {
        method: 'PATCH',
        body: JSON.stringify({ timezone: 'Pacific/Kiritimati' }),
      });
      expect(set.status).toBe(200);
      expect(await set.json()).toEqual({ userId: 'traveller', timezone: 'Pacific/Kiritimati' });
      expect(await (await me(h, 'traveller')).json()).toEqual({
        userId: 'traveller',
        timezone: 'Pacific/Kiritimati',
      });
      // Another user keeps the default; a request's own header wins over the stored zone.
      expect(await (await me(h, 'homebody')).json()).toEqual({
        userId: 'homebody',
        timezone: 'America/New_York',
      });
      const header = await me(h, 'traveller', { headers: { 'x-timezone': 'Europe/Paris' } });
      expect(await header.json()).toEqual({ userId: 'traveller', timezone: 'Europe/Paris' });

      await h.say('traveller', 'hello');
      expect(systemPrompt(h)).toContain('Today is 2026-12-06;');
      await h.say('homebody', 'hello');
      expect(systemPrompt(h)).toContain('Today is 2026-12-05;');
      expect(systemPrompt(h)).toContain('time zone is America/New_York');
    },
    PGLITE_TIMEOUT_MS,
  );

  it(
    'takes the token’s zoneinfo claim when the user chose no zone, and their choice over it',
    async () => {
      h = await startChatApp(driver, { now: () => NOW });
      const secret = 'a-test-secret-that-is-long-enough-000';
      const app = createTestApp(h.db, { config: testConfig({ AUTH_JWT_SECRET: secret }), now: () => NOW });
      const exp = Math.floor(Date.now() / 1000) + 600;
      const token = await sign({ sub: 'oidc-user', exp, zoneinfo: 'Asia/Tokyo' }, secret, 'HS256');
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      expect(await (await app.request('/me', { headers })).json()).toEqual({
        userId: 'oidc-user',
        timezone: 'Asia/Tokyo',
      });
      const patch = { method: 'PATCH', headers, body: JSON.stringify({ timezone: 'Europe/Lisbon' }) };
      expect((await app.request('/me', patch)).status).toBe(200);
      expect(await (await app.request('/me', { headers })).json()).toEqual({
        userId: 'oidc-user',
        timezone: 'Europe/Lisbon',
      });
    },
    PGLITE_TIMEOUT_MS,
  );
});
