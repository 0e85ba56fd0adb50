/**
 * The experiment report (`GET /admin/experiments/{id}/report`, DESIGN §12): per variant, requests, error
 * rate, cost per request, latency p50/p95, and for each declared feedback metric the mean with its 95 %
 * interval and the probability of being best. A metric's `best` names the variant whose probability of
 * being best reaches `threshold` = 1 − 0.05 / k for k variants with feedback (0.975 for two: the two-sided
 * 95 % level, so an A/A test names a false winner about 5 % of the time, not 10 %); null when the data does
 * not single one out (decision 0114). With feedback on fewer than two variants nothing is compared:
 * `probability_best` is null for every variant and `best` is null.
 */
import type { FeedbackMetric } from '../config/prompts-schema.js';
import type { Experiment } from './assign.js';
import { type Arm, probabilityBest, tInterval, wilson } from './stats.js';
import type { VariantFeedback, VariantTraffic } from './store.js';

export interface MetricReport {
  n: number;
  mean: number | null;
  ci95: [number, number] | null;
  probability_best: number | null;
}

export interface VariantReport {
  name: string;
  requests: number;
  error_rate: number | null;
  cost_per_request_usd: number | null;
  latency_ms: { p50: number | null; p95: number | null };
  feedback: Record<string, MetricReport>;
}

export interface ExperimentReport {
  experiment: Experiment;
  variants: VariantReport[];
  metrics: Record<string, { type: string; direction: string; best: string | null }>;
  /** Probability a variant must reach to be named `best` (per metric: 1 − 0.05 / variants with feedback). */
  threshold: Record<string, number>;
}

/** The significance level of the report. */
export const ALPHA = 0.05;

/** Builds the report from the stored aggregates (pure; `seed` fixes the posterior sampling). */
export function buildReport(
  experiment: Experiment,
  traffic: readonly VariantTraffic[],
  feedback: readonly VariantFeedback[],
  metrics: Readonly<Record<string, FeedbackMetric>>,
  seed = 12_345,
): ExperimentReport {
  const names = experiment.variants.map((v) => v.name);
  for (const t of traffic) if (!names.includes(t.variant)) names.push(t.variant);
  const variants: VariantReport[] = names.map((name) => {
    const t = traffic.find((x) => x.variant === name);
    return {
      name,
      requests: t?.requests ?? 0,
      error_rate: t && t.requests > 0 ? t.errors / t.requests : null,
      cost_per_request_usd: t?.costPerRequest ?? null,
      latency_ms: { p50: t?.latencyP50 ?? null, p95: t?.latencyP95 ?? null },
      feedback: {},
    };
  });
  const summary: ExperimentReport['metrics'] = {};
  const threshold: Record<string, number> = {};
  for (const [metric, spec] of Object.entries(metrics)) {
    const arms = names.map((name): Arm => {
      const f = feedback.find((x) => x.variant === name && x.metric === metric);
      return { n: f?.n ?? 0, mean: f?.mean ?? 0, sd: Math.sqrt(f?.variance ?? 0) };
    });
    const direction = spec.direction ?? 'higher';
    const compared = arms.filter((a) => a.n > 0).length;
    // A variant alone with feedback is compared with nothing: no probability of being best, no winner.
    const probabilities =
      compared >= 2 ? probabilityBest(arms, spec.type, direction, { seed }) : arms.map(() => null);
    const level = 1 - ALPHA / Math.max(2, compared);
    threshold[metric] = level;
    let best: string | null = null;
    arms.forEach((arm, i) => {
      const probability = probabilities[i] ?? null;
      const variant = variants[i] as VariantReport;
      variant.feedback[metric] = { n: arm.n, ...interval(arm, spec.type), probability_best: probability };
      if (probability !== null && probability >= level) best = variant.name;
    });
    summary[metric] = { type: spec.type, direction, best };
  }
  return { experiment, variants, metrics: summary, threshold };
}

function interval(arm: Arm, type: FeedbackMetric['type']): Pick<MetricReport, 'mean' | 'ci95'> {
  if (arm.n === 0) return { mean: null, ci95: null };
  if (type === 'boolean') return { mean: arm.mean, ci95: wilson(Math.round(arm.mean * arm.n), arm.n) };
  return { mean: arm.mean, ci95: tInterval(arm.n, arm.mean, arm.sd) };
}
