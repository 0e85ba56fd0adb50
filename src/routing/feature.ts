/**
 * The routing feature: builds the router (plans for every alias at start, a breaker per deployment), the
 * `route` stage (orders the route's deployments for this request: `ctx.plan`) and `GET /admin/routes` —
 * each route's strategy and, per deployment, breaker state, latency estimate and error rate.
 */
import type { RoutingConfig } from '../config/schema.js';
import type { AdminRoute, Feature } from '../core/feature.js';
import { type Stage, stage } from '../core/stage.js';
import type { FeatureDeps } from '../stores/deps.js';
import type { ModelResolver } from './resolver.js';
import { type DeploymentStatus, Router } from './router.js';
import type { PriceLookup } from './strategies.js';

export interface RoutingFeature extends Feature {
  readonly router: Router;
  readonly route: Stage;
}

/**
 * @example
 * const routing = createRoutingFeature(config.routing, deps, resolver, { prices: priceOf });
 * createCallStage({ …, router: routing.router });
 */
export function createRoutingFeature(
  settings: RoutingConfig,
  deps: FeatureDeps,
  resolver: ModelResolver,
  options: { prices?: PriceLookup | undefined } = {},
): RoutingFeature {
  const { logger } = deps;
  const router = new Router({
    routing: settings,
    clock: deps.clock,
    metrics: deps.metrics,
    prices: options.prices,
    // A listed model's breaker has its own circuit series; names clients chose share `other` (0223).
    configured: (id) => resolver.isListed(id),
    onStateChange: (deployment, state) => {
      const log = state === 'open' ? logger.warn.bind(logger) : logger.info.bind(logger);
      log({ event: 'route.breaker', deployment, state }, `circuit breaker of ${deployment} is now ${state}`);
    },
  });
  const aliases = resolver.aliasRoutes();
  router.prepare(aliases);

  const routes: AdminRoute[] = [
    {
      method: 'GET',
      url: '/admin/routes',
      summary: 'Routes, circuit breakers and latency estimates',
      handler: async () => ({
        routes: aliases.map((route) => ({
          name: route.name,
          strategy: route.strategy,
          deployments: route.deployments.map((d) => ({
            ...toJson(router.statusOf(d)),
            priority: d.priority,
            weight: d.weight,
            rank: d.rank ?? null,
          })),
        })),
        // Every deployment with a breaker, routes outside aliases (`provider/model`, prefixes) included.
        deployments: router.status().map(toJson),
      }),
    },
  ];

  return {
    name: 'routing',
    router,
    route: stage('route', (ctx, next) => {
      if (ctx.route) ctx.plan = router.order(ctx, ctx.route);
      return next(ctx);
    }),
    routes,
  };
}

function toJson(s: DeploymentStatus) {
  return {
    id: s.id,
    provider: s.provider,
    model: s.model,
    state: s.breaker.state,
    error_rate: round(s.breaker.errorRate),
    requests_in_window: s.breaker.requestsInWindow,
    consecutive_failures: s.breaker.consecutiveFailures,
    retry_in_ms: s.breaker.retryInMs === null ? null : Math.ceil(s.breaker.retryInMs),
    latency_ms: s.latencyMs === null ? null : round(s.latencyMs),
    ttft_ms: s.ttftMs === null ? null : round(s.ttftMs),
    samples: s.samples,
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
