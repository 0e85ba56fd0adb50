/**
 * Graceful shutdown: stop accepting, let in-flight requests finish for up to the grace period, then close
 * the open connections, the features (in order: telemetry last, so the others' spans are flushed) and the
 * stores. A failing step is logged and the rest still close. Requests still waiting at the deadline are
 * answered before the connections close — a 503 saying the gateway shut down (JSON), or the API's error event
 * (streams) — so a client can tell a cut-off answer from a finished one by more than a reset connection.
 */
import type { FastifyInstance } from 'fastify';
import type { RequestContext } from '../core/context.js';
import { ServiceUnavailableError } from '../core/errors.js';
import type { Feature } from '../core/feature.js';
import type { LiveList } from '../core/live-list.js';
import type { Logger } from '../telemetry/logger.js';

export interface CloseParts {
  app: FastifyInstance;
  graceMs: number;
  logger: Logger;
  features: readonly Feature[];
  /** Closed after the features, in order (dispatcher, Redis, database). */
  others: ReadonlyArray<() => Promise<unknown> | undefined>;
  /** The pipeline requests not answered in full yet, streams included (both request paths keep the list). */
  inflight?: LiveList<RequestContext>;
}

/** How long requests ended at the deadline get to write their 503 or error event before connections close. */
const ANSWER_END_MS = 500;

export async function closeGateway({
  app,
  graceMs,
  logger,
  features,
  others,
  inflight,
}: CloseParts): Promise<void> {
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
    if (inflight && inflight.size > 0) {
      // Waiting for their upstream: answered with a 503 (JSON) or the API's error event (streams); the
      // reason reaches the call stage as the attempt's error.
      const reason = new ServiceUnavailableError(
        'The gateway shut down before this answer was complete; retry the request.',
      );
      for (const ctx of inflight.toArray()) ctx.abort.abort(reason);
      await Promise.race([closed, wait(ANSWER_END_MS)]);
    }
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

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
