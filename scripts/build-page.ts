/**
 * Builds the chat page and the MCP app (web/ -> web/dist: index.html with its hashed assets, and
 * the self-contained mcp-app.html the MCP server serves as `ui://taskchat/tasks`) with Vite. `npm run build` always builds; `prestart`
 * runs it with `--if-stale`, so that `npm install && npm start` serves the page on a fresh
 * machine and after a `git pull` that changed web/, and costs nothing when the build is current.
 * Vite is a devDependency: in a production install without it, a missing or old build is
 * reported (the server still starts, and `GET /` explains) instead of failing the start.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('../web', import.meta.url));
// The chat page's build empties web/dist; the MCP app's then adds its one file.
const BUILDS = [
  { config: 'vite.config.ts', output: join(WEB, 'dist', 'index.html') },
  { config: 'vite.mcp-app.config.ts', output: join(WEB, 'dist', 'mcp-app.html') },
];
const ifStale = process.argv.includes('--if-stale');

/** Newest modification time among the page's sources (everything in web/ but the build). */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const built = BUILDS.every(({ output }) => existsSync(output));
const oldest = built ? Math.min(...BUILDS.map(({ output }) => statSync(output).mtimeMs)) : 0;
if (ifStale && built && oldest >= newestSource(WEB)) process.exit(0);

let vite: typeof import('vite');
try {
  vite = await import('vite');
} catch {
  if (!ifStale) {
    console.error(
      'taskchat: Vite is not installed; run `npm install` (with devDependencies), then `npm run build`.',
    );
    process.exit(1);
  }
  console.warn(
    built
      ? 'taskchat: web/ changed since the chat page was built, and Vite is not installed to rebuild it; serving the old build. `npm install && npm run build` updates it.'
      : 'taskchat: the chat page is not built and Vite is not installed (production install?). The API works; to serve the page, run `npm install && npm run build` before pruning dev dependencies.',
  );
  process.exit(0);
}

if (ifStale)
  console.log(`taskchat: ${built ? 'web/ changed, rebuilding' : 'building'} the chat page (web/dist)`);
for (const { config } of BUILDS) {
  await vite.build({ configFile: join(WEB, config), logLevel: ifStale ? 'warn' : 'info' });
}
