// Preloaded into an app a bench measures (`--expose-gc --import`, see `processMemory` in
// ./machine.ts; ./turn-memory.ts, ./events.ts): on SIGUSR2, a full garbage collection, then the
// process's memory (and a heap snapshot, when the bench asked for one) written to a file the bench
// reads, so a figure per turn or per stream is what they keep alive, not garbage waiting for the
// next collection, and does not depend on how busy the machine is.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';

const base = `/tmp/taskchat-memory-${process.pid}`;

process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  let command = 'measure';
  try {
    command = readFileSync(`${base}.cmd`, 'utf8').trim();
    rmSync(`${base}.cmd`);
  } catch {}
  gc?.();
  gc?.();
  // Memory first: writing a snapshot takes native memory of its own (RSS).
  writeFileSync(`${base}.json.tmp`, JSON.stringify(process.memoryUsage()));
  if (command.startsWith('snapshot ')) writeHeapSnapshot(command.slice('snapshot '.length));
  renameSync(`${base}.json.tmp`, `${base}.json`);
});
