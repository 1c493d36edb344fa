import { defineConfig } from 'vitest/config';

// Two projects, so the fast suite can run alone. `unit`: the pure modules' tests beside them in src/
// (no database, app, server or browser; seconds). `integration`: test/, the service through its real
// interfaces (PGlite and Postgres clusters, the fake model, Chromium, an OAuth server; minutes).
// `npm test` runs both; `npm run test:unit` only the first. The settings below are the root's, which
// both projects inherit, so that command-line options (`--testTimeout`) still override them.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: PGlite boots and three drivers per file are the slow part, not the CPU.
    fileParallelism: true,
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/**/*.test.ts'] } },
    ],
  },
});
