/** `npm run db:migrate`: apply pending migrations through DATABASE_URL_UNPOOLED, then exit. */
import { type Config, ConfigError, loadConfig, redactUrl } from '../config.ts';
import { migrateDatabase } from './migrate.ts';
import { describeStartupFailure } from './startup-error.ts';

let config: Config | undefined;
try {
  config = loadConfig(process.env);
  await migrateDatabase(config.db);
  console.log(`migrations applied (${config.db.driver}, ${redactUrl(config.db.migrationUrl)})`);
} catch (error) {
  // Driver messages can carry the URL and SQL: only our own words (variable, host, reason).
  const reason =
    error instanceof ConfigError || !config
      ? (error as Error).message
      : describeStartupFailure(error, config.db).message;
  console.error(`db:migrate failed: ${reason}`);
  process.exitCode = 1;
}
