/**
 * Guardrails as a gateway feature (DESIGN §17; docs/guardrails.md): the configured policies compiled once,
 * the global default policy, and the `guard` stage.
 *
 * @example
 * const guardrails = createGuardrailsFeature(config.guardrails, deps);
 * createPipeline({ …, guard: guardrails.stage, … });
 */
import type { GuardrailsConfig } from '../config/guardrails-schema.js';
import type { Feature } from '../core/feature.js';
import type { Stage } from '../core/stage.js';
import type { Metrics } from '../telemetry/metrics.js';
import { PolicyBook } from './policy.js';
import { createGuardStage } from './stage.js';

export interface GuardrailsFeature extends Feature {
  readonly book: PolicyBook;
  readonly stage: Stage;
}

/** @throws Error naming the problem when the default policy is unknown or a custom regex is invalid. */
export function createGuardrailsFeature(
  config: GuardrailsConfig,
  deps: { metrics: Pick<Metrics, 'guardrailActions'> },
): GuardrailsFeature {
  const book = new PolicyBook(config);
  const defaults = (config.default_policy ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  for (const name of defaults) {
    if (!book.has(name)) {
      throw new Error(
        `guardrails.default_policy (GUARDRAILS_DEFAULT_POLICY): no policy named "${name}"; configured: ${book.names().join(', ')}`,
      );
    }
  }
  return { name: 'guardrails', book, stage: createGuardStage({ book, defaults, metrics: deps.metrics }) };
}
