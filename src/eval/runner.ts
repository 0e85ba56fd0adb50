/**
 * Runs every item × target through the gateway with bounded concurrency, scores each answer and appends
 * the result to `results.jsonl` as soon as it is done (so a killed run resumes: finished pairs are read
 * back and skipped). Items go in dataset order, every target of an item before the next item, so an
 * interrupted run still compares the targets on the same items.
 */
import type { Ajv } from 'ajv';
import type { Embedder } from '../cache/semantic/types.js';
import type { Clock } from '../core/clock.js';
import type { GatewayClient } from './client.js';
import { type DatasetItem, questionOf } from './dataset.js';
import { judgeApplies, runJudge } from './judge/judge.js';
import type { JudgeInput, JudgePrompt } from './judge/prompt.js';
import { registryRef } from './judge/prompt.js';
import { checkAnswer, JUDGE_METRICS, type JudgeMetric, type MetricId } from './metrics.js';
import type { Progress } from './progress.js';
import { appendResult, pairKey, type ResultRecord } from './results.js';
import { buildRequest, type Target } from './targets.js';

export interface RunDeps {
  client: GatewayClient;
  embedder: Embedder | null;
  ajv: Ajv;
  clock: Clock;
}

export interface RunPlan {
  runId: string;
  items: readonly DatasetItem[];
  targets: readonly Target[];
  /** The judge model (or alias); null: no judge metrics. */
  judge: string | null;
  /** Judge metrics whose prompt is called through the prompt registry (judge/registry.ts); others: the file. */
  registryJudge?: ReadonlySet<JudgeMetric>;
  metrics: ReadonlySet<MetricId>;
  concurrency: number;
  resultsPath: string;
  /** Pairs already finished (read back from `results.jsonl`). */
  done: readonly ResultRecord[];
}

/** Runs the pairs not yet done; resolves with every record, in dataset × target order. */
export async function runEvaluation(
  plan: RunPlan,
  deps: RunDeps,
  progress: Progress,
  signal: AbortSignal,
  onResult?: (record: ResultRecord) => Promise<void>,
): Promise<ResultRecord[]> {
  const byKey = new Map(plan.done.map((r) => [pairKey(r), r]));
  const pairs: Array<{ item: DatasetItem; target: Target }> = [];
  for (const item of plan.items) {
    for (const target of plan.targets) {
      const done = byKey.get(pairKey({ item_id: item.id, target: target.name }));
      if (!done || done.error !== null) pairs.push({ item, target });
    }
  }
  let next = 0;
  const worker = async () => {
    while (!signal.aborted) {
      const pair = pairs[next++];
      if (!pair) return;
      const record = await runPair(plan, deps, pair.item, pair.target, signal);
      if (signal.aborted) return; // an interrupted pair is not a result: it runs again on the restart
      await appendResult(plan.resultsPath, record);
      byKey.set(pairKey(record), record);
      progress.tick((record.cost_usd ?? 0) + record.judge_cost_usd, record.error !== null);
      await onResult?.(record);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, plan.concurrency) }, worker));
  const ordered: ResultRecord[] = [];
  for (const item of plan.items) {
    for (const target of plan.targets) {
      const r = byKey.get(pairKey({ item_id: item.id, target: target.name }));
      if (r) ordered.push(r);
    }
  }
  return ordered;
}

async function runPair(
  plan: RunPlan,
  deps: RunDeps,
  item: DatasetItem,
  target: Target,
  signal: AbortSignal,
): Promise<ResultRecord> {
  const question = questionOf(item);
  const record: ResultRecord = {
    run_id: plan.runId,
    item_id: item.id,
    target: target.name,
    tags: item.tags,
    question,
    answer: '',
    reference: item.reference,
    error: null,
    scores: {},
    unscored: {},
    notes: {},
    judge: {},
    ttft_ms: null,
    total_ms: null,
    input_tokens: null,
    output_tokens: null,
    cost_usd: null,
    judge_cost_usd: 0,
    cache: null,
    request_id: null,
    retries: 0,
  };
  const request = buildRequest(target, item, 0);
  const outcome = await deps.client.stream(request.path, request.body, signal);
  Object.assign(record, {
    answer: outcome.text,
    ttft_ms: round1(outcome.ttftMs),
    total_ms: round1(outcome.totalMs),
    input_tokens: outcome.inputTokens,
    output_tokens: outcome.outputTokens,
    cost_usd: outcome.costUsd,
    cache: outcome.cache,
    request_id: outcome.requestId,
    retries: outcome.retries,
  });
  if (target.kind === 'prompt') record.prompt_version = outcome.promptVersion;
  if (!outcome.ok) {
    record.error = outcome.error ?? `HTTP ${outcome.status}`;
    return record;
  }
  const checks = await checkAnswer(item, outcome.text, plan.metrics, deps);
  Object.assign(record.scores, checks.scores);
  Object.assign(record.notes, checks.notes);
  if (plan.metrics.has('latency_ms')) record.scores.latency_ms = record.total_ms as number;
  if (plan.metrics.has('cost_usd') && outcome.costUsd !== null) record.scores.cost_usd = outcome.costUsd;

  const judge = plan.judge;
  if (judge === null) return record;
  const input = { question, answer: outcome.text, context: item.context, reference: item.reference };
  const call = async (prompt: JudgePrompt, judged: JudgeInput) => {
    const viaRegistry = plan.registryJudge?.has(prompt.metric) === true;
    const r = viaRegistry
      ? await deps.client.complete(
          `/v1/prompts/${encodeURIComponent(prompt.registryId)}/completions`,
          { model: judge, version: prompt.registryVersion, variables: prompt.values(judged), temperature: 0 },
          signal,
        )
      : await deps.client.complete(
          '/v1/chat/completions',
          { model: judge, messages: [{ role: 'user', content: prompt.render(judged) }], temperature: 0 },
          signal,
        );
    const error = r.ok ? null : (r.error ?? `HTTP ${r.status}`);
    return {
      text: r.text,
      costUsd: r.costUsd,
      error,
      ...(viaRegistry ? { prompt: registryRef(prompt) } : {}),
    };
  };
  const metrics = JUDGE_METRICS.filter((m) => plan.metrics.has(m) && judgeApplies(m, input));
  const verdicts = await Promise.all(
    metrics.map((m) => runJudge(m, input, { call, judge, embedder: deps.embedder })),
  );
  for (const v of verdicts) {
    const { metric, ...stored } = v;
    record.judge[metric] = stored;
    record.judge_cost_usd += v.costUsd ?? 0;
    if (v.score === null) record.unscored[metric] = v.problem ?? 'no score';
    else record.scores[metric] = v.score;
  }
  record.judge_cost_usd = Math.round(record.judge_cost_usd * 1e6) / 1e6;
  return record;
}

const round1 = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);
