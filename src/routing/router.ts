/**
 * The router (DESIGN §5): orders a route's deployments for one request by the route's strategy, holds one
 * circuit breaker and one latency estimate per deployment, and says what happened when every deployment
 * failed. State lives in this process (docs/decisions/0040-circuit-breaker-per-instance.md).
 */
import type { RoutingConfig } from '../config/schema.js';
import type { RequestContext } from '../core/context.js';
import { ProviderError } from '../core/errors.js';
import type { Metrics } from '../telemetry/metrics.js';
import { type BreakerSettings, type BreakerSnapshot, CircuitBreaker, STATE_GAUGE } from './breaker.js';
import { LatencyTracker } from './latency.js';
import { OtherBreakers } from './other-breakers.js';
import type { Deployment, Route } from './resolver.js';
import { createStrategy, type PriceLookup, type RoutingRequest, type Strategy } from './strategies.js';

export interface RouterOptions {
  routing: Readonly<RoutingConfig>;
  clock: { now(): number; random(): number };
  metrics: Metrics;
  /** The pricing table (`priceOf`); deployments' own `*_cost_per_mtok` are used when it knows nothing. */
  prices?: PriceLookup | undefined;
  /** Logged when a breaker changes state. */
  onStateChange?: (deployment: string, state: string) => void;
  /**
   * Whether a deployment id outside the aliases comes from the configuration (`provider/listed-model`): its
   * breaker gets its own `llm_circuit_state` series while not closed. Others — names clients chose — share
   * the series `other` (`OtherBreakers`). Default: none does.
   */
  configured?: (id: string) => boolean;
}

/** One deployment as the router sees it: for GET /admin/routes. */
export interface DeploymentStatus {
  id: string;
  provider: string;
  model: string;
  breaker: BreakerSnapshot;
  latencyMs: number | null;
  ttftMs: number | null;
  samples: number;
}

/** Bound on breakers for deployments outside aliases (`provider/model` names): a map per name seen. */
const MAX_BREAKERS = 10_000;

/**
 * @example
 * const router = new Router({ routing: config.routing, clock, metrics, prices: priceOf });
 * router.prepare(resolver.aliasRoutes());            // plans at start
 * for (const d of router.order(ctx, route)) { … router.breaker(d).tryAcquire() … }
 */
export class Router {
  readonly latency: LatencyTracker;
  readonly #options: RouterOptions;
  readonly #defaults: BreakerSettings;
  readonly #plans = new WeakMap<Route, Strategy>();
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #deployments = new Map<string, Deployment>();
  /** Ids of alias deployments: their gauge is always exported; others' only while not closed. */
  readonly #aliasIds = new Set<string>();
  readonly #others: OtherBreakers;

  constructor(options: RouterOptions) {
    this.#options = options;
    const b = options.routing.breaker;
    this.#defaults = {
      failureRateThreshold: b.failure_rate_threshold,
      windowMs: b.window_ms,
      minRequests: b.min_requests,
      consecutiveFailures: b.consecutive_failures,
      cooldownMs: b.cooldown_ms,
      halfOpenProbes: b.half_open_probes,
      expectedMsPerOutputToken: b.expected_ms_per_output_token,
    };
    this.latency = new LatencyTracker(options.routing.latency.ewma_alpha);
    this.#others = new OtherBreakers(options.metrics.circuitState);
  }

  /** Computes the plans of these routes and creates their breakers (state 0 on /metrics from the start). */
  prepare(routes: readonly Route[]): void {
    for (const route of routes) {
      this.#plan(route);
      for (const d of route.deployments) {
        this.#aliasIds.add(d.id);
        this.breaker(d);
      }
    }
  }

  /** Breakers held (bounded by MAX_BREAKERS; for the bounded-memory checks). */
  get size(): number {
    return this.#breakers.size;
  }

  /** The deployments of `route` in the order this request tries them. */
  order(ctx: RequestContext, route: Route): readonly Deployment[] {
    if (route.deployments.length === 1) return route.deployments;
    return this.#plan(route).order(this.#request(ctx));
  }

  /** The breaker of a deployment (created on first use). */
  breaker(d: Deployment): CircuitBreaker {
    let breaker = this.#breakers.get(d.id);
    if (breaker) return breaker;
    if (this.#breakers.size >= MAX_BREAKERS) this.#evictClosed();
    const { clock, metrics, configured } = this.#options;
    // Labels come from the configuration only (docs/observability.md): an alias's deployment always has its
    // series; a listed model's (`provider/listed-model`) only while its breaker is not closed; a name a
    // client chose shares the series `other` (decision 0223).
    const labels = { deployment: d.id };
    const always = this.#aliasIds.has(d.id);
    const own = always || configured?.(d.id) === true;
    breaker = new CircuitBreaker(
      { ...this.#defaults, ...d.breaker },
      () => clock.now(),
      (state) => {
        if (!own) this.#others.change(d.id, state);
        else if (state === 'closed' && !always) metrics.circuitState.remove(labels);
        else metrics.circuitState.set(labels, STATE_GAUGE[state]);
        this.#options.onStateChange?.(d.id, state);
      },
    );
    if (always) metrics.circuitState.set(labels, 0);
    this.#breakers.set(d.id, breaker);
    this.#deployments.set(d.id, d);
    return breaker;
  }

  /** A successful pass: its latency (non-stream) or time to the first chunk (stream). */
  observe(d: Deployment, kind: 'latency' | 'ttft', ms: number): void {
    this.latency.observe(d.id, kind, ms, this.#options.clock.now());
  }

  /** Counts a move from one deployment to the next in `llm_fallbacks_total`. */
  countFallback(from: string, to: string): void {
    this.#options.metrics.fallbacks.inc({ from, to });
  }

  /** Every deployment the router has seen, for GET /admin/routes. */
  status(): DeploymentStatus[] {
    return [...this.#deployments.values()].map((d) => this.statusOf(d));
  }

  statusOf(d: Deployment): DeploymentStatus {
    const estimate = this.latency.get(d.id);
    return {
      id: d.id,
      provider: d.provider,
      model: d.model,
      breaker: this.breaker(d).snapshot(),
      latencyMs: estimate?.latencyMs ?? null,
      ttftMs: estimate?.ttftMs ?? null,
      samples: estimate?.samples ?? 0,
    };
  }

  #plan(route: Route): Strategy {
    let plan = this.#plans.get(route);
    if (!plan) {
      const { clock, routing } = this.#options;
      plan = createStrategy(route.strategy, route.deployments, {
        now: () => clock.now(),
        random: () => clock.random(),
        latency: this.latency,
        prices: this.#options.prices ?? (() => null),
        epsilon: routing.latency.epsilon,
        probeIntervalMs: routing.latency.probe_interval_ms,
      });
      this.#plans.set(route, plan);
    }
    return plan;
  }

  #request(ctx: RequestContext): RoutingRequest {
    const defaultOutput = this.#options.routing.cost_default_output_tokens;
    return {
      stream: ctx.request?.stream === true,
      tokens: () => estimateTokens(ctx, defaultOutput),
    };
  }

  #evictClosed(): void {
    for (const [id, breaker] of this.#breakers) {
      if (breaker.state !== 'closed') continue;
      this.#drop(id);
      if (this.#breakers.size < MAX_BREAKERS / 2) return;
    }
    // Every breaker is open (clients named that many failing deployments): drop the oldest ones outside
    // aliases anyway — memory stays bounded, and a dropped breaker only starts over closed.
    for (const id of this.#breakers.keys()) {
      if (this.#breakers.size < MAX_BREAKERS) return;
      if (!this.#aliasIds.has(id)) this.#drop(id);
    }
  }

  #drop(id: string): void {
    this.#breakers.delete(id);
    this.#deployments.delete(id);
    if (this.#options.configured?.(id)) this.#options.metrics.circuitState.remove({ deployment: id });
    else this.#others.forget(id);
  }
}

/**
 * Rough token counts for choosing by cost (not for billing): ~4 characters a token over the request's
 * messages or input, and the request's max tokens (else `defaultOutput`) for the answer.
 */
export function estimateTokens(
  ctx: Pick<RequestContext, 'request'>,
  defaultOutput: number,
): { input: number; output: number } {
  const request = ctx.request;
  if (!request) return { input: 0, output: defaultOutput };
  const body = request.body as Record<string, unknown>;
  const embeddings = request.kind === 'embeddings';
  const text = embeddings ? body.input : body.messages;
  const input = Math.ceil((text === undefined ? 0 : JSON.stringify(text).length) / 4);
  if (embeddings) return { input, output: 0 };
  const max = body.max_completion_tokens ?? body.max_tokens;
  return { input, output: typeof max === 'number' && max > 0 ? max : defaultOutput };
}

/** One deployment's part in a request that no deployment could serve. */
export interface TriedDeployment {
  id: string;
  /** Error code of its last failure, or `circuit_open` when it was skipped. */
  outcome: string;
  /** Skipped: ms until its breaker lets a probe through; failed: the wait it asked for (Retry-After), if any. */
  retryInMs?: number | null;
}

/**
 * The one error a client gets when no deployment of a route could serve: it names every deployment and what
 * happened to it. Status, type and code are those of the last real failure (502 `provider_unavailable` when
 * every breaker was open: DESIGN §3, circuit open with no fallback); `Retry-After` is the soonest known wait: a breaker letting a probe through, a
 * deployment's own Retry-After (any of them, not only the last failure's), or the last failure's hint.
 */
export class RouteUnavailableError extends ProviderError {
  readonly tried: readonly TriedDeployment[];

  constructor(routeName: string, tried: TriedDeployment[], last: unknown) {
    const lastError = last instanceof ProviderError ? last : null;
    const soonest = tried
      .map((t) => t.retryInMs)
      .filter((ms): ms is number => typeof ms === 'number')
      .reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
    const hints = [
      lastError?.retryAfterMs,
      Number.isFinite(soonest) ? Math.max(soonest, 1) : undefined,
    ].filter((ms): ms is number => ms !== undefined);
    const parts = tried.map((t) =>
      t.outcome === 'circuit_open'
        ? `${t.id}: circuit open${typeof t.retryInMs === 'number' ? ` (next probe in ${Math.ceil(t.retryInMs / 1000)} s)` : ''}`
        : `${t.id}: ${t.outcome}`,
    );
    const detail = lastError ? ` Last error: ${lastError.message}` : '';
    super(
      `No deployment of "${routeName}" could serve the request (tried ${parts.join('; ')}).${detail}`,
      lastError?.provider ?? 'router',
      lastError?.code ?? 'provider_unavailable',
      lastError?.status ?? 502,
      lastError?.type ?? 'provider_unavailable_error',
      {
        upstreamStatus: lastError?.upstreamStatus,
        upstreamType: lastError?.upstreamType,
        retryAfterMs: hints.length > 0 ? Math.min(...hints) : undefined,
        cause: last,
      },
    );
    this.tried = tried;
  }

  override get isRetryable(): boolean {
    return true;
  }
}
