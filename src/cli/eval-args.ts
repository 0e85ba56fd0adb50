/**
 * Arguments of `llm-gateway eval run` and `eval compare`: parsed and checked up front, every problem a
 * `UsageError` (exit code 2) naming the flag.
 */
import { parseArgs } from 'node:util';
import { isMetricId, MEASURE_METRICS, METRIC_IDS, type MetricId } from '../eval/metrics.js';
import type { Gate } from '../eval/summary.js';
import { parseTarget, type Target } from '../eval/targets.js';
import { UsageError } from './keys.js';

export const EVAL_USAGE = `Usage:
  llm-gateway eval run --dataset FILE.jsonl --target MODEL [--target prompt:ID@LABEL …]
                       [--gateway URL --api-key KEY] [--admin-key KEY] [--judge MODEL | --no-judge]
                       [--out DIR] [--concurrency N] [--no-cache] [--metrics id,id]
                       [--fail-below ID=VALUE …] [--fail-above latency_ms=MS|cost_usd=USD …]
                       [--judge-prompts registry|files] [--name NAME] [--config gateway.yaml]
  llm-gateway eval compare RUN_A RUN_B [--gateway URL --admin-key KEY]
      RUN_A, RUN_B: an --out directory of a run, or a stored run id (read through the admin API)

  Without --gateway the gateway runs in this process from the local config (GATEWAY_CONFIG, env).
  With --admin-key the judge prompts are registered in the prompt registry (eval-faithfulness, …) and
  called from there; --judge-prompts files sends the built-in prompts' text instead.
  Metrics: ${METRIC_IDS.join(', ')}.
  Exit codes: 0 done, 1 a gate failed (or nothing could be evaluated), 2 bad input.
  docs/evaluation.md
`;

export interface EvalIo {
  out(text: string): void;
  err: { write(text: string): void; isTTY: boolean };
  /** Aborts on SIGINT/SIGTERM: finished pairs stay in results.jsonl, the rerun continues. */
  signal: AbortSignal;
}

export interface RunArgs {
  dataset: string;
  targets: Target[];
  gateway: string | null;
  apiKey: string | null;
  adminKey: string | null;
  judge: string | null;
  out: string;
  concurrency: number;
  noCache: boolean;
  metrics: Set<MetricId>;
  gates: Gate[];
  name: string | null;
  config: string | null;
  /** `--no-judge` was given (no judge metrics on purpose). */
  noJudge: boolean;
  /** Where the judge prompts come from: the prompt registry (needs --admin-key) or the built-in files. */
  judgePrompts: 'registry' | 'files';
}

export function parseRunArgs(args: string[], env: NodeJS.ProcessEnv): RunArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  if (!v.dataset) throw new UsageError('--dataset is required');
  const targetNames = v.target ?? [];
  if (targetNames.length === 0) throw new UsageError('at least one --target is required');
  const targets = targetNames.map((t) => {
    try {
      return parseTarget(t);
    } catch (err) {
      throw new UsageError(`--target: ${(err as Error).message}`);
    }
  });
  const names = targets.map((t) => t.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UsageError(`--target "${dup}" is given twice`);
  const concurrency = v.concurrency === undefined ? 4 : Number(v.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new UsageError(`--concurrency must be a whole number from 1 to 64; got "${v.concurrency}"`);
  }
  let metrics = new Set<MetricId>(METRIC_IDS);
  if (v.metrics !== undefined) {
    metrics = new Set();
    for (const id of v.metrics
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      if (!isMetricId(id))
        throw new UsageError(`--metrics: unknown metric "${id}" (${METRIC_IDS.join(', ')})`);
      metrics.add(id);
    }
  }
  const gates = [
    ...(v['fail-below'] ?? []).map((g) => parseGate(g, 'below')),
    ...(v['fail-above'] ?? []).map((g) => parseGate(g, 'above')),
  ];
  for (const g of gates) {
    if (!metrics.has(g.metric)) throw new UsageError(`a gate on ${g.metric}, which --metrics leaves out`);
  }
  if (v.gateway !== undefined && !/^https?:\/\/[^\s]+$/.test(v.gateway)) {
    throw new UsageError(`--gateway must be an http(s) URL; got "${v.gateway}"`);
  }
  const firstModel = targets.find((t) => t.kind === 'model');
  const judge = v['no-judge'] ? null : (v.judge ?? firstModel?.name ?? null);
  if (v.judge !== undefined && !/^[\w./:@-]{1,200}$/.test(v.judge)) {
    throw new UsageError(`--judge must be a model or alias name; got "${v.judge}"`);
  }
  const judgePrompts = v['judge-prompts'] ?? (v['admin-key'] ? 'registry' : 'files');
  if (judgePrompts !== 'registry' && judgePrompts !== 'files') {
    throw new UsageError(`--judge-prompts must be registry or files; got "${judgePrompts}"`);
  }
  if (judgePrompts === 'registry' && !v['admin-key']) {
    throw new UsageError(
      '--judge-prompts registry needs --admin-key (the prompts are stored through the admin API)',
    );
  }
  return {
    noJudge: v['no-judge'] === true,
    judgePrompts,
    dataset: v.dataset,
    targets,
    gateway: v.gateway ?? null,
    apiKey: v['api-key'] ?? env.GATEWAY_API_KEY ?? null,
    adminKey: v['admin-key'] ?? null,
    judge,
    out: v.out ?? 'eval-results',
    concurrency,
    noCache: v['no-cache'] === true,
    metrics,
    gates,
    name: v.name ?? null,
    config: v.config ?? env.GATEWAY_CONFIG ?? null,
  };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      dataset: { type: 'string' },
      target: { type: 'string', multiple: true },
      gateway: { type: 'string' },
      'api-key': { type: 'string' },
      'admin-key': { type: 'string' },
      judge: { type: 'string' },
      'no-judge': { type: 'boolean' },
      out: { type: 'string' },
      concurrency: { type: 'string' },
      'no-cache': { type: 'boolean' },
      metrics: { type: 'string' },
      'fail-below': { type: 'string', multiple: true },
      'fail-above': { type: 'string', multiple: true },
      name: { type: 'string' },
      'judge-prompts': { type: 'string' },
      config: { type: 'string', short: 'c' },
    },
    allowPositionals: true,
  });
}

/** `faithfulness=0.8` → a gate. Scores are 0–1; latency and cost gates are `--fail-above`. */
export function parseGate(text: string, direction: Gate['direction']): Gate {
  const flag = `--fail-${direction}`;
  const m = /^([a-z_]+)=(-?[\d.]+(?:e-?\d+)?)$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} expects ID=VALUE (e.g. faithfulness=0.8); got "${text}"`);
  const [, id, raw] = m as unknown as [string, string, string];
  if (!isMetricId(id)) throw new UsageError(`${flag}: unknown metric "${id}" (${METRIC_IDS.join(', ')})`);
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`${flag}: "${raw}" is not a number`);
  const measure = (MEASURE_METRICS as readonly string[]).includes(id);
  if (measure && direction === 'below') {
    throw new UsageError(`${flag}: ${id} is lower-is-better; use --fail-above ${id}=VALUE`);
  }
  if (!measure && direction === 'above') {
    throw new UsageError(`${flag}: ${id} is a 0–1 score; use --fail-below ${id}=VALUE`);
  }
  if (!measure && (value < 0 || value > 1))
    throw new UsageError(`${flag}: ${id} is a 0–1 score; got ${value}`);
  if (measure && value < 0) throw new UsageError(`${flag}: ${id} must be ≥ 0; got ${value}`);
  return { metric: id, direction, value };
}
