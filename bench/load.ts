// Closed-loop load: N virtual clients, each sending its next turn as soon as the previous one
// answered. A warm-up phase (time and turns per client) runs first with the same clients, so the
// measured window sees warm JIT, open pool connections and conversations whose history window is
// already full. Only turns that start and end inside the measured window count.

export type Turn = (client: number) => Promise<void>;

export type LoadOptions = {
  concurrency: number;
  warmupMs: number;
  /** Every client does at least this many warm-up turns (fills its history window). */
  warmupTurns: number;
  measureMs: number;
  /** Called when the measured window opens and when it closes (e.g. to sample machine CPU). */
  window?: { open(): void; close(): void };
};

export type LoadResult = {
  concurrency: number;
  turns: number;
  errors: number;
  seconds: number;
  turnsPerSecond: number;
  p50: number;
  p99: number;
  /** Node CPU (user + system) per measured turn, milliseconds. */
  cpuMsPerTurn: number;
  firstError?: string;
};

export async function runLoad(turn: Turn, options: LoadOptions): Promise<LoadResult> {
  const { concurrency } = options;
  let warmupErrors = 0;
  let firstError: string | undefined;

  // Warm-up.
  const warmupEnd = performance.now() + options.warmupMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      for (let done = 0; done < options.warmupTurns || performance.now() < warmupEnd; done++) {
        try {
          await turn(client);
        } catch (error) {
          warmupErrors++;
          firstError ??= describe(error);
          if (warmupErrors > 20) throw new Error(`warm-up keeps failing: ${firstError}`);
        }
      }
    }),
  );

  // Measured window.
  const latencies: number[] = [];
  let errors = 0;
  options.window?.open();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const end = start + options.measureMs;
  let cpuEnd: NodeJS.CpuUsage | undefined;
  const closeWindow = () => {
    cpuEnd = process.cpuUsage(cpuStart);
    options.window?.close();
  };
  const stopCpu = setTimeout(closeWindow, options.measureMs);
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await turn(client);
          const t1 = performance.now();
          if (t1 <= end) latencies.push(t1 - t0);
        } catch (error) {
          errors++;
          firstError ??= describe(error);
        }
      }
    }),
  );
  clearTimeout(stopCpu);
  if (!cpuEnd) closeWindow();
  cpuEnd ??= process.cpuUsage(cpuStart);
  const seconds = options.measureMs / 1000;
  latencies.sort((a, b) => a - b);
  const cpuMs = (cpuEnd.user + cpuEnd.system) / 1000;
  return {
    concurrency,
    turns: latencies.length,
    errors,
    seconds,
    turnsPerSecond: latencies.length / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    cpuMsPerTurn: latencies.length ? cpuMs / latencies.length : Number.NaN,
    firstError,
  };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A JSON POST to the in-process app as an HTTP client sends it, Content-Length included:
 * `app.request` leaves it out, and without it the app's body-size limit copies the body through
 * a stream to count it, a cost no real client causes.
 */
export function jsonPost(body: unknown, headers: Record<string, string>): RequestInit {
  const text = JSON.stringify(body);
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    },
    body: text,
  };
}
