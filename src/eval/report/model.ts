/**
 * What both reports show, computed once: the run's header, per-target summaries, each target compared with
 * the first (the baseline) on the items both scored, the gate outcome, and the weakest answers with the
 * judge's reasoning.
 */
import { QUALITY_METRICS } from '../metrics.js';
import type { ResultRecord } from '../results.js';
import {
  compareRecords,
  type GateFailure,
  type MetricComparison,
  summarise,
  type TargetSummary,
} from '../summary.js';

export interface RunInfo {
  run_id: string;
  dataset: string;
  dataset_sha256: string;
  items: number;
  targets: string[];
  judge: string | null;
  judge_prompts: string[];
  started_at: string;
  finished_at: string | null;
  gateway: string;
}

export interface ReportModel {
  run: RunInfo;
  records: readonly ResultRecord[];
  summaries: TargetSummary[];
  comparisons: Array<{ baseline: string; target: string; metrics: MetricComparison[] }>;
  gates: { checked: number; failures: GateFailure[] } | null;
  weakest: ResultRecord[];
}

export function buildReportModel(
  run: RunInfo,
  records: readonly ResultRecord[],
  gates: ReportModel['gates'],
): ReportModel {
  const summaries = summarise(records, run.targets);
  const [baseline, ...others] = run.targets;
  const comparisons = baseline
    ? others.map((target) => ({
        baseline,
        target,
        metrics: compareRecords(
          records.filter((r) => r.target === baseline),
          records.filter((r) => r.target === target),
        ),
      }))
    : [];
  const weakest = records
    .filter((r) => r.error === null && typeof r.scores.faithfulness === 'number' && r.scores.faithfulness < 1)
    .sort((a, b) => (a.scores.faithfulness as number) - (b.scores.faithfulness as number))
    .slice(0, 5);
  return { run, records, summaries, comparisons, gates, weakest };
}

/** The mean of a target's quality-metric means (the y axis of "cost vs quality"). */
export function overallQuality(summary: TargetSummary): number | null {
  const means = summary.metrics
    .filter((m) => (QUALITY_METRICS as readonly string[]).includes(m.metric) && m.n > 0)
    .map((m) => m.mean);
  return means.length ? means.reduce((a, b) => a + b, 0) / means.length : null;
}

export const fmt = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);

export const fmtUsd = (x: number): string => `$${x.toFixed(6)}`;

export function fmtP(p: number): string {
  if (Number.isNaN(p)) return '–';
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}

/** Digits per metric: milliseconds whole, dollars 6 places, scores 3. */
export const metricDigits = (metric: string): number =>
  metric === 'latency_ms' ? 0 : metric === 'cost_usd' ? 6 : 3;
