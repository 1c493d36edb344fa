// Fault tests, the process side (issue 9): `npm start` and the stdio MCP server run as real child
// processes, the way a person or a platform runs them: two of them on one embedded database
// directory, start-up against a database that cannot be used, and SIGTERM in the middle of a turn.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOpenAI, startFakeOpenAI } from './support/fake-openai.ts';
import { findLeaks } from './support/fault-app.ts';
import { startMain } from './support/process.ts';
import { sleep } from './support/sleep.ts';

const STDIO_ENTRY = fileURLToPath(new URL('../src/mcp/stdio.ts', import.meta.url));

/** Every file under `dir` with its size and modification time, sorted: "nothing was written" is equality. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const s = await stat(path);
    out.push(`${path} ${s.size} ${s.mtimeMs}`);
  }
  return out.sort();
}

function runStdio(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [STDIO_ENTRY], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (b) => {
      stderr += b.toString();
    });
    child.stdout.on('data', (b) => {
      stdout += b.toString();
    });
    child.once('exit', (code) => resolve({ code, stderr, stdout }));
  });
}

describe('defect 10: one process per embedded database directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskchat-lock-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('a second npm start, or the stdio MCP server, on the same directory stops with one line and writes nothing', async () => {
    const first = startMain({ DATABASE_URL: `pglite://${dir}` });
    try {
      await first.listening;
      const before = await snapshot(dir);

      const second = startMain({ DATABASE_URL: `pglite://${dir}` });
      expect(await second.exited).toBe(1);
      const lines = second.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^taskchat: start-up failed: DATABASE_URL: the embedded database in .* is already open in another process \(pid \d+\)/,
      );
      expect(lines[0]).toContain(dir);

      const mcp = await runStdio({ TASKCHAT_USER: 'alice', DATABASE_URL: `pglite://${dir}` });
      expect(mcp.code).toBe(1);
      expect(mcp.stdout).toBe('');
      expect(mcp.stderr.trim().split('\n')).toHaveLength(1);
      expect(mcp.stderr).toContain('is already open in another process');

      expect(await snapshot(dir)).toEqual(before);
    } finally {
      first.proc.kill('SIGTERM');
      expect(await first.exited).toBe(0);
    }
  });

  it('the directory opens again once its process stopped, or died and left its lock', async () => {
    const first = startMain({ DATABASE_URL: `pglite://${dir}` });
    await first.listening;
    first.proc.kill('SIGKILL');
    await first.exited;
    const next = startMain({ DATABASE_URL: `pglite://${dir}` });
    try {
      await next.listening;
    } finally {
      next.proc.kill('SIGTERM');
      expect(await next.exited).toBe(0);
    }
  });
});

describe("defect 11: start-up failures in a person's words", () => {
  const CLOSED = 'postgres://postgres:hunter2secret@127.0.0.1:1/none';

  async function failedStart(env: Record<string, string>): Promise<string> {
    const child = startMain({ DB_CONNECT_TIMEOUT_MS: '500', ...env });
    expect(await child.exited).toBe(1);
    const lines = child.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = lines[0] ?? '';
    expect(line).not.toContain('hunter2secret');
    expect(findLeaks([line])).toEqual([]);
    expect(line).not.toMatch(/pg_advisory|params|Failed query/i);
    return line;
  }

  it('names DATABASE_URL, the host and port, and that the connection was refused', async () => {
    expect(await failedStart({ DATABASE_URL: CLOSED })).toBe(
      'taskchat: start-up failed: DATABASE_URL: cannot use the database at 127.0.0.1:1: connection refused (ECONNREFUSED); is Postgres running there?',
    );
  });

  it('names DATABASE_URL_UNPOOLED when that is the URL start-up uses', async () => {
    const line = await failedStart({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/whatever',
      DATABASE_URL_UNPOOLED: CLOSED,
    });
    expect(line).toContain(
      'DATABASE_URL_UNPOOLED: cannot use the database at 127.0.0.1:1: connection refused',
    );
  });

  it('says when the password is refused, or TLS cannot be had', async () => {
    const server = await fakePostgres();
    try {
      expect(
        await failedStart({ DATABASE_URL: `postgres://postgres:hunter2secret@127.0.0.1:${server.port}/db` }),
      ).toBe(
        `taskchat: start-up failed: DATABASE_URL: cannot use the database at 127.0.0.1:${server.port}: authentication failed (28P01); check the user name and password in the URL`,
      );
      expect(
        await failedStart({
          DATABASE_URL: `postgres://postgres:hunter2secret@127.0.0.1:${server.port}/db?sslmode=verify-full`,
        }),
      ).toBe(
        `taskchat: start-up failed: DATABASE_URL: cannot use the database at 127.0.0.1:${server.port}: the TLS connection failed; check sslmode and the server's certificate`,
      );
    } finally {
      server.close();
    }
  });

  it('says when the server never answered', async () => {
    const silent = net.createServer(() => {}); // accepts, never speaks
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const line = await failedStart({
        DATABASE_URL: `postgres://postgres:hunter2secret@127.0.0.1:${port}/db`,
      });
      expect(line).toBe(
        `taskchat: start-up failed: DATABASE_URL: cannot use the database at 127.0.0.1:${port}: no answer within DB_CONNECT_TIMEOUT_MS (500 ms)`,
      );
    } finally {
      silent.close();
    }
  });
});

/**
 * A server speaking just enough of the Postgres protocol to refuse: no TLS ('N' to an SSLRequest),
 * and a FATAL 28P01 (password authentication failed) to any startup message.
 */
async function fakePostgres() {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', function answer(packet: Buffer) {
      if (packet.length === 8 && packet.readInt32BE(4) === 80877103) {
        socket.write('N');
        socket.once('data', answer);
        return;
      }
      const fields = ['SFATAL', 'VFATAL', 'C28P01', 'Mpassword authentication failed for user "postgres"'];
      const body = Buffer.concat([...fields.map((f) => Buffer.from(`${f}\0`)), Buffer.from([0])]);
      const header = Buffer.alloc(5);
      header.write('E', 0);
      header.writeInt32BE(body.length + 4, 1);
      socket.end(Buffer.concat([header, body]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

describe('defect 4: SIGTERM during a turn (npm start)', () => {
  let fake: FakeOpenAI;
  let dir: string;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    dir = await mkdtemp(join(tmpdir(), 'taskchat-drain-'));
  });
  afterAll(async () => {
    await fake?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses new requests with 503 draining, finishes and stores the running turn, exits 0', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let called = false;
    fake.setScript(async (req) => {
      if (req.messages.at(-1)?.role === 'tool') return { text: 'Stored before exit.' };
      // Only the turn under test waits; one that slipped in before the signal answers at once.
      if (req.messages.at(-1)?.content !== 'add survive the drain') return { text: 'OK.' };
      called = true;
      await released;
      return { toolCalls: [{ name: 'add_task', args: { title: 'survive the drain' } }] };
    });
    const child = startMain({
      DATABASE_URL: `pglite://${dir}`,
      OPENAI_BASE_URL: fake.baseURL,
      OPENAI_API_KEY: 'k',
      CHAT_MODEL: 'fake',
      MODEL_MAX_RETRIES: '0',
    });
    try {
      const url = await child.listening;
      const post = (message: string) =>
        fetch(`${url}/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-user-id': 'sigterm' },
          body: JSON.stringify({ message }),
        });
      const running = post('add survive the drain');
      while (!called) await sleep(20);
      child.proc.kill('SIGTERM');
      // The signal is handled asynchronously: ask until the server says it drains.
      let refused: Response;
      do {
        refused = await post('too late');
      } while (refused.status !== 503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.headers.get('connection')).toBe('close');
      expect((await refused.json()).error.code).toBe('draining');
      expect((await fetch(`${url}/health`)).status).toBe(503);

      release();
      const res = await running;
      expect(res.status).toBe(200);
      expect((await res.json()).reply).toBe('Stored before exit.');
      expect(await child.exited).toBe(0);
    } finally {
      child.proc.kill('SIGKILL');
      fake.setScript((req) => (req.messages.at(-1)?.role === 'tool' ? { text: 'Done.' } : { text: 'OK.' }));
    }
    // Stored: a new process on the same directory sees the task and the answered turn.
    const after = startMain({ DATABASE_URL: `pglite://${dir}` });
    try {
      const url = await after.listening;
      const tasks = await (await fetch(`${url}/tasks`, { headers: { 'x-user-id': 'sigterm' } })).json();
      expect(tasks.tasks.map((t: any) => t.title)).toEqual(['survive the drain']);
      const list = await (
        await fetch(`${url}/conversations`, { headers: { 'x-user-id': 'sigterm' } })
      ).json();
      const conversation = await (
        await fetch(`${url}/conversations/${list.conversations[0].id}`, {
          headers: { 'x-user-id': 'sigterm' },
        })
      ).json();
      expect(conversation.messages.at(-1)).toMatchObject({
        role: 'assistant',
        content: 'Stored before exit.',
      });
    } finally {
      after.proc.kill('SIGTERM');
      await after.exited;
    }
  });
});
