// The one pause of the test suite and its support: waiting for something the test cannot await
// directly (a lease to expire, a lock to be taken, a process to get going, a job to run). Node
// ships the pause; `until` polls with it.
import { setTimeout } from 'node:timers/promises';

export const sleep = (ms: number): Promise<void> => setTimeout(ms);

/** What `probe` finds once it finds something (polled every 100 ms); throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(100);
  }
}
