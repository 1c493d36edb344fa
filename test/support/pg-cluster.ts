// A private PostgreSQL 15 cluster for fault tests: the shared server at 127.0.0.1:5432 must never
// be stopped, but a test of "the database went away" needs a real server it may kill and start
// again on the same port. Each cluster lives under /tmp in its own directory, listens on
// 127.0.0.1 on a free port with trust auth, and is removed by destroy(); an exit hook and a
// watchdog process stop it even when the test process dies without cleaning up.

import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import pg from 'pg';

const BIN = process.env.PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';
const HOST = '127.0.0.1';
const START_TIMEOUT_S = 30;

export type PgStopMode = 'fast' | 'immediate';

export type PgCluster = {
  readonly host: string;
  /** Fixed for the cluster's life: start() after stop() listens on it again. */
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  readonly url: string;
  /** The cluster's temp directory (data dir, socket dir and log inside). */
  readonly dir: string;
  readonly running: boolean;
  /** The URL of `database` on this cluster. */
  urlFor(database: string): string;
  /** Creates a database (default: a unique name) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /**
   * `fast`: sessions are terminated (clients get a FATAL 57P01), a clean shutdown.
   * `immediate`: every process quits at once, as in a crash; the next start runs recovery.
   */
  stop(mode?: PgStopMode): Promise<void>;
  /** Starts again on the same port and resolves once it accepts connections (bounded wait). */
  start(): Promise<void>;
  /** The server log so far, for failure messages. */
  log(): string;
  /** Stops the server (immediate) and removes the directory. Idempotent. */
  destroy(): Promise<void>;
};

export type PgClusterOptions = {
  /** Extra postgresql.conf settings, e.g. `{ max_connections: 20 }`. */
  settings?: Record<string, string | number | boolean>;
};

/**
 * Creates (initdb) and starts a private cluster.
 *
 * @example
 * const pg = await startPgCluster();
 * const url = await pg.createDatabase(); // postgres://postgres@127.0.0.1:PORT/<unique>
 * await pg.stop('immediate');            // clients see their connections die
 * await pg.start();                      // same port, accepting connections again
 * await pg.destroy();
 */
export async function startPgCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const dir = mkdtempSync('/tmp/taskchat-pg-');
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const owner = runAs();
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const live: LiveCluster = { data, dir, owner, running: false, watchdog: undefined };
  liveClusters.add(live);
  installExitHook();

  const destroy = async () => {
    if (!liveClusters.has(live)) return;
    liveClusters.delete(live);
    // Also when not marked running: a start that timed out may have left a postmaster behind.
    await pgCtl(live, ['-m', 'immediate', '-w', 'stop']).catch(() => {});
    live.running = false;
    if (live.watchdog?.pid) {
      try {
        process.kill(live.watchdog.pid);
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  };

  let port = 0;
  try {
    await run(live, join(BIN, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ]);
    live.watchdog = startWatchdog(live);
    // A free port can be taken between probing and binding: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      writeSettings(data, port, dir, options.settings);
      try {
        await startServer(live, logFile);
        break;
      } catch (err) {
        if (attempt >= 3 || !/could not bind|already in use/i.test(readLog(logFile))) throw err;
      }
    }
  } catch (err) {
    const log = readLog(logFile);
    await destroy();
    throw new Error(`private Postgres cluster failed to start: ${String(err)}\n${log}`);
  }

  const urlFor = (database: string) => `postgres://postgres@${HOST}:${port}/${encodeURIComponent(database)}`;

  return {
    host: HOST,
    port,
    url: urlFor('postgres'),
    dir,
    get running() {
      return live.running;
    },
    urlFor,
    async createDatabase(name = `fault_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      const client = new pg.Client({ connectionString: urlFor('postgres') });
      await client.connect();
      try {
        await client.query(`create database ${name}`);
      } finally {
        await client.end();
      }
      return urlFor(name);
    },
    async stop(mode = 'fast') {
      if (!live.running) throw new Error('private Postgres cluster is not running');
      await pgCtl(live, ['-m', mode, '-w', '-t', String(START_TIMEOUT_S), 'stop']);
      live.running = false;
    },
    async start() {
      if (!liveClusters.has(live)) throw new Error('private Postgres cluster was destroyed');
      if (live.running) throw new Error('private Postgres cluster is already running');
      try {
        await startServer(live, logFile);
      } catch (err) {
        throw new Error(
          `private Postgres cluster failed to start again: ${String(err)}\n${readLog(logFile)}`,
        );
      }
    },
    log: () => readLog(logFile),
    destroy,
  };
}

type LiveCluster = {
  data: string;
  dir: string;
  owner: { uid: number; gid: number } | undefined;
  running: boolean;
  watchdog: ReturnType<typeof spawn> | undefined;
};

const liveClusters = new Set<LiveCluster>();
let exitHookInstalled = false;

// Synchronous, because 'exit' handlers cannot wait: a test file that threw or forgot destroy()
// must not leave a postmaster behind. The watchdog covers a process killed outright.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const live of liveClusters) {
      try {
        if (live.running) {
          const [cmd, args] = command(live, join(BIN, 'pg_ctl'), [
            '-D',
            live.data,
            '-m',
            'immediate',
            '-w',
            'stop',
          ]);
          execFileSync(cmd, args, { cwd: live.dir, stdio: 'ignore', timeout: 10_000 });
        }
      } catch {}
      rmSync(live.dir, { recursive: true, force: true });
    }
    liveClusters.clear();
  });
}

// A detached shell that outlives this process only to stop the cluster and remove its directory
// once this process is gone (SIGKILL, a worker torn down): 'exit' handlers do not run then.
// After a clean exit it finds the cluster already gone and does nothing harmful.
function startWatchdog(live: LiveCluster): ReturnType<typeof spawn> {
  const [cmd, args] = command(live, join(BIN, 'pg_ctl'), ['-D', live.data, '-m', 'immediate', '-w', 'stop']);
  const script = [
    'while kill -0 "$0" 2>/dev/null; do sleep 1; done',
    `${[cmd, ...args].map(shellQuote).join(' ')} >/dev/null 2>&1`,
    `rm -rf ${shellQuote(live.dir)}`,
  ].join('\n');
  const child = spawn('sh', ['-c', script, String(process.pid)], { detached: true, stdio: 'ignore' });
  child.unref();
  return child;
}

async function startServer(live: LiveCluster, logFile: string): Promise<void> {
  // -w waits until the postmaster reports it accepts connections (after any crash recovery).
  await pgCtl(live, ['-l', logFile, '-w', '-t', String(START_TIMEOUT_S), 'start']);
  live.running = true;
}

function pgCtl(live: LiveCluster, args: string[]): Promise<void> {
  return run(live, join(BIN, 'pg_ctl'), ['-D', live.data, ...args]);
}

// initdb and postgres refuse to run as root: as root, run them as the `postgres` OS user.
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) throw new Error('running as root, but there is no `postgres` OS user to run Postgres as');
  return { uid: Number(uid), gid: Number(gid) };
}

function command(live: LiveCluster, bin: string, args: string[]): [string, string[]] {
  return live.owner ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

function run(live: LiveCluster, bin: string, args: string[]): Promise<void> {
  const [cmd, cmdArgs] = command(live, bin, args);
  return new Promise((resolve, reject) => {
    // cwd: the postgres user may not be allowed into the test's working directory.
    execFile(
      cmd,
      cmdArgs,
      { cwd: live.dir, timeout: (START_TIMEOUT_S + 10) * 1000 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`${bin.split('/').at(-1)} ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`));
        else resolve();
      },
    );
  });
}

function writeSettings(
  data: string,
  port: number,
  socketDir: string,
  extra: Record<string, string | number | boolean> = {},
): void {
  const settings: Record<string, string | number | boolean> = {
    listen_addresses: HOST,
    port,
    unix_socket_directories: socketDir,
    // Speed without losing what a process crash must keep: "crash" here is stop('immediate'), the
    // kernel survives it, so WAL written without fsync is still there for recovery. Not
    // synchronous_commit = off: that would lose commits acknowledged just before the crash.
    fsync: false,
    full_page_writes: false,
    shared_buffers: '32MB',
    max_connections: 50,
    ...extra,
  };
  const lines = Object.entries(settings).map(([key, value]) => {
    const text = typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value);
    return `${key} = '${text.replaceAll("'", "''")}'`;
  });
  // Later lines win, so a retry with another port simply appends.
  appendFileSync(join(data, 'postgresql.conf'), `\n# taskchat test cluster\n${lines.join('\n')}\n`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
