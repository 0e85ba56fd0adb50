/**
 * Cross-field checks of the `feedback` section (docs/prompts.md): metric names the route accepts, ranges
 * that accept something, and `cache.semantic.feedback_metric` naming a declared boolean metric.
 */
type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function feedbackMetricProblems(config: Json): string[] {
  const metrics =
    isObject(config.feedback) && isObject(config.feedback.metrics) ? config.feedback.metrics : {};
  // A range that accepts nothing (min above max), or one on a boolean, would refuse every value sent.
  const problems: string[] = [];
  for (const [metric, spec] of Object.entries(metrics)) {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(metric)) {
      problems.push(`feedback.metrics.${metric}: a metric name is a-z, 0-9 and _ (up to 64, a letter first)`);
    }
    if (!isObject(spec)) continue;
    if (spec.type === 'boolean' && (spec.min !== undefined || spec.max !== undefined)) {
      problems.push(`feedback.metrics.${metric}: min and max are for numeric metrics`);
    }
    if (typeof spec.min === 'number' && typeof spec.max === 'number' && spec.min > spec.max) {
      problems.push(`feedback.metrics.${metric}: min (${spec.min}) is above max (${spec.max})`);
    }
  }
  const semantic = isObject(config.cache) && isObject(config.cache.semantic) ? config.cache.semantic : {};
  const name = semantic.feedback_metric;
  if (typeof name !== 'string') return problems;
  const metric = Object.hasOwn(metrics, name) ? metrics[name] : undefined;
  if (isObject(metric) && metric.type === 'boolean') return problems;
  return [
    ...problems,
    `cache.semantic.feedback_metric: "${name}" must be a boolean metric declared in feedback.metrics (declared: ${Object.keys(metrics).join(', ') || 'none'})`,
  ];
}
