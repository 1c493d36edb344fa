// An outage under load, shared by the fault suite (short) and `bench/outage.ts` (the figures):
// several app instances (each its own pool, as separate processes would have) over one private
// Postgres cluster, clients sending turns without pause, alternating instances, each resending a
// failed send with the same messageId until it is answered (as a careful client does). Postgres is
// stopped at once ('immediate', as a crash) for `downMs`, then started again. Reports what the
// clients saw and how long after the database was back each conversation took its first turn.
import type { FakeOpenAI } from './fake-openai.ts';
import { type FaultApp, newTranscript, startFaultApp, type Transcript } from './fault-app.ts';
import type { AnsweredTurn } from './invariants.ts';
import type { PgCluster } from './pg-cluster.ts';
import { sleep } from './sleep.ts';

export type OutageOptions = {
  cluster: PgCluster;
  databaseUrl: string;
  fake: FakeOpenAI;
  instances: number;
  clients: number;
  /** Load before the database stops. */
  warmMs: number;
  /** How long the database stays down. */
  downMs: number;
  /** Load after every conversation has taken a turn again. */
  afterMs: number;
  env?: Record<string, string>;
  transcript?: Transcript;
};

export type OutageFigures = {
  requests: number;
  byStatus: Record<string, number>;
  /** Answers other than 200 once the database was back. */
  refusedAfterBack: number;
  /** Per client: ms from the database being back to its first 200 that was not a replay. */
  recoveryMs: number[];
  answered: AnsweredTurn[];
  turnsAnswered: number;
};

/** The scripted model of the run: "add X" adds a task titled X, anything else is answered at once. */
export function outageScript(fake: FakeOpenAI): void {
  fake.setScript((req) => {
    const last = req.messages.at(-1);
    if (last?.role === 'tool') return { text: 'Added.' };
    const text = typeof last?.content === 'string' ? last.content : '';
    if (text.startsWith('add ')) return { toolCalls: [{ name: 'add_task', args: { title: text.slice(4) } }] };
    return { text: 'OK.' };
  });
}

export async function runOutage(options: OutageOptions): Promise<OutageFigures> {
  const transcript = options.transcript ?? newTranscript();
  outageScript(options.fake);
  const apps: FaultApp[] = [];
  for (let i = 0; i < options.instances; i++) {
    apps.push(
      await startFaultApp({
        databaseUrl: options.databaseUrl,
        fake: options.fake,
        transcript,
        migrate: i === 0,
        env: { DB_STATEMENT_TIMEOUT_MS: '2000', DB_POOL_MAX: '5', ...options.env },
      }),
    );
  }
  const byStatus: Record<string, number> = {};
  const answered: AnsweredTurn[] = [];
  let requests = 0;
  let refusedAfterBack = 0;
  let backAt: number | undefined;
  let stopping = false;
  const recovered = new Map<number, number>();

  const client = async (index: number) => {
    const user = `outage-user-${index}`;
    let conversationId: string | undefined;
    let turn = 0;
    let sends = 0;
    while (!stopping) {
      turn++;
      const messageId = `m-${index}-${turn}`;
      const message = turn % 2 === 1 ? `add task ${index}.${turn}` : `hello ${turn}`;
      // One logical turn: sent until answered, on alternating instances.
      for (;;) {
        const app = apps[sends++ % apps.length] as FaultApp;
        const sentAt = Date.now();
        let status: number;
        let body: any;
        try {
          const res = await app.chat(user, {
            message,
            messageId,
            ...(conversationId ? { conversationId } : {}),
          });
          status = res.status;
          body = status === 200 ? res.json() : undefined;
        } catch {
          status = 0;
        }
        requests++;
        byStatus[status] = (byStatus[status] ?? 0) + 1;
        if (backAt !== undefined && sentAt >= backAt && status !== 200) refusedAfterBack++;
        if (status === 200) {
          conversationId = body.conversationId;
          answered.push({ userId: user, conversationId: body.conversationId, messageId, reply: body.reply });
          if (backAt !== undefined && sentAt >= backAt && !recovered.has(index)) {
            recovered.set(index, Date.now() - backAt);
          }
          break;
        }
        await sleep(100);
      }
      // Now and then, a repeat of an answered send: must replay, never run again.
      if (turn % 5 === 0) {
        const app = apps[sends++ % apps.length] as FaultApp;
        const res = await app.chat(user, { message, messageId, conversationId }).catch(() => undefined);
        requests++;
        byStatus[res?.status ?? 0] = (byStatus[res?.status ?? 0] ?? 0) + 1;
      }
    }
  };

  const running = Array.from({ length: options.clients }, (_, i) => client(i));
  try {
    await sleep(options.warmMs);
    await options.cluster.stop('immediate');
    await sleep(options.downMs);
    await options.cluster.start();
    backAt = Date.now();
    const deadline = backAt + 30_000;
    while (recovered.size < options.clients && Date.now() < deadline) await sleep(50);
    await sleep(options.afterMs);
  } finally {
    stopping = true;
    await Promise.all(running);
    for (const app of apps) await app.close();
  }
  return {
    requests,
    byStatus,
    refusedAfterBack,
    recoveryMs: Array.from(
      { length: options.clients },
      (_, i) => recovered.get(i) ?? Number.POSITIVE_INFINITY,
    ),
    answered,
    turnsAnswered: answered.length,
  };
}
