/**
 * `npm run demo`: a short conversation through the real HTTP API, printed as a transcript with
 * the tool calls each answer made, then the resulting task list.
 *
 * By default it starts an in-memory taskchat server of its own (embedded Postgres in memory
 * unless DATABASE_URL says otherwise; the offline command reader unless OPENAI_API_KEY is set)
 * and stops it at the end. With `--url http://127.0.0.1:3000` (or TASKCHAT_URL) it talks to a
 * running server instead, as a fresh dev-mode user (X-User-Id), or with TASKCHAT_TOKEN as a
 * bearer token. The script is written in plain words, so it reads the same with either model.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { type RunningServer, startServer } from '../src/server.ts';

const USAGE = `usage: npm run demo [-- --url http://127.0.0.1:3000]

  (no --url)   start an in-memory taskchat server for the demo, and stop it at the end
  --url <url>  talk to a running taskchat server instead (or set TASKCHAT_URL)
  TASKCHAT_TOKEN=<jwt>  a bearer token for a server in AUTH_MODE=jwt (default: X-User-Id, dev mode)`;

const SCRIPT = [
  'Add buy milk tomorrow, high priority',
  'Remind me to call mom on Friday',
  'add file taxes !low',
  "What's on my list?",
  'I bought the milk',
  'Rename the mom one to call mom and dad',
  'Move the taxes to next monday',
  'What do I still have to do?',
];

type Answer = {
  conversationId: string;
  reply: string;
  toolCalls: { name: string; args: unknown }[];
  error?: { code: string; message: string };
};
type Task = { id: number; title: string; completed: boolean; priority: string; dueDate: string | null };

let options: { url?: string; help?: boolean };
try {
  ({ values: options } = parseArgs({
    options: { url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }));
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(2);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}

const target = options.url ?? process.env.TASKCHAT_URL;
let server: RunningServer | undefined;
let baseUrl: string;
let user: string;

if (target) {
  try {
    baseUrl = new URL(target).origin;
  } catch {
    console.error(`demo: "${target}" is not a URL (e.g. http://127.0.0.1:3000)\n${USAGE}`);
    process.exit(2);
  }
  // A user of its own, so a second run does not find the first run's tasks.
  user = `demo-${randomBytes(4).toString('hex')}`;
  console.log(
    `taskchat demo: talking to the running server at ${baseUrl} as user "${user}"` +
      `${process.env.TASKCHAT_TOKEN ? ' (with TASKCHAT_TOKEN)' : ' (dev-mode X-User-Id)'}.\n` +
      'Its model is whatever that server is configured with: the offline command reader unless it has OPENAI_API_KEY.\n',
  );
} else {
  const config = loadConfig({
    DATABASE_URL: 'pglite://memory',
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    AUTH_MODE: 'dev',
  });
  const model =
    config.model.id === 'offline'
      ? 'the offline command reader (a command parser, not an AI; set OPENAI_API_KEY for a real model)'
      : `model ${config.model.id}`;
  const database =
    config.db.driver !== 'pglite'
      ? `the ${config.db.driver} database from DATABASE_URL`
      : config.db.url === 'memory'
        ? 'embedded Postgres in memory, gone when the demo ends'
        : `embedded Postgres in ${config.db.url}`;
  server = await startServer(config);
  baseUrl = server.url;
  user = 'demo-user';
  console.log(
    `taskchat demo: talking to its own taskchat server, started in this process at ${baseUrl} and stopped at the end,\n` +
      `with ${model}, on ${database}.\n` +
      'To talk to a running server instead: npm run demo -- --url http://127.0.0.1:3000 (or TASKCHAT_URL).\n',
  );
}

const headers: Record<string, string> = process.env.TASKCHAT_TOKEN
  ? { authorization: `Bearer ${process.env.TASKCHAT_TOKEN}` }
  : { 'x-user-id': user };

try {
  let conversationId: string | undefined;
  for (const message of SCRIPT) {
    const res = await request('/chat', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ message, conversationId }),
    });
    const answer = (await res.json()) as Answer;
    if (!res.ok) fail(res.status, answer.error);
    conversationId = answer.conversationId;
    console.log(`you> ${message}`);
    for (const call of answer.toolCalls) console.log(`     [${call.name} ${JSON.stringify(call.args)}]`);
    console.log(`bot> ${answer.reply.replaceAll('\n', '\n     ')}\n`);
  }
  const res = await request('/tasks', { headers });
  const body = (await res.json()) as { tasks: Task[]; error?: Answer['error'] };
  if (!res.ok) fail(res.status, body.error);
  console.log('GET /tasks');
  for (const t of body.tasks) {
    console.log(
      `  #${t.id} [${t.completed ? 'x' : ' '}] ${t.title} (${t.priority}${t.dueDate ? `, due ${t.dueDate}` : ''})`,
    );
  }
} catch (error) {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await server?.close();
}

async function request(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(`${baseUrl}${path}`, init);
  } catch {
    throw new Error(`no taskchat server answers at ${baseUrl} (is it running? npm start)`);
  }
}

function fail(status: number, error: Answer['error']): never {
  if (status === 401) {
    throw new Error(`${baseUrl} wants credentials (AUTH_MODE=jwt?): set TASKCHAT_TOKEN to a bearer token`);
  }
  throw new Error(`${status} ${error?.code ?? ''}: ${error?.message ?? 'no error message'}`);
}
