/**
 * One result per item × target (`results.jsonl` in `--out`, and `eval_results` when stored). The file is
 * appended as each pair finishes and read back on a restart, so an interrupted run continues where it
 * stopped; at the end it is rewritten in dataset order with one line per pair (a torn last line or an
 * earlier failed attempt is dropped then).
 */
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import type { JudgeVerdict } from './judge/judge.js';
import type { MetricId } from './metrics.js';

export interface ResultRecord {
  run_id: string;
  item_id: string;
  target: string;
  tags: string[];
  question: string;
  answer: string;
  reference: string | null;
  /** Set when the target call failed: the pair has no scores (and is retried on a restart). */
  error: string | null;
  /** Metric id → value: quality scores 0–1, `latency_ms` (total), `cost_usd`. */
  scores: Partial<Record<MetricId, number>>;
  /** Metric id → why there is no score (an unparseable judge answer, a failed judge call). */
  unscored: Partial<Record<MetricId, string>>;
  /** Notes on a score (e.g. the JSON-schema problem). */
  notes: Partial<Record<MetricId, string>>;
  judge: Partial<Record<MetricId, Omit<JudgeVerdict, 'metric'>>>;
  ttft_ms: number | null;
  total_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  judge_cost_usd: number;
  cache: string | null;
  request_id: string | null;
  /** Prompt targets: the version that served the pair (`support@3`; a label resolves to a number). */
  prompt_version?: string | null;
  retries: number;
}

export const pairKey = (r: Pick<ResultRecord, 'item_id' | 'target'>): string =>
  `${r.item_id}\u0000${r.target}`;

/** The finished pairs in a results file (last line per pair wins; failed pairs and torn lines skipped). */
export async function readResults(path: string): Promise<ResultRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const byKey = new Map<string, ResultRecord>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let record: ResultRecord;
    try {
      record = JSON.parse(line) as ResultRecord;
    } catch {
      continue; // the line a killed run was writing
    }
    if (typeof record?.item_id !== 'string' || typeof record.target !== 'string') continue;
    byKey.set(pairKey(record), record);
  }
  return [...byKey.values()];
}

/** Appends one finished pair (one write call: a line is whole or torn, never interleaved). */
export async function appendResult(path: string, record: ResultRecord): Promise<void> {
  await appendFile(path, `${JSON.stringify(record)}\n`);
}

/** Rewrites the file with exactly these records (through a temporary file and a rename). */
export async function writeResults(path: string, records: readonly ResultRecord[]): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  await rename(tmp, path);
}
