/**
 * `llm-gateway eval run|compare` (DESIGN §12, docs/evaluation.md): runs a dataset through the gateway
 * against several targets, scores the answers, writes `results.jsonl`, `report.md` and `report.html` to
 * `--out` (and stores the run through the admin API with `--admin-key`), and gates CI on the scores.
 * Exit codes: 0 done, 1 a gate failed (or no pair could be evaluated), 2 bad input.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { createEmbedder } from '../cache/semantic/embedders.js';
import type { Embedder } from '../cache/semantic/types.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { type Clock, isoNow } from '../core/clock.js';
import { GatewayClient } from '../eval/client.js';
import { AdminClient, type Connection, remote, startInProcess } from '../eval/connection.js';
import { DatasetError, type DatasetItem, parseDataset } from '../eval/dataset.js';
import { JUDGE_PROMPTS } from '../eval/judge/judge.js';
import { promptId, registryRef } from '../eval/judge/prompt.js';
import { registerJudgePrompts } from '../eval/judge/registry.js';
import { isJudgeMetric, type JudgeMetric, type MetricId } from '../eval/metrics.js';
import { Progress } from '../eval/progress.js';
import { renderHtml } from '../eval/report/html.js';
import { renderMarkdown } from '../eval/report/markdown.js';
import { buildReportModel, metricDigits, type RunInfo } from '../eval/report/model.js';
import { type ResultRecord, readResults, writeResults } from '../eval/results.js';
import { runEvaluation } from '../eval/runner.js';
import { checkGates, summarise } from '../eval/summary.js';
import { EVAL_USAGE, type EvalIo, parseRunArgs, type RunArgs } from './eval-args.js';
import { runCompare } from './eval-compare.js';
import { UsageError } from './keys.js';

export { EVAL_USAGE, type EvalIo };

/** Runs `eval run` or `eval compare`; resolves with the exit code (usage errors: 2, with the usage). */
export async function runEvalCommand(
  args: string[],
  env: NodeJS.ProcessEnv,
  io: EvalIo,
  clock: Clock,
): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'run') return await evalRun(parseRunArgs(rest, env), env, io, clock);
    if (sub === 'compare') return await runCompare(rest, io);
    throw new UsageError(sub ? `unknown eval command "${sub}"` : 'eval needs a command: run or compare');
  } catch (err) {
    if (err instanceof UsageError || err instanceof DatasetError) {
      io.err.write(`${err.message}\n`);
      if (err instanceof UsageError) io.err.write(EVAL_USAGE);
      return 2;
    }
    io.err.write(`eval failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function readDataset(path: string): Promise<{ items: DatasetItem[]; sha256: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--dataset ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    return { items: parseDataset(text), sha256: createHash('sha256').update(text).digest('hex') };
  } catch (err) {
    if (err instanceof DatasetError) throw new DatasetError(err.problems.map((p) => `${path}: ${p}`));
    throw err;
  }
}

interface StoredRunFile extends RunInfo {
  settings: { metrics: MetricId[]; concurrency: number; no_cache: boolean };
}

/** The run in `--out`: resumed when it was made from the same dataset and targets, else a usage error. */
async function openRun(args: RunArgs, sha256: string, items: number, clock: Clock): Promise<StoredRunFile> {
  const path = join(args.out, 'run.json');
  const targets = args.targets.map((t) => t.name);
  try {
    const stored = JSON.parse(await readFile(path, 'utf8')) as StoredRunFile;
    if (stored.dataset_sha256 !== sha256 || JSON.stringify(stored.targets) !== JSON.stringify(targets)) {
      throw new UsageError(
        `--out ${args.out} holds run ${stored.run_id} of another dataset or other targets; choose another --out`,
      );
    }
    return stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const stamp = isoNow(clock).replace(/[-:]/g, '').slice(0, 15);
  const judgePrompts = [...args.metrics].filter(isJudgeMetric).map((m) => promptId(JUDGE_PROMPTS[m]));
  const run: StoredRunFile = {
    run_id: `eval-${stamp}-${randomBytes(3).toString('hex')}`,
    dataset: args.dataset,
    dataset_sha256: sha256,
    items,
    targets,
    judge: args.judge,
    judge_prompts: args.judge ? judgePrompts : [],
    started_at: isoNow(clock),
    finished_at: null,
    gateway: args.gateway ?? 'in process (local config)',
    settings: { metrics: [...args.metrics], concurrency: args.concurrency, no_cache: args.noCache },
  };
  await mkdir(args.out, { recursive: true });
  await writeFile(path, `${JSON.stringify(run, null, 2)}\n`);
  return run;
}

async function evalRun(args: RunArgs, env: NodeJS.ProcessEnv, io: EvalIo, clock: Clock): Promise<number> {
  const { items, sha256 } = await readDataset(args.dataset);
  const onlyVariables = items.find((i) => i.input === null);
  if (onlyVariables && args.targets.some((t) => t.kind === 'model')) {
    throw new UsageError(
      `item "${onlyVariables.id}" has only "variables": model targets need "input" (or use prompt: targets only)`,
    );
  }
  if (args.judge === null && args.gates.some((g) => isJudgeMetric(g.metric))) {
    throw new UsageError('a gate on a judge metric needs a judge (--judge MODEL)');
  }
  if (args.judge === null && !args.noJudge) {
    if ([...args.metrics].some(isJudgeMetric)) {
      io.err.write(
        'note: no judge metrics: the judge defaults to the first model target and every target is a prompt (--judge MODEL)\n',
      );
    }
  }
  await mkdir(args.out, { recursive: true });
  const run = await openRun(args, sha256, items.length, clock);
  const resultsPath = join(args.out, 'results.jsonl');
  const done = await readResults(resultsPath);

  let connection: Connection;
  if (args.gateway) connection = remote(args.gateway);
  else {
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig({ env, file: args.config ?? undefined });
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    connection = await startInProcess(config, env, clock);
  }
  const embedder = await openEmbedder(args.metrics, io);
  try {
    const admin = args.adminKey ? new AdminClient(connection.baseUrl, args.adminKey) : null;
    const registryJudge = new Set<JudgeMetric>();
    if (admin && args.judge && args.judgePrompts === 'registry') {
      const metrics = [...args.metrics].filter(isJudgeMetric);
      const registered = await registerJudgePrompts(
        (method, path, body) => admin.raw(method, path, body),
        metrics.map((m) => JUDGE_PROMPTS[m]),
      );
      for (const r of registered) {
        if (r.registry) registryJudge.add(r.prompt.metric);
        else io.err.write(`warning: judge prompt ${promptId(r.prompt)} from its file: ${r.note}\n`);
      }
      run.judge_prompts = registered.map((r) => (r.registry ? registryRef(r.prompt) : promptId(r.prompt)));
    }
    if (admin) {
      await admin.createRun({
        id: run.run_id,
        ...(args.name ? { name: args.name } : {}),
        dataset: run.dataset,
        dataset_sha256: run.dataset_sha256,
        item_count: run.items,
        targets: run.targets,
        judge: run.judge,
        settings: { ...run.settings, judge_prompts: run.judge_prompts },
      });
    }
    const client = new GatewayClient({
      baseUrl: connection.baseUrl,
      apiKey: args.apiKey,
      clock,
      bypassCache: args.noCache,
    });
    const total = items.length * args.targets.length;
    const itemIds = new Set(items.map((i) => i.id));
    const alreadyDone = done.filter(
      (r) => r.error === null && run.targets.includes(r.target) && itemIds.has(r.item_id),
    ).length;
    const progress = new Progress(total, alreadyDone, clock, io.err);
    let storeWarned = false;
    const store = async (record: ResultRecord) => {
      if (!admin) return;
      await admin.storeResults(run.run_id, [record]).catch((err: Error) => {
        if (!storeWarned) io.err.write(`warning: results are not stored: ${err.message}\n`);
        storeWarned = true;
      });
    };
    if (admin && done.length > 0) await admin.storeResults(run.run_id, done).catch(() => undefined);
    const records = await runEvaluation(
      {
        runId: run.run_id,
        items,
        targets: args.targets,
        judge: args.judge,
        registryJudge,
        metrics: args.metrics,
        concurrency: args.concurrency,
        resultsPath,
        done,
      },
      { client, embedder, ajv: new Ajv({ strict: false }), clock },
      progress,
      io.signal,
      store,
    );
    if (io.signal.aborted) {
      io.err.write(
        `\ninterrupted: ${records.filter((r) => r.error === null).length}/${total} done; run the same command again to continue\n`,
      );
      return 130;
    }
    await writeResults(resultsPath, records);
    const info: RunInfo = { ...run, finished_at: isoNow(clock) };
    const summaries = summarise(records, run.targets);
    const failures = checkGates(summaries, args.gates);
    const model = buildReportModel(
      info,
      records,
      args.gates.length > 0 ? { checked: args.gates.length, failures } : null,
    );
    await writeFile(join(args.out, 'report.md'), renderMarkdown(model));
    await writeFile(join(args.out, 'report.html'), renderHtml(model));
    await writeFile(
      join(args.out, 'run.json'),
      `${JSON.stringify({ ...run, finished_at: info.finished_at }, null, 2)}\n`,
    );
    const evaluated = records.filter((r) => r.error === null).length;
    await admin
      ?.finishRun(run.run_id, failures.length > 0 || evaluated === 0 ? 'failed' : 'finished', summaries)
      .catch((err: Error) => io.err.write(`warning: the run is not marked finished: ${err.message}\n`));
    io.out(`${summaryLines(run.run_id, args.out, records, summaries, failures)}\n`);
    if (evaluated === 0) {
      io.err.write(`no item could be evaluated: ${records[0]?.error ?? 'no result'}\n`);
      return 1;
    }
    return failures.length > 0 ? 1 : 0;
  } finally {
    await embedder?.close?.();
    await connection.close();
  }
}

/** The local embedder when a metric needs it; without it those metrics are left out (with a warning). */
async function openEmbedder(metrics: Set<MetricId>, io: EvalIo): Promise<Embedder | null> {
  if (!metrics.has('semantic_similarity') && !metrics.has('answer_relevancy')) return null;
  const noop = { inc: () => undefined, observe: () => undefined };
  const embedder = createEmbedder(
    { kind: 'local' },
    {
      logger: { info: () => undefined, error: () => undefined },
      metrics: { dependencyErrors: noop, embeddingDuration: noop },
    },
  );
  try {
    await embedder.embed(['warm up']);
    return embedder;
  } catch (err) {
    io.err.write(
      `warning: the local embedder did not load (${(err as Error).message}); no semantic_similarity or answer_relevancy\n`,
    );
    metrics.delete('semantic_similarity');
    metrics.delete('answer_relevancy');
    return null;
  }
}

function summaryLines(
  runId: string,
  out: string,
  records: readonly ResultRecord[],
  summaries: ReturnType<typeof summarise>,
  failures: ReturnType<typeof checkGates>,
): string {
  const lines = [
    `run ${runId}: ${records.length} results in ${out}/ (results.jsonl, report.md, report.html)`,
  ];
  for (const s of summaries) {
    const ms = s.metrics.map(
      (m) => `${m.metric}=${Number.isNaN(m.mean) ? '–' : m.mean.toFixed(metricDigits(m.metric))}`,
    );
    lines.push(`  ${s.target}: ${ms.join(' ')}${s.errors ? ` errors=${s.errors}` : ''}`);
  }
  for (const f of failures) {
    lines.push(
      f.kind === 'errors'
        ? `GATE FAILED: ${f.target}: ${f.errors} of ${f.items} items could not be evaluated (with gates set, every item must be)`
        : `GATE FAILED: ${f.target}: ${f.gate.metric} = ${f.actual === null ? 'no score' : f.actual.toFixed(4)} (must not be ${f.gate.direction} ${f.gate.value})`,
    );
  }
  return lines.join('\n');
}
