/** `npm run db:migrate`: apply pending migrations through DATABASE_URL_UNPOOLED, then exit. */
import { ConfigError, loadConfig, redactUrl } from '../config.ts';
import { migrateDatabase } from './migrate.ts';

try {
  const config = loadConfig(process.env);
  await migrateDatabase(config.db);
  console.log(`migrations applied (${config.db.driver}, ${redactUrl(config.db.migrationUrl)})`);
} catch (error) {
  const reason = error instanceof ConfigError ? error.message : describeFailure(error);
  console.error(`db:migrate failed: ${reason}`);
  process.exitCode = 1;
}

function describeFailure(error: unknown): string {
  // Driver messages can carry the URL; print only the error's class and code.
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = (error as { code?: string }).code ?? cause?.code;
  return `${(error as Error).name ?? 'Error'}${code ? ` (${code})` : ''}`;
}
