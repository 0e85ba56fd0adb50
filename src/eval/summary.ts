/**
 * What a run says per target: for each metric the items scored, the mean (95 % bootstrap interval), the
 * median and p95; items without a score and why; errors; total cost. Also the CI gate (`--fail-below`,
 * `--fail-above`) and the paired comparison of two result sets (targets of one run, or two runs).
 */
import { METRIC_IDS, type MetricId } from './metrics.js';
import type { ResultRecord } from './results.js';
import { bootstrapMeanCi, mean, type PairedTest, pairedBootstrap, percentile } from './stats.js';

export interface MetricSummary {
  metric: MetricId;
  n: number;
  /** Items where the metric applied but has no score (an unparseable judge answer, …). */
  unscored: number;
  mean: number;
  ci: [number, number];
  p50: number;
  p95: number;
}

export interface TargetSummary {
  target: string;
  items: number;
  errors: number;
  cost_usd: number;
  judge_cost_usd: number;
  ttft_p50_ms: number | null;
  metrics: MetricSummary[];
}

export function summarise(records: readonly ResultRecord[], targets: readonly string[]): TargetSummary[] {
  return targets.map((target) => {
    const rs = records.filter((r) => r.target === target);
    const ok = rs.filter((r) => r.error === null);
    const metrics: MetricSummary[] = [];
    for (const metric of METRIC_IDS) {
      const xs = ok.map((r) => r.scores[metric]).filter((x): x is number => typeof x === 'number');
      const unscored = ok.filter((r) => r.unscored[metric] !== undefined).length;
      if (xs.length === 0 && unscored === 0) continue;
      metrics.push({
        metric,
        n: xs.length,
        unscored,
        mean: mean(xs),
        ci: bootstrapMeanCi(xs),
        p50: percentile(xs, 50),
        p95: percentile(xs, 95),
      });
    }
    const ttfts = ok.map((r) => r.ttft_ms).filter((x): x is number => typeof x === 'number');
    return {
      target,
      items: rs.length,
      errors: rs.length - ok.length,
      cost_usd: ok.reduce((s, r) => s + (r.cost_usd ?? 0), 0),
      judge_cost_usd: rs.reduce((s, r) => s + (r.judge_cost_usd ?? 0), 0),
      ttft_p50_ms: ttfts.length ? percentile(ttfts, 50) : null,
      metrics,
    };
  });
}

export interface Gate {
  metric: MetricId;
  /** `below`: fail when the mean is under the value (scores); `above`: over it (latency, cost). */
  direction: 'below' | 'above';
  value: number;
}

/** A gate's mean out of bounds (`actual` null: no score), or a target with items that could not be evaluated. */
export type GateFailure =
  | { kind: 'score'; gate: Gate; target: string; actual: number | null }
  | { kind: 'errors'; target: string; errors: number; items: number };

/**
 * Every (gate, target) that fails; a metric with no score for a target fails its gate too. With gates set, a
 * target whose items could not all be evaluated (a call that failed) fails as well: a mean over the items
 * that happened to succeed must not pass a CI gate (decision 0129).
 */
export function checkGates(summaries: readonly TargetSummary[], gates: readonly Gate[]): GateFailure[] {
  const failures: GateFailure[] = [];
  if (gates.length > 0) {
    for (const s of summaries) {
      if (s.errors > 0) failures.push({ kind: 'errors', target: s.target, errors: s.errors, items: s.items });
    }
  }
  for (const gate of gates) {
    for (const s of summaries) {
      const m = s.metrics.find((x) => x.metric === gate.metric);
      const actual = m && m.n > 0 ? m.mean : null;
      const bad = actual === null || (gate.direction === 'below' ? actual < gate.value : actual > gate.value);
      if (bad) failures.push({ kind: 'score', gate, target: s.target, actual });
    }
  }
  return failures;
}

/** A failure in words (after the target), `actual` formatted by `format`. */
export function gateFailureText(
  f: GateFailure,
  format: (f: GateFailure & { kind: 'score' }) => string,
): string {
  if (f.kind === 'errors') {
    return `${f.errors} of ${f.items} items could not be evaluated (with gates set, every item must be)`;
  }
  return `${f.gate.metric} = ${format(f)}, must not be ${f.gate.direction} ${f.gate.value}`;
}

export interface MetricComparison {
  metric: MetricId;
  a: number;
  b: number;
  test: PairedTest;
}

/** Per metric: means of A and B over the items both scored, and the paired test of B − A. */
export function compareRecords(a: readonly ResultRecord[], b: readonly ResultRecord[]): MetricComparison[] {
  const bByItem = new Map(b.filter((r) => r.error === null).map((r) => [r.item_id, r]));
  const out: MetricComparison[] = [];
  for (const metric of METRIC_IDS) {
    const xa: number[] = [];
    const xb: number[] = [];
    for (const ra of a) {
      const rb = bByItem.get(ra.item_id);
      const va = ra.error === null ? ra.scores[metric] : undefined;
      const vb = rb?.scores[metric];
      if (typeof va === 'number' && typeof vb === 'number') {
        xa.push(va);
        xb.push(vb);
      }
    }
    if (xa.length === 0) continue;
    out.push({ metric, a: mean(xa), b: mean(xb), test: pairedBootstrap(xa, xb) });
  }
  return out;
}
