/**
 * @module observability
 * Metrics and traces of one app, made together because they are shut down together: the server
 * makes one (with Node's process metrics) and flushes its spans when it stops; `createApp` makes
 * its own when given none (tests, the benchmark).
 */
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createTracing, type Tracing } from './tracing.ts';

export type Observability = {
  readonly metrics: Metrics;
  readonly tracing: Tracing;
  /** Exports the spans still buffered; call it once the last request has ended. */
  shutdown(): Promise<void>;
};

export function createObservability(
  config: Config,
  options: {
    database: Pick<Database, 'breakerState' | 'poolStats'>;
    logger: Logger;
    processMetrics?: boolean;
  },
): Observability {
  const metrics = createMetrics({ database: options.database, processMetrics: options.processMetrics });
  const tracing = createTracing(config.telemetry, options.logger);
  return { metrics, tracing, shutdown: () => tracing.shutdown() };
}
