/**
 * What a started gateway can serve, for its `gateway.ready` log line: the providers offered, the configured
 * aliases, and each alias none of whose deployments can serve (a provider without its key, say), with the
 * reason — the same check `llm-gateway check-config` makes, so a start does not hide a dead route.
 */
import type { ProviderRegistry } from '../providers/registry.js';
import type { ModelResolver } from './resolver.js';

export interface Offered {
  providers: string[];
  routes: string[];
  unusableRoutes: Array<{ alias: string; reason: string }>;
}

export function describeOffer(
  registry: ProviderRegistry,
  resolver: ModelResolver,
  aliases: string[],
): Offered {
  const unusableRoutes: Offered['unusableRoutes'] = [];
  for (const alias of aliases) {
    try {
      resolver.resolve(alias);
    } catch (err) {
      unusableRoutes.push({ alias, reason: (err as Error).message });
    }
  }
  const providers = registry
    .statuses()
    .filter((p) => p.offered)
    .map((p) => p.name);
  return { providers, routes: aliases, unusableRoutes };
}
