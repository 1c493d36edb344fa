#!/usr/bin/env node
/**
 * @module scripts/check-node
 * Runs before `npm start`, `npm run db:migrate` and `npm run db:rollback`: taskchat is TypeScript
 * that Node runs directly (type stripping, Node 22.18+ / 23.6+), so an older Node fails on the
 * first import with a raw `ERR_UNKNOWN_FILE_EXTENSION ".ts"` stack. That happens after a
 * production install (`npm prune --omit=dev` removes the project's own Node 24, a devDependency)
 * on a machine whose Node is older: this says so in one line, with what to do, instead.
 *
 * Plain JavaScript on purpose, with no imports: it must run on whatever Node is there.
 */
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const stripsTypes = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
if (!stripsTypes) {
  console.error(
    `taskchat: this is Node ${process.versions.node}, which cannot run taskchat's TypeScript; it needs Node 22.18 or newer (24 recommended). Install Node 24 and run npm start with it (a production install, npm prune --omit=dev, removes the project's own Node 24).`,
  );
  process.exit(1);
}
