/**
 * `npm run demo`: a short conversation through the real HTTP API, on embedded Postgres in memory
 * (unless DATABASE_URL says otherwise), with the offline command model or, when OPENAI_API_KEY is
 * set, the real one. Prints the transcript and the resulting task list.
 */
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';

const env = {
  DATABASE_URL: 'pglite://memory',
  ...process.env,
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'error',
  AUTH_MODE: 'dev',
};
const config = loadConfig(env);
const offline = config.model.id === 'offline';
const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
const script = offline
  ? [
      `add buy milk due ${tomorrow} !high`,
      'add call mom',
      'add file taxes !low',
      'list',
      'done 1',
      'rename 2 to call mom and dad',
      'pending',
    ]
  : [
      'Add "buy milk" for tomorrow, high priority.',
      'Also remind me to call mom, and to file taxes (low priority).',
      'What is on my list?',
      'I bought the milk.',
      'Change "call mom" to "call mom and dad".',
      'What is still pending?',
    ];

const server = await startServer(config);
const user = 'demo-user';
try {
  console.log(
    `taskchat demo: ${offline ? 'offline command model' : `model ${config.model.id}`}, ${config.db.driver}\n`,
  );
  let conversationId: string | undefined;
  for (const message of script) {
    const res = await fetch(`${server.url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': user },
      body: JSON.stringify({ message, conversationId }),
    });
    const answer = (await res.json()) as {
      conversationId: string;
      reply: string;
      toolCalls: { name: string; args: unknown }[];
      error?: { message: string };
    };
    if (!res.ok) throw new Error(`POST /chat ${res.status}: ${answer.error?.message}`);
    conversationId = answer.conversationId;
    console.log(`you> ${message}`);
    for (const call of answer.toolCalls) console.log(`     [${call.name} ${JSON.stringify(call.args)}]`);
    console.log(`bot> ${answer.reply.replaceAll('\n', '\n     ')}\n`);
  }
  const { tasks } = (await (
    await fetch(`${server.url}/tasks`, { headers: { 'x-user-id': user } })
  ).json()) as {
    tasks: { id: number; title: string; completed: boolean; priority: string; dueDate: string | null }[];
  };
  console.log('GET /tasks');
  for (const t of tasks) {
    console.log(
      `  #${t.id} [${t.completed ? 'x' : ' '}] ${t.title} (${t.priority}${t.dueDate ? `, due ${t.dueDate}` : ''})`,
    );
  }
} finally {
  await server.close();
}
