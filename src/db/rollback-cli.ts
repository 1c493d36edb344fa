/**
 * `npm run db:rollback [-- --to <tag> | --all]`: undo the newest applied migration (or every one
 * newer than `<tag>`, or all of them) through DATABASE_URL_UNPOOLED, then exit. Exits 1 with one
 * line on stderr when it refuses or fails.
 */
import { ConfigError, loadConfig, redactUrl } from '../config.ts';
import { RollbackFailed, RollbackRefused, type RollbackTarget, rollbackDatabase } from './rollback.ts';

const USAGE = 'usage: npm run db:rollback [-- --to <tag> | --all]';

try {
  const target = parseArgs(process.argv.slice(2));
  const config = loadConfig(process.env);
  const undone = await rollbackDatabase(config.db, target);
  console.log(`undid ${undone.join(', ')} (${config.db.driver}, ${redactUrl(config.db.migrationUrl)})`);
} catch (error) {
  console.error(`db:rollback failed: ${describe(error)}`);
  process.exitCode = 1;
}

function parseArgs(args: string[]): RollbackTarget {
  const target: RollbackTarget = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--all') target.all = true;
    else if (arg === '--to' && args[i + 1] && !args[i + 1]?.startsWith('--')) target.to = args[++i];
    else if (arg.startsWith('--to=') && arg.length > 5) target.to = arg.slice(5);
    else throw new RollbackRefused(`unexpected argument "${arg}"; ${USAGE}`);
  }
  return target;
}

function describe(error: unknown): string {
  if (error instanceof ConfigError || error instanceof RollbackRefused) return error.message;
  // Driver messages can carry the URL or SQL; print only the error's class and code.
  const cause = error instanceof RollbackFailed ? error.cause : error;
  const nested = (cause as { cause?: { code?: string } }).cause;
  const code = (cause as { code?: string }).code ?? nested?.code;
  const kind = `${(cause as Error).name ?? 'Error'}${code ? ` (${code})` : ''}`;
  return error instanceof RollbackFailed ? `${error.message}: ${kind}` : kind;
}
