/**
 * The metric ids (the interface; `--fail-below ID=VALUE` takes them) and the checks that need no
 * judge: exact match, regex, JSON-schema validity and semantic similarity to the reference (the local
 * embedder of the semantic cache). Quality scores are 0–1; `latency_ms` and `cost_usd` are measurements.
 */
import type { Ajv } from 'ajv';
import type { Embedder } from '../cache/semantic/types.js';
import type { DatasetItem } from './dataset.js';

export const QUALITY_METRICS = [
  'exact_match',
  'regex',
  'json_schema',
  'semantic_similarity',
  'answer_relevancy',
  'faithfulness',
  'context_precision',
] as const;
export const JUDGE_METRICS = ['answer_relevancy', 'faithfulness', 'context_precision'] as const;
export const MEASURE_METRICS = ['latency_ms', 'cost_usd'] as const;
export const METRIC_IDS = [...QUALITY_METRICS, ...MEASURE_METRICS] as const;

export type QualityMetric = (typeof QUALITY_METRICS)[number];
export type JudgeMetric = (typeof JUDGE_METRICS)[number];
export type MetricId = (typeof METRIC_IDS)[number];

export const isMetricId = (id: string): id is MetricId => (METRIC_IDS as readonly string[]).includes(id);
export const isJudgeMetric = (id: string): id is JudgeMetric =>
  (JUDGE_METRICS as readonly string[]).includes(id);

/** Straight and typographic quotes a model may put around a short answer. */
const QUOTES = `"'\`\u2018\u2019\u201C\u201D\u00AB\u00BB`;
const SURROUNDING_QUOTES = new RegExp(`^[${QUOTES}]+|[${QUOTES}]+$`, 'g');

/**
 * Lower case, whitespace collapsed, surrounding quotes and final punctuation dropped — in any order, so
 * `"Canberra".`, `"Canberra."` and `“Canberra”` all become `canberra`.
 */
export function normaliseAnswer(text: string): string {
  let out = text.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ');
  for (let previous = ''; previous !== out; ) {
    previous = out;
    out = out
      .replace(SURROUNDING_QUOTES, '')
      .replace(/[.!?;:,]+$/, '')
      .trim();
  }
  return out;
}

/** 1 when the normalised answer equals the normalised reference. */
export function exactMatch(answer: string, reference: string): number {
  return normaliseAnswer(answer) === normaliseAnswer(reference) ? 1 : 0;
}

/** 1 when the pattern matches anywhere in the answer (anchor it with ^…$ for a whole match). */
export function regexMatch(answer: string, pattern: string): number {
  return new RegExp(pattern, 'u').test(answer) ? 1 : 0;
}

/**
 * 1 when the answer is JSON (optionally inside one ```json fence) valid against the schema; else 0, with
 * the first problem.
 */
export function jsonSchemaValid(
  answer: string,
  schema: Record<string, unknown>,
  ajv: Ajv,
): { score: number; problem: string | null } {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(answer);
  let value: unknown;
  try {
    value = JSON.parse(fenced ? (fenced[1] as string) : answer);
  } catch {
    return { score: 0, problem: 'the answer is not JSON' };
  }
  const validate = ajv.compile(schema);
  if (validate(value)) return { score: 1, problem: null };
  const e = validate.errors?.[0];
  return { score: 0, problem: e ? `${e.instancePath || '/'} ${e.message ?? 'is invalid'}` : 'invalid' };
}

/** Cosine similarity of two texts' embeddings, clamped to 0–1 (the vectors are L2-normalised). */
export async function similarity(embedder: Embedder, a: string, b: string): Promise<number> {
  const [va, vb] = await embedder.embed([a, b]);
  return clamp01(cosine(va as Float32Array, vb as Float32Array));
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dotAB = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dotAB += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return na === 0 || nb === 0 ? 0 : dotAB / Math.sqrt(na * nb);
}

export const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

export interface CheckScores {
  scores: Partial<Record<QualityMetric, number>>;
  notes: Partial<Record<QualityMetric, string>>;
}

/** The judge-free quality metrics that apply to an item (those whose fields it has). */
export async function checkAnswer(
  item: DatasetItem,
  answer: string,
  wanted: ReadonlySet<MetricId>,
  deps: { ajv: Ajv; embedder: Embedder | null },
): Promise<CheckScores> {
  const out: CheckScores = { scores: {}, notes: {} };
  if (wanted.has('exact_match') && item.reference !== null) {
    out.scores.exact_match = exactMatch(answer, item.reference);
  }
  if (wanted.has('regex') && item.regex !== null) out.scores.regex = regexMatch(answer, item.regex);
  if (wanted.has('json_schema') && item.jsonSchema !== null) {
    const { score, problem } = jsonSchemaValid(answer, item.jsonSchema, deps.ajv);
    out.scores.json_schema = score;
    if (problem) out.notes.json_schema = problem;
  }
  if (wanted.has('semantic_similarity') && item.reference !== null && deps.embedder) {
    out.scores.semantic_similarity = answer.trim()
      ? round4(await similarity(deps.embedder, answer, item.reference))
      : 0;
  }
  return out;
}

export const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;
