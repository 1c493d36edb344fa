/**
 * @module jobs/runner
 * The background worker: a graphile-worker runner over the task list of ./tasks.ts. `npm start`
 * runs one in the web process unless `WORKER=false`; `npm run worker` (./worker-cli.ts) runs one
 * alone. Any number of them can run against one database: each job runs once (./engine.ts).
 *
 * `stop()` stops taking jobs, lets the ones running finish, and releases the runner's connections;
 * a job cut short by a crash is retried by another runner once its lock expires (graphile-worker
 * resets locks older than 4 hours; a reminder's job is quick).
 */
import { type Runner, run } from 'graphile-worker';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../log.ts';
import { CONCURRENCY, jobPool, POLL_INTERVAL_MS, workerLogger } from './engine.ts';
import { createTaskList } from './tasks.ts';

export type JobRunner = {
  /** `running` from start until `stop()` (or the runner failed); then `stopped`. */
  readonly state: 'running' | 'stopped';
  stop(): Promise<void>;
};

export type JobRunnerOptions = {
  config: Config;
  /** The app's database: on PGlite the runner works through it; elsewhere it opens its own pool. */
  database: Database;
  logger: Logger;
  concurrency?: number;
};

export async function startJobRunner(options: JobRunnerOptions): Promise<JobRunner> {
  const { config, database, logger } = options;
  const concurrency = options.concurrency ?? CONCURRENCY;
  const { pool, close } = jobPool(config.db, database.db, concurrency + 2);
  let runner: Runner;
  try {
    runner = await run({
      pgPool: pool,
      taskList: createTaskList(config),
      concurrency,
      pollInterval: POLL_INTERVAL_MS,
      // main.ts and worker-cli.ts own SIGTERM/SIGINT: they stop the runner as part of their drain.
      noHandleSignals: true,
      logger: workerLogger(logger),
      // No cron: without this graphile-worker would read a `crontab` file from the working directory.
      parsedCronItems: [],
    });
  } catch (error) {
    await close();
    throw error;
  }
  let state: JobRunner['state'] = 'running';
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      state = 'stopped';
      await runner.stop().catch(() => {});
      await close();
    })();
    return stopping;
  };
  // A runner that ends by itself (its database gone for good) is reported, not restarted here.
  runner.promise.then(
    () => {
      state = 'stopped';
    },
    (error: unknown) => {
      state = 'stopped';
      logger.error('jobs: the worker stopped', { component: 'jobs', error: (error as Error)?.name });
    },
  );
  logger.info('worker started', { component: 'jobs', concurrency, driver: config.db.driver });
  return {
    get state() {
      return state;
    },
    stop,
  };
}
