/** `npm start`: read the environment, serve until SIGTERM/SIGINT, drain, exit 0. */
import { type Config, ConfigError, loadConfig } from './config.ts';
import { StartupError } from './db/startup-error.ts';
import { createLogger, errorFields } from './log.ts';
import { startServer } from './server.ts';

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`taskchat: ${error.message}`);
  process.exit(1);
}

const logger = createLogger(config.logLevel);
// Installed before start-up, so a signal at any moment drains instead of killing the process; not
// `once`, so a second signal does not cut the drain short with the default action.
let requestStop!: (signal: NodeJS.Signals) => void;
const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
  requestStop = resolve;
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => requestStop(signal));
try {
  const server = await startServer(config, logger);
  stopRequested.then(async (signal) => {
    logger.info('shutting down: draining', { signal });
    await server.close();
    logger.info('stopped');
    process.exit(0);
  });
} catch (error) {
  if (error instanceof StartupError) {
    // One line a person can act on (which variable, which host, why); no SQL, no password.
    console.error(`taskchat: start-up failed: ${error.message}`);
  } else {
    logger.error('start-up failed', errorFields(error));
  }
  process.exit(1);
}
