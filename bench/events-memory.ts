// Preloaded into the benchmark's instance A (bench/events.ts): on SIGUSR2, a full garbage
// collection, then the process's memory on stderr, so the figure per open stream is what the
// streams keep alive, not garbage waiting for the next collection.
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  process.stderr.write(`MEMORY ${JSON.stringify(process.memoryUsage())}\n`);
});
