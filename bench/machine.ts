// Where the machine's CPU went during a measured window (Linux /proc): this Node process, the
// Postgres processes working for the benchmark (backends of its own databases, and the shared
// background processes: checkpointer, WAL writer...), the WebSocket bridge process, and everything
// else ("other": other programs, other databases' backends, kernel work no process is charged for). On a shared 2-core machine the "other"
// share says whether a row was disturbed. Without /proc every figure is NaN.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const TICK_MS = 10; // USER_HZ is 100 on Linux

type Snapshot = {
  at: number;
  busyMs: number;
  node: number;
  postgresMs: Map<string, number>;
  bridgeMs: number;
  childrenMs: Record<string, number>;
};

export type CpuSplit = {
  /** Milliseconds of CPU over the window. */
  nodeMs: number;
  postgresMs: number;
  bridgeMs: number;
  /** The named processes given to the monitor (the real-path rows' app server and model server). */
  childrenMs: Record<string, number>;
  otherMs: number;
  /** Share of all cores busy with other work, 0-100. */
  otherPercent: number;
  /** Share of all cores busy, 0-100. */
  busyPercent: number;
};

function machineBusyMs(): number {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0); // without guest (already in user)
    return (total - idle) * TICK_MS;
  } catch {
    return Number.NaN;
  }
}

/** utime + stime of one process, from /proc/<pid>/stat; the name is field 2 in parentheses. */
export function processCpu(pid: string): { name: string; ms: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const name = text.slice(text.indexOf('(') + 1, close);
    const rest = text.slice(close + 2).split(' ');
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return { name, ms: (Number(rest[11]) + Number(rest[12])) * TICK_MS };
  } catch {
    return undefined;
  }
}

/** Resident memory of one process in KiB (VmRSS in /proc/<pid>/status); NaN without /proc. */
export function processRssKb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * Connections the kernel dropped because a listen queue was full (TcpExt ListenOverflows in
 * /proc/net/netstat, machine-wide, since boot); NaN without /proc.
 */
export function listenOverflows(): number {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const header = lines.findIndex((line) => line.startsWith('TcpExt:'));
    const names = (lines[header] ?? '').split(/\s+/);
    const values = (lines[header + 1] ?? '').split(/\s+/);
    const at = names.indexOf('ListenOverflows');
    return at < 0 ? Number.NaN : Number(values[at]);
  } catch {
    return Number.NaN;
  }
}

// A client backend's title names its database and client: "postgres: 15/main: user db 127.0.0.1(5432) idle".
const CLIENT_BACKEND = /\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]|::1\(\d+\)/;

/**
 * Postgres CPU for the benchmark, by process: backends whose title contains `databaseTag`, and
 * every background process. By process because a backend can exit inside a window (a pool closes
 * an idle connection): a plain sum would then lose the CPU it had used before the window, not
 * just in it, and read low or even negative.
 */
function postgresMs(databaseTag: string): Map<string, number> {
  const byPid = new Map<string, number>();
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const cpu = processCpu(pid);
      if (cpu?.name !== 'postgres') continue;
      let title = '';
      try {
        title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (title.includes(databaseTag) || !CLIENT_BACKEND.test(title)) byPid.set(pid, cpu.ms);
    }
  } catch {
    return new Map([['', Number.NaN]]);
  }
  return byPid;
}

/** CPU used between two by-process readings: processes born in between count whole. */
function cpuBetween(before: Map<string, number>, after: Map<string, number>): number {
  let sum = 0;
  for (const [pid, ms] of after) sum += ms - (before.get(pid) ?? 0);
  return sum;
}

/**
 * `databaseTag`: a string in the names of the benchmark's databases (and of no other). `children`:
 * other processes of the bench by name (pid), each reported apart and not counted as other load.
 */
export function createCpuMonitor(
  databaseTag: string,
  bridgePid?: () => number | undefined,
  children: Record<string, number> = {},
) {
  let first: Snapshot | undefined;
  let last: CpuSplit | undefined;
  const snapshot = (): Snapshot => {
    const usage = process.cpuUsage();
    const pid = bridgePid?.();
    return {
      at: performance.now(),
      busyMs: machineBusyMs(),
      node: (usage.user + usage.system) / 1000,
      postgresMs: postgresMs(databaseTag),
      bridgeMs: pid ? (processCpu(String(pid))?.ms ?? 0) : 0,
      childrenMs: Object.fromEntries(
        Object.entries(children).map(([name, child]) => [name, processCpu(String(child))?.ms ?? Number.NaN]),
      ),
    };
  };
  return {
    open() {
      first = snapshot();
    },
    close() {
      if (!first) return;
      const now = snapshot();
      const nodeMs = now.node - first.node;
      const pgMs = cpuBetween(first.postgresMs, now.postgresMs);
      const bridgeMs = now.bridgeMs - first.bridgeMs;
      const busyMs = now.busyMs - first.busyMs;
      const childrenMs = Object.fromEntries(
        Object.entries(now.childrenMs).map(([name, ms]) => [name, ms - (first?.childrenMs[name] ?? 0)]),
      );
      const childrenSum = Object.values(childrenMs).reduce((a, b) => a + b, 0);
      // A backend that exits inside the window takes its in-window CPU with it (counted as other).
      const otherMs = Math.max(0, busyMs - nodeMs - pgMs - bridgeMs - childrenSum);
      const capacity = (now.at - first.at) * os.availableParallelism();
      last = {
        nodeMs,
        postgresMs: Math.max(0, pgMs),
        bridgeMs,
        childrenMs,
        otherMs,
        otherPercent: (100 * otherMs) / capacity,
        busyPercent: (100 * busyMs) / capacity,
      };
    },
    result(): CpuSplit | undefined {
      return last;
    },
  };
}

/** Busy share of all cores over `ms`. */
export async function busyPercent(ms = 1000): Promise<number> {
  const before = machineBusyMs();
  const at = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (100 * (machineBusyMs() - before)) / ((performance.now() - at) * os.availableParallelism());
}

/** Waits (up to `maxMs`) until the machine is mostly idle, so a row does not start in someone else's burst. */
export async function waitForQuiet(
  log: (message: string) => void,
  maxMs = 10_000,
  threshold = 25,
): Promise<number> {
  const deadline = performance.now() + maxMs;
  let busy = await busyPercent();
  let told = false;
  while (busy > threshold && performance.now() < deadline) {
    if (!told)
      log(
        `  machine busy (${busy.toFixed(0)}% of all cores) with other work; waiting up to ${maxMs / 1000} s`,
      );
    told = true;
    busy = await busyPercent();
  }
  return busy;
}

/** The preload that makes an app answer `processMemory` (give its node `--expose-gc --import` it). */
export const MEMORY_PROBE = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));

export type Memory = {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
};

/** An app's memory after a full GC, asked of ./memory-probe.ts (and a heap snapshot to `snapshot`). */
export async function processMemory(pid: number, snapshot?: string): Promise<Memory> {
  const base = `/tmp/taskchat-memory-${pid}`;
  rmSync(`${base}.json`, { force: true });
  if (snapshot) writeFileSync(`${base}.cmd`, `snapshot ${snapshot}`);
  process.kill(pid, 'SIGUSR2');
  const deadline = performance.now() + 300_000;
  while (!existsSync(`${base}.json`)) {
    if (performance.now() > deadline) throw new Error('the app did not report its memory');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const memory = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as Memory;
  rmSync(`${base}.json`, { force: true });
  return memory;
}
