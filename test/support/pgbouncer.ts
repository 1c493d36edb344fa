// A private PgBouncer in transaction mode, in front of the test server: what Neon's pooler is,
// except that Debian's PgBouncer (1.18) predates protocol-level prepared statements (1.21), so it
// shows what any pooler without that support does to named statements. Needs the `pgbouncer`
// binary (apt-get install pgbouncer); `pgBouncerBinary` is undefined without it.
import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { sleep } from './sleep.ts';

export const pgBouncerBinary = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((path) => existsSync(path));

export type PgBouncer = {
  readonly port: number;
  /** `url` with its host and port replaced by the pooler's. */
  urlFor(url: string): string;
  close(): Promise<void>;
};

/** Starts PgBouncer on a free 127.0.0.1 port, pooling onto `target` with `poolSize` server connections. */
export async function startPgBouncer(
  target: { host: string; port: number },
  poolSize = 3,
): Promise<PgBouncer> {
  if (!pgBouncerBinary) throw new Error('pgbouncer is not installed');
  const dir = mkdtempSync('/tmp/taskchat-pgbouncer-');
  const port = await freePort();
  const config = join(dir, 'pgbouncer.ini');
  writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
  writeFileSync(
    config,
    [
      '[databases]',
      `* = host=${target.host} port=${target.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      // pg sends statement_timeout at startup; PgBouncer (like Neon's) refuses unknown ones.
      'ignore_startup_parameters = extra_float_digits,statement_timeout',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
    ].join('\n'),
  );
  // PgBouncer refuses to run as root: then as the `postgres` OS user, like the test clusters.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const [, , uid, gid] =
      readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((line) => line.startsWith('postgres:'))
        ?.split(':') ?? [];
    for (const file of [dir, config, join(dir, 'users.txt')]) chownSync(file, Number(uid), Number(gid));
  }
  const [command, args] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', pgBouncerBinary, config]]
    : [pgBouncerBinary, [config]];
  const child: ChildProcess = spawn(command, args, { cwd: dir, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port, child);
  return {
    port,
    urlFor(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error('pgbouncer did not start listening');
}
