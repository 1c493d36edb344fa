/**
 * `npm run test:conformance`: the official MCP conformance suite (`@modelcontextprotocol/conformance`,
 * pinned in devDependencies, so nothing is fetched) against a real taskchat server, once per
 * protocol revision the server speaks (2025-11-25 and 2026-07-28), each with the scenarios that
 * revision requires. Exits non-zero when any check fails that the revision's baseline
 * (conformance/expected-failures-<revision>.yaml) does not list, or when a listed one starts
 * passing (the baseline must then shrink).
 *
 * The baselines hold only scenarios written against the reference server's fixture tools, prompts
 * and resources (`test_simple_text`, `test://static-text`, ...), which a product server does not
 * have; every protocol-level check (handshake, statelessness, listing, errors, headers, DNS
 * rebinding) must pass.
 *
 * The suite cannot send headers, so a small proxy in front of the server adds the dev-mode user
 * (`X-User-Id`) to every request and passes everything else as sent (Host and Origin included, which
 * the DNS-rebinding scenario depends on). The server runs in dev mode on an in-memory PGlite.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startServer } from '../src/server.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BASELINES = join(ROOT, 'conformance');
const REVISIONS = ['2025-11-25', '2026-07-28'] as const;
const CONFORMANCE_USER = 'conformance';

// The server serves the MCP app's document (web/dist/mcp-app.html), which the caching scenario reads.
execFileSync(process.execPath, [join(ROOT, 'scripts/build-page.ts'), '--if-stale'], { stdio: 'inherit' });

const config = loadConfig({
  PORT: '0',
  HOST: '127.0.0.1',
  AUTH_MODE: 'dev',
  DATABASE_URL: 'pglite://memory',
  LOG_LEVEL: 'error',
  OPENAI_API_KEY: 'unused',
});
const server = await startServer(config, createLogger('error'));
const upstream = new URL(server.url);

const proxy = createServer((incoming, outgoing) => {
  const forwarded = request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: incoming.method,
      path: incoming.url,
      headers: { ...incoming.headers, 'x-user-id': CONFORMANCE_USER },
    },
    (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    },
  );
  forwarded.on('error', () => outgoing.destroy());
  incoming.pipe(forwarded);
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const { port } = proxy.address() as AddressInfo;

/** One run of the suite's CLI; resolves with its exit code. */
function runSuite(revision: string): Promise<number> {
  const baseline = join(BASELINES, `expected-failures-${revision}.yaml`);
  const cli = fileURLToPath(import.meta.resolve('@modelcontextprotocol/conformance/dist/index.js'));
  const args = [
    cli,
    'server',
    '--url',
    `http://127.0.0.1:${port}/mcp`,
    '--requirements',
    revision,
    '--expected-failures',
    baseline,
    // Anything after `--` (e.g. `-o <dir>` to keep every check's result, `--verbose`) goes to the suite.
    ...process.argv.slice(2),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

let failed = 0;
for (const revision of REVISIONS) {
  console.log(`\nMCP conformance, protocol revision ${revision}`);
  const code = await runSuite(revision);
  if (code !== 0) failed++;
}

proxy.close();
await server.close(0);
console.log(
  failed === 0
    ? `\nMCP conformance: both revisions pass (baselines in conformance/)`
    : `\nMCP conformance: ${failed} of ${REVISIONS.length} revisions failed`,
);
process.exit(failed === 0 ? 0 : 1);
