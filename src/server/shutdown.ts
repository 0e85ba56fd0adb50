/**
 * Graceful shutdown: stop accepting, let in-flight requests finish for up to the grace period, then close
 * the open connections, the features (in order: telemetry last, so the others' spans are flushed) and the
 * stores. A failing step is logged and the rest still close.
 */
import type { FastifyInstance } from 'fastify';
import type { Feature } from '../core/feature.js';
import type { Logger } from '../telemetry/logger.js';

export interface CloseParts {
  app: FastifyInstance;
  graceMs: number;
  logger: Logger;
  features: readonly Feature[];
  /** Closed after the features, in order (dispatcher, Redis, database). */
  others: ReadonlyArray<() => Promise<unknown> | undefined>;
}

export async function closeGateway({ app, graceMs, logger, features, others }: CloseParts): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
    timer.unref();
  });
  const closed = app.close().then(() => 'closed' as const);
  const outcome = await Promise.race([closed, grace]);
  if (outcome === 'timeout') {
    logger.warn(
      { event: 'shutdown.forced', grace_ms: graceMs },
      'grace period over; closing open connections',
    );
    app.server.closeAllConnections();
    await closed;
  }
  clearTimeout(timer);
  for (const feature of features) {
    await feature.close?.().catch((err: unknown) => {
      logger.error({ event: 'shutdown.feature_error', feature: feature.name, err }, 'feature close failed');
    });
  }
  for (const close of others) await close()?.catch(() => undefined);
  logger.flush();
}
