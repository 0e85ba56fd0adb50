/**
 * Bounded metric labels (DESIGN §9): a client can send any model string, so the `model` label is the
 * requested name only when the config knows it (an alias, a listed model, or `provider/listed-model`),
 * else `other`.
 */
import type { Config } from '../config/schema.js';

export const OTHER_MODEL = 'other';

export type ModelLabeler = (model: string | null) => string;

/** Builds the labeler from the configured routes and provider model lists (computed once at start). */
export function createModelLabeler(config: Readonly<Config>): ModelLabeler {
  const known = new Set<string>(Object.keys(config.routes));
  for (const [name, provider] of Object.entries(config.providers)) {
    for (const model of provider.models) {
      known.add(model);
      known.add(`${name}/${model}`);
    }
  }
  return (model) => (model !== null && known.has(model) ? model : OTHER_MODEL);
}
