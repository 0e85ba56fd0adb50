/** The routing strategies a route may name (DESIGN §5); implemented in strategies.ts. */
export const STRATEGY_NAMES = ['failover', 'round_robin', 'weighted', 'cost', 'latency', 'quality'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];
