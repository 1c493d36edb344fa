import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationIdFor } from '../src/chat/store/ids.ts';
import { createTurnStore } from '../src/chat/store/turn-store.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { sleep } from './support/sleep.ts';

const onServer = process.env.TEST_DATABASE_URL ? describe : describe.skip;

// One statement reads one snapshot. BEGIN TURN can wait on the previous turn's END TURN for the
// conversation row; when it gets the row, its snapshot still predates END TURN's commit. That
// happens when the previous turn's lease had expired (a slow turn) and it finishes just as the
// next turn takes over. This holds such an END TURN open by hand to make the race certain.
onServer('BEGIN TURN racing the previous END TURN', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb('pg');
  });
  afterAll(() => t?.drop());

  it('still sees the reply that END TURN committed while BEGIN TURN waited', async () => {
    const store = createTurnStore(t.database);
    const base = {
      userId: 'racer',
      historyMessages: 40,
      leaseMs: 60_000,
      rateLimit: 0,
      title: 'race',
      zone: { requested: null, fallback: 'UTC' },
      now: new Date(),
      budgetTokensPerDay: 0,
    };
    const first = await store.beginTurn({
      ...base,
      leaseMs: 1,
      conversationId: undefined,
      messageId: 'a',
      message: { role: 'user', content: 'one' },
    });
    if (first.outcome !== 'started') throw new Error(first.outcome);
    await sleep(20); // its lease has expired

    // The previous turn's END TURN, by hand: store the reply, release the lease, not yet committed.
    const other = new pg.Client({ connectionString: t.env.DATABASE_URL });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(
        `insert into messages (conversation_id, seq, role, content) values ($1, 2, 'assistant', '{"role":"assistant","content":"reply one"}')`,
        [first.conversationId],
      );
      await other.query(
        'update conversations set last_seq = 2, lease_turn_id = null, lease_expires_at = null where id = $1',
        [first.conversationId],
      );
      const second = store.beginTurn({
        ...base,
        conversationId: first.conversationId,
        messageId: 'b',
        message: { role: 'user', content: 'two' },
      });
      await sleep(200); // BEGIN TURN is now waiting on the row lock
      await other.query('commit');
      const begun = await second;
      if (begun.outcome !== 'started') throw new Error(begun.outcome);
      expect(begun.history.map((m) => [m.seq, m.role])).toEqual([
        [1, 'user'],
        [2, 'assistant'],
        [3, 'user'],
      ]);
    } finally {
      await other.end();
    }
  });

  it('answers busy, storing nothing, when a copy of a first send races it', async () => {
    const store = createTurnStore(t.database);
    const user = 'double';
    const messageId = 'first-send';
    const conversationId = conversationIdFor(user, messageId);
    // The first copy's BEGIN TURN, by hand and not yet committed.
    const other = new pg.Client({ connectionString: t.env.DATABASE_URL });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(
        `insert into conversations (id, user_id, title, last_seq, lease_turn_id, lease_expires_at)
         values ($1, $2, 'x', 1, gen_random_uuid(), now() + interval '1 minute')`,
        [conversationId, user],
      );
      await other.query(
        `insert into turns (id, user_id, message_id, conversation_id)
         select lease_turn_id, $2, $3, id from conversations where id = $1`,
        [conversationId, user, messageId],
      );
      const second = store.beginTurn({
        userId: user,
        conversationId: undefined,
        messageId,
        message: { role: 'user', content: 'hello' },
        title: 'hello',
        zone: { requested: null, fallback: 'UTC' },
        now: new Date(),
        budgetTokensPerDay: 0,
        historyMessages: 40,
        leaseMs: 60_000,
        rateLimit: 0,
      });
      await sleep(200); // it waits on the first copy's rows
      await other.query('commit');
      expect(await second).toMatchObject({ outcome: 'busy' });
      const { rows } = await other.query(
        'select (select count(*)::int from conversations where user_id = $1) as conversations, (select count(*)::int from messages where conversation_id = $2) as messages',
        [user, conversationId],
      );
      expect(rows[0]).toEqual({ conversations: 1, messages: 0 });
    } finally {
      await other.end();
    }
  });
});
