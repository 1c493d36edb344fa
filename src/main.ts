/** `npm start`: read the environment, serve until SIGTERM/SIGINT, drain, exit 0. */
import { type Config, ConfigError, loadConfig } from './config.ts';
import { createLogger, errorFields, safeMessage } from './log.ts';
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
try {
  const server = await startServer(config, logger);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, async () => {
      logger.info('shutting down', { signal });
      await server.close();
      logger.info('stopped');
      process.exit(0);
    });
  }
} catch (error) {
  logger.error(`start-up failed: ${safeMessage(error)}`, errorFields(error));
  process.exit(1);
}
