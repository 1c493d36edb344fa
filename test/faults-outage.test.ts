// Fault tests, an outage under load (issue 9, defect 1 at scale): two app instances over one
// private Postgres cluster, clients sending turns without pause (and resending failed ones with the
// same messageId), Postgres killed for a few seconds and started again. Afterwards: every
// conversation took a turn again, the invariants hold in SQL, nothing leaked. The longer run with
// figures is `node bench/outage.ts`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOpenAI, startFakeOpenAI } from './support/fake-openai.ts';
import { findLeaks, newTranscript } from './support/fault-app.ts';
import { checkInvariants } from './support/invariants.ts';
import { runOutage } from './support/outage.ts';
import { type PgCluster, startPgCluster } from './support/pg-cluster.ts';

let cluster: PgCluster;
let url: string;
let fake: FakeOpenAI;

beforeAll(async () => {
  cluster = await startPgCluster();
  url = await cluster.createDatabase();
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake?.close();
  await cluster?.destroy();
});

describe('defect 1 under load: Postgres killed and started again, two instances', () => {
  it('every conversation takes turns again, and no invariant is broken', async () => {
    const transcript = newTranscript();
    const figures = await runOutage({
      cluster,
      databaseUrl: url,
      fake,
      instances: 2,
      clients: 6,
      warmMs: 1000,
      downMs: 3000,
      afterMs: 500,
      transcript,
      env: { TURN_LEASE_MS: '600000' },
    });
    // Some turns met the outage, and every conversation was answered again once it was over.
    expect(figures.byStatus['503']).toBeGreaterThan(0);
    expect(figures.recoveryMs.every(Number.isFinite)).toBe(true);
    expect(await checkInvariants(url, figures.answered)).toEqual([]);
    expect(findLeaks([...transcript.responses, ...transcript.logs])).toEqual([]);
  });
});
