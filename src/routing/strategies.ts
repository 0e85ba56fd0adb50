/**
 * Routing strategies (DESIGN §5): each orders a route's deployments for one request; the first is tried
 * first, the rest of the order is the fallback chain. A strategy is built once per route (at start), so the
 * per-request work is a sort of a handful of entries at most.
 */
import type { LatencyTracker } from './latency.js';
import type { Deployment } from './resolver.js';

import type { StrategyName } from './strategy-names.js';

export { STRATEGY_NAMES, type StrategyName } from './strategy-names.js';

/** USD per 1M tokens (the pricing table's unit). */
export interface Price {
  input: number;
  output: number;
  cachedInput?: number;
}

/** The pricing table: `priceOf(model, provider)` from src/accounting/pricing.ts, injected at composition. */
export type PriceLookup = (model: string, provider: string) => Price | null;

/** What a strategy may know about one request. */
export interface RoutingRequest {
  readonly stream: boolean;
  /** Estimated input and output tokens (computed only when a strategy asks). */
  tokens(): { input: number; output: number };
}

export interface StrategyDeps {
  now(): number;
  random(): number;
  latency: LatencyTracker;
  prices: PriceLookup;
  /** Latency strategy: chance of trying a random other deployment first. */
  epsilon: number;
  /** Latency strategy: a deployment not measured for this long gets the next request (a probe). */
  probeIntervalMs: number;
}

export interface Strategy {
  readonly name: StrategyName;
  /** The deployments in the order to try them. Must not modify the returned array. */
  order(req: RoutingRequest): readonly Deployment[];
}

/**
 * Builds the strategy of one route. `deployments` come in priority order.
 *
 * @example
 * const strategy = createStrategy('round_robin', route.deployments, deps);
 * strategy.order({ stream: false, tokens: () => ({ input: 100, output: 256 }) });
 */
export function createStrategy(
  name: StrategyName,
  deployments: readonly Deployment[],
  deps: StrategyDeps,
): Strategy {
  switch (name) {
    case 'failover':
      return { name, order: () => deployments };
    case 'round_robin':
      return roundRobin(deployments);
    case 'weighted':
      return weighted(deployments, deps);
    case 'cost':
      return cheapest(deployments, deps);
    case 'latency':
      return fastest(deployments, deps);
    case 'quality':
      return byRank(deployments);
  }
}

function roundRobin(deployments: readonly Deployment[]): Strategy {
  let next = 0;
  return {
    name: 'round_robin',
    order() {
      const start = next;
      next = (next + 1) % deployments.length;
      if (start === 0) return deployments;
      return [...deployments.slice(start), ...deployments.slice(0, start)];
    },
  };
}

/** The first deployment drawn by weight; the others follow in priority order. Weight 0 = fallback only. */
function weighted(deployments: readonly Deployment[], deps: StrategyDeps): Strategy {
  const total = deployments.reduce((sum, d) => sum + d.weight, 0);
  return {
    name: 'weighted',
    order() {
      if (total <= 0) return deployments;
      let pick = deps.random() * total;
      let index = deployments.length - 1;
      for (let i = 0; i < deployments.length; i++) {
        pick -= (deployments[i] as Deployment).weight;
        if (pick < 0) {
          index = i;
          break;
        }
      }
      return moveToFront(deployments, index);
    },
  };
}

/**
 * Cheapest first for the request's estimated tokens. A deployment's own `input/output_cost_per_mtok` wins over
 * the pricing table; deployments with no known price go last, in priority order.
 */
function cheapest(deployments: readonly Deployment[], deps: StrategyDeps): Strategy {
  const prices = deployments.map((d) => priceFor(d, deps.prices));
  return {
    name: 'cost',
    order(req) {
      const { input, output } = req.tokens();
      const cost = prices.map((p) =>
        p ? (input * p.input + output * p.output) / 1e6 : Number.POSITIVE_INFINITY,
      );
      return sortedBy(deployments, cost);
    },
  };
}

/** The price of one deployment: its configured override, else the pricing table's, else null. */
export function priceFor(d: Deployment, prices: PriceLookup): Price | null {
  if (d.inputCostPerMtok !== undefined && d.outputCostPerMtok !== undefined) {
    return { input: d.inputCostPerMtok, output: d.outputCostPerMtok };
  }
  // With the provider, as accounting prices it: a `provider/model` override applies to routing too.
  const table = prices(d.model, d.provider);
  if (!table) return null;
  return { input: d.inputCostPerMtok ?? table.input, output: d.outputCostPerMtok ?? table.output };
}

/**
 * Lowest EWMA first (TTFT for streams). Exploration keeps the estimates honest: a deployment never measured
 * goes first, one not measured for `probeIntervalMs` gets the next request (one probe per interval), and with
 * chance `epsilon` a random deployment goes first — so a deployment that was slow and recovered is found.
 */
function fastest(deployments: readonly Deployment[], deps: StrategyDeps): Strategy {
  return {
    name: 'latency',
    order(req) {
      if (deployments.length === 1) return deployments;
      const now = deps.now();
      let stale = -1;
      for (let i = 0; i < deployments.length; i++) {
        const seen =
          deps.latency.get((deployments[i] as Deployment).id)?.lastSeenAt ?? Number.NEGATIVE_INFINITY;
        if (now - seen >= deps.probeIntervalMs) {
          stale = i;
          break;
        }
      }
      if (stale >= 0) {
        deps.latency.touch((deployments[stale] as Deployment).id, now);
        return moveToFront(deployments, stale);
      }
      const keys = deployments.map((d) => deps.latency.estimate(d.id, req.stream) ?? -1);
      const ordered = sortedBy(deployments, keys);
      if (deps.epsilon > 0 && deps.random() < deps.epsilon) {
        const index = 1 + Math.floor(deps.random() * (ordered.length - 1));
        return moveToFront(ordered, Math.min(index, ordered.length - 1));
      }
      return ordered;
    },
  };
}

/** Configured `rank` ascending (1 = best); deployments without a rank last, in priority order. */
function byRank(deployments: readonly Deployment[]): Strategy {
  const ordered = sortedBy(
    deployments,
    deployments.map((d) => d.rank ?? Number.POSITIVE_INFINITY),
  );
  return { name: 'quality', order: () => ordered };
}

/** A stable sort by `keys` (ties keep priority order). */
function sortedBy(deployments: readonly Deployment[], keys: number[]): Deployment[] {
  return deployments
    .map((d, i) => ({ d, k: keys[i] as number, i }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((e) => e.d);
}

function moveToFront(deployments: readonly Deployment[], index: number): readonly Deployment[] {
  if (index <= 0) return deployments;
  const out = deployments.slice();
  const [picked] = out.splice(index, 1);
  out.unshift(picked as Deployment);
  return out;
}
