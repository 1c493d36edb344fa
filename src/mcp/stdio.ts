#!/usr/bin/env node
/**
 * @module mcp/stdio
 * `npm run mcp` / `taskchat-mcp`: the task tools over stdio, for MCP hosts that launch a process
 * (Claude Desktop, IDE agents). There is no login on a pipe, so the user is fixed by whoever
 * configured the host: TASKCHAT_USER, with the database from DATABASE_URL as for `npm start`.
 *
 * stdout carries the protocol and nothing else: logs are JSON lines on stderr, and console output
 * a dependency might print is sent there too, since one stray line would break the client.
 * End of input (the host quitting, or the end of a piped script) stops the server once every
 * request read has been answered (./stdio-transport.ts); SIGTERM or SIGINT stop it at once. Either
 * way the database is closed and the process exits 0.
 *
 * The SDK's `serveStdio` decides the protocol generation from the host's first message (a
 * 2025-era `initialize`, or a 2026-07-28 request) and serves the connection with one server from
 * the factory. A 2026-era host built on the TypeScript SDK first starts the server once more just
 * to ask its version (`server/discover`), then stops it (SIGTERM, then SIGKILL after a second)
 * before starting the one it keeps: the two never run at the same time, and an embedded database
 * left locked by a killed probe is taken over (db/client.ts).
 */
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { USER_ID_PATTERN, USER_ID_RULE } from '../auth/user-id.ts';
import { type Config, ConfigError, loadConfig } from '../config.ts';
import type { Database } from '../db/client.ts';
import { openMigratedDatabase } from '../db/migrate.ts';
import { registerInstance } from '../instances/registry.ts';
import { createLogger, errorFields } from '../log.ts';
import { createTaskRepository } from '../tasks/repository.ts';
import { createMcpServer } from './server.ts';
import { LineStdioTransport } from './stdio-transport.ts';

console.log = console.error;
console.info = console.error;
console.debug = console.error;

/** Start-up refused: one line on stderr, exit 1. */
function refuse(message: string): never {
  process.stderr.write(`taskchat-mcp: ${message}\n`);
  process.exit(1);
}

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  refuse(error.message);
}

const userId = config.mcpUser;
if (!userId) refuse('TASKCHAT_USER is required: the user id whose tasks this MCP server manages');
if (!USER_ID_PATTERN.test(userId)) refuse(`TASKCHAT_USER must be ${USER_ID_RULE}`);

const logger = createLogger(config.logLevel, (line) => process.stderr.write(line));

let db: Database;
try {
  db = await openMigratedDatabase(config.db);
} catch (error) {
  refuse(`start-up failed: ${(error as Error).message}`);
}

// Known to the other processes as alive, as every process of the deployment is (instances/registry.ts).
const instance = await registerInstance(db, { kind: 'mcp', logger }).catch((error: unknown) => {
  logger.error('start-up failed', errorFields(error));
  refuse('start-up failed: the database refused the process registration');
});
// No request names a zone on a pipe: each tool's statement takes TASKCHAT_USER's stored zone, else
// DEFAULT_TIMEZONE.
const repo = createTaskRepository(db, { defaultTimezone: config.defaultTimezone });
const transport = new LineStdioTransport();
const connection = serveStdio(() => createMcpServer(repo, userId, { logger }), {
  transport,
  onerror: (error) => logger.warn('mcp protocol error', errorFields(error)),
});

let stopping = false;
async function stop(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info('taskchat MCP server stopping', { reason });
  // A database that will not close must not keep a host waiting for the process to go away.
  setTimeout(() => process.exit(0), 5000).unref();
  try {
    await connection.close();
    await instance.stop();
    await db.close();
  } catch (error) {
    logger.error('shutdown failed', errorFields(error));
  }
  logger.info('taskchat MCP server stopped', { reason });
  process.exit(0);
}

transport.closed.then(() => stop('stdin closed'));
process.stdout.on('error', () => stop('stdout closed'));
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));

logger.info('taskchat MCP server ready', { user: userId, driver: config.db.driver });
