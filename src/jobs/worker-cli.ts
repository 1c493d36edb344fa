/**
 * `npm run worker`: only the background worker (reminders, webhook deliveries), for deployments
 * that run it apart from the web instances (those set WORKER=false). Migrates like `npm start`,
 * runs until SIGTERM/SIGINT, then stops taking jobs, lets the running ones finish, and exits 0.
 * On Neon it works through DATABASE_URL_UNPOOLED (a session for LISTEN; see jobs/engine.ts).
 */
import { type Config, ConfigError, loadConfig } from '../config.ts';
import { openMigratedDatabase } from '../db/migrate.ts';
import { describeStartupFailure, StartupError } from '../db/startup-error.ts';
import { createLogger, errorFields } from '../log.ts';
import { startJobRunner } from './runner.ts';

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`taskchat worker: ${error.message}`);
  process.exit(1);
}

const logger = createLogger(config.logLevel).child({ process: 'worker' });
let requestStop!: (signal: NodeJS.Signals) => void;
const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
  requestStop = resolve;
});
// Installed before start-up, so a signal at any moment stops cleanly instead of killing the process.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => requestStop(signal));
try {
  const database = await openMigratedDatabase(config.db);
  const runner = await startJobRunner({ config, database, logger }).catch(async (error) => {
    await database.close();
    throw describeStartupFailure(error, config.db);
  });
  stopRequested.then(async (signal) => {
    logger.info('worker stopping', { signal });
    await runner.stop();
    await database.close();
    logger.info('stopped');
    process.exit(0);
  });
} catch (error) {
  if (error instanceof StartupError) {
    console.error(`taskchat worker: start-up failed: ${error.message}`);
  } else {
    logger.error('worker start-up failed', errorFields(error));
  }
  process.exit(1);
}
