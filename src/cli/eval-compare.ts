/**
 * `llm-gateway eval compare RUN_A RUN_B`: per metric, the means of both runs over the items both scored,
 * the difference and a paired bootstrap test (fixed seed). A run is an `--out` directory or a stored run id
 * (read through the admin API: `--gateway URL --admin-key KEY`). Targets are paired by name; two runs of one
 * target each are compared with each other whatever their names.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AdminClient } from '../eval/connection.js';
import { fmt, fmtP, metricDigits } from '../eval/report/model.js';
import { type ResultRecord, readResults } from '../eval/results.js';
import { compareRecords } from '../eval/summary.js';
import type { EvalIo } from './eval-args.js';
import { UsageError } from './keys.js';

interface LoadedRun {
  id: string;
  targets: string[];
  records: ResultRecord[];
}

export async function runCompare(args: string[], io: Pick<EvalIo, 'out'>): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{
      args: string[];
      options: { gateway: { type: 'string' }; 'admin-key': { type: 'string' } };
      allowPositionals: true;
    }>
  >;
  try {
    parsed = parseArgs({
      args,
      options: { gateway: { type: 'string' }, 'admin-key': { type: 'string' } },
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [a, b, extra] = parsed.positionals;
  if (!a || !b || extra) throw new UsageError('eval compare takes two runs: RUN_A RUN_B');
  const admin =
    parsed.values.gateway && parsed.values['admin-key']
      ? new AdminClient(parsed.values.gateway.replace(/\/+$/, ''), parsed.values['admin-key'])
      : null;
  const runA = await loadRun(a, admin);
  const runB = await loadRun(b, admin);
  const shared = runA.targets.filter((t) => runB.targets.includes(t));
  const pairs: Array<[string, string]> =
    shared.length > 0
      ? shared.map((t) => [t, t])
      : runA.targets.length === 1 && runB.targets.length === 1
        ? [[runA.targets[0] as string, runB.targets[0] as string]]
        : [];
  if (pairs.length === 0) {
    throw new UsageError(
      `the runs share no target (${runA.targets.join(', ')} vs ${runB.targets.join(', ')})`,
    );
  }
  const lines = [`# ${runB.id} vs ${runA.id}`, ''];
  for (const [ta, tb] of pairs) {
    const rows = compareRecords(
      runA.records.filter((r) => r.target === ta),
      runB.records.filter((r) => r.target === tb),
    );
    lines.push(
      `## ${ta === tb ? `\`${ta}\`` : `\`${tb}\` vs \`${ta}\``}`,
      '',
      '| metric | A | B | Δ (B − A) | 95 % CI of Δ | p (paired bootstrap) | n |',
      '|---|---:|---:|---:|---|---:|---:|',
    );
    for (const m of rows) {
      const d = metricDigits(m.metric);
      const mark = m.test.p < 0.05 ? (m.test.delta > 0 ? ' ▲' : ' ▼') : '';
      lines.push(
        `| ${m.metric} | ${fmt(m.a, d)} | ${fmt(m.b, d)} | ${m.test.delta >= 0 ? '+' : ''}${fmt(m.test.delta, d)}${mark} | [${fmt(m.test.ci[0], d)}, ${fmt(m.test.ci[1], d)}] | ${fmtP(m.test.p)} | ${m.test.n} |`,
      );
    }
    lines.push('');
  }
  lines.push(
    '▲/▼: the difference is significant at p < 0.05 (paired bootstrap, 10,000 resamples, fixed seed).',
  );
  io.out(`${lines.join('\n')}\n`);
  return 0;
}

async function loadRun(ref: string, admin: AdminClient | null): Promise<LoadedRun> {
  try {
    const run = JSON.parse(await readFile(join(ref, 'run.json'), 'utf8')) as {
      run_id: string;
      targets: string[];
    };
    return { id: run.run_id, targets: run.targets, records: await readResults(join(ref, 'results.jsonl')) };
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code !== 'ENOENT' &&
      (err as NodeJS.ErrnoException).code !== 'ENOTDIR'
    ) {
      throw err;
    }
  }
  if (!admin) {
    throw new UsageError(
      `"${ref}" is not a run directory (no run.json); for a stored run id give --gateway URL --admin-key KEY`,
    );
  }
  try {
    const { run, results } = await admin.getRun(ref);
    return { id: String(run.id), targets: run.targets as string[], records: results };
  } catch (err) {
    throw new UsageError(`run "${ref}": ${(err as Error).message}`);
  }
}
