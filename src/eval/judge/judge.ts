/**
 * RAGAS-style judge metrics (answer relevancy, faithfulness, context precision): render the versioned
 * prompt, ask the judge model through the gateway, parse its JSON answer and compute the 0–1 score. A judge
 * answer that cannot be parsed (or a failed judge call) gives no score for that metric, with the reason —
 * never an exception.
 */
import type { Embedder } from '../../cache/semantic/types.js';
import type { JudgeMetric } from '../metrics.js';
import { clamp01, cosine, round4 } from '../metrics.js';
import { ANSWER_RELEVANCY_QUESTIONS, answerRelevancyV1 } from './answer-relevancy-v1.js';
import { contextPrecisionV1 } from './context-precision-v1.js';
import { faithfulnessV1 } from './faithfulness-v1.js';
import { type JudgeInput, type JudgePrompt, promptId } from './prompt.js';

/** The prompt each metric uses now. */
export const JUDGE_PROMPTS: Record<JudgeMetric, JudgePrompt> = {
  faithfulness: faithfulnessV1,
  answer_relevancy: answerRelevancyV1,
  context_precision: contextPrecisionV1,
};

export interface JudgeVerdict {
  metric: JudgeMetric;
  /** null: no score (`problem` says why). */
  score: number | null;
  /** The prompt that produced it: `eval-faithfulness@1` (the prompt registry) or `faithfulness@v1` (the file). */
  prompt: string;
  judge: string;
  /** The judge's reasons, one line per statement / passage / question. */
  reasoning: string;
  problem: string | null;
  costUsd: number | null;
}

/** Asks the judge; `prompt` names the prompt that was used when it is not the file's (the registry's). */
export type JudgeCall = (
  prompt: JudgePrompt,
  input: JudgeInput,
) => Promise<{ text: string; costUsd: number | null; error: string | null; prompt?: string }>;

/** Whether the metric can be computed for this item (what it needs is there). */
export function judgeApplies(metric: JudgeMetric, input: JudgeInput): boolean {
  if (metric === 'faithfulness' || metric === 'context_precision') return input.context.length > 0;
  return input.question.trim() !== '';
}

export async function runJudge(
  metric: JudgeMetric,
  input: JudgeInput,
  deps: { call: JudgeCall; judge: string; embedder: Embedder | null },
): Promise<JudgeVerdict> {
  const prompt = JUDGE_PROMPTS[metric];
  const verdict: JudgeVerdict = {
    metric,
    score: null,
    prompt: promptId(prompt),
    judge: deps.judge,
    reasoning: '',
    problem: null,
    costUsd: null,
  };
  const reply = await deps.call(prompt, input);
  verdict.costUsd = reply.costUsd;
  if (reply.prompt) verdict.prompt = reply.prompt;
  if (reply.error !== null) {
    verdict.problem = `judge call failed: ${reply.error}`;
    return verdict;
  }
  const json = extractJson(reply.text);
  if (json === null) {
    verdict.problem = 'the judge answer is not JSON';
    verdict.reasoning = reply.text.slice(0, 500);
    return verdict;
  }
  try {
    const { score, reasoning } =
      metric === 'faithfulness'
        ? scoreFaithfulness(json)
        : metric === 'context_precision'
          ? scoreContextPrecision(json, input.context.length)
          : await scoreAnswerRelevancy(json, input.question, deps.embedder);
    verdict.score = score === null ? null : round4(clamp01(score));
    verdict.reasoning = reasoning;
    if (score === null) verdict.problem = reasoning;
  } catch (err) {
    verdict.problem = (err as Error).message;
    verdict.reasoning = reply.text.slice(0, 500);
  }
  return verdict;
}

/** The first JSON object in a text (models sometimes wrap it in prose or a ``` fence). */
export function extractJson(text: string): Record<string, unknown> | null {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  try {
    const value = JSON.parse(text.slice(start, end + 1)) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

const verdictOf = (v: unknown): 0 | 1 => {
  if (v === 1 || v === '1' || v === true || v === 'yes') return 1;
  if (v === 0 || v === '0' || v === false || v === 'no') return 0;
  throw new Error(`the judge answer has a verdict that is not 0 or 1: ${JSON.stringify(v)}`);
};
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Supported statements / statements. No statement at all: no score (RAGAS gives NaN). */
export function scoreFaithfulness(json: Record<string, unknown>): {
  score: number | null;
  reasoning: string;
} {
  const statements = json.statements;
  if (!Array.isArray(statements)) throw new Error('the judge answer has no "statements" list');
  if (statements.length === 0) return { score: null, reasoning: 'no factual statement in the answer' };
  let supported = 0;
  const lines = statements.map((s: Record<string, unknown>) => {
    const v = verdictOf(s?.verdict);
    supported += v;
    return `${v ? '✓' : '✗'} ${text(s?.statement)} — ${text(s?.reason)}`;
  });
  return { score: supported / statements.length, reasoning: lines.join('\n') };
}

/** Mean precision@k over the ranks of the useful passages; 0 when none is useful. */
export function scoreContextPrecision(
  json: Record<string, unknown>,
  passages: number,
): { score: number; reasoning: string } {
  const verdicts = json.verdicts;
  if (!Array.isArray(verdicts)) throw new Error('the judge answer has no "verdicts" list');
  if (verdicts.length !== passages) {
    throw new Error(`the judge gave ${verdicts.length} verdicts for ${passages} passages`);
  }
  const v = verdicts.map((x: Record<string, unknown>) => verdictOf(x?.verdict));
  return {
    score: averagePrecision(v),
    reasoning: verdicts
      .map((x: Record<string, unknown>, i) => `[${i + 1}] ${v[i] ? '✓' : '✗'} ${text(x?.reason)}`)
      .join('\n'),
  };
}

/** Σ_k precision@k · v_k / Σ v_k (RAGAS context precision). */
export function averagePrecision(relevant: readonly (0 | 1)[]): number {
  let hits = 0;
  let sum = 0;
  relevant.forEach((v, i) => {
    if (v === 1) {
      hits++;
      sum += hits / (i + 1);
    }
  });
  return hits === 0 ? 0 : sum / hits;
}

async function scoreAnswerRelevancy(
  json: Record<string, unknown>,
  question: string,
  embedder: Embedder | null,
): Promise<{ score: number; reasoning: string }> {
  const questions = json.questions;
  if (!Array.isArray(questions) || questions.length === 0 || questions.some((q) => typeof q !== 'string')) {
    throw new Error('the judge answer has no "questions" list of strings');
  }
  const noncommittal = verdictOf(json.noncommittal ?? 0);
  if (!embedder) throw new Error('answer_relevancy needs the local embedder');
  const asked = (questions as string[]).slice(0, ANSWER_RELEVANCY_QUESTIONS * 2);
  const vectors = await embedder.embed([question, ...asked]);
  const [q, ...gen] = vectors as [Float32Array, ...Float32Array[]];
  const sims = gen.map((g) => clamp01(cosine(q, g)));
  const mean = sims.reduce((a, b) => a + b, 0) / sims.length;
  const reasoning = [
    ...asked.map((g, i) => `${(sims[i] as number).toFixed(2)} ${g}`),
    `noncommittal: ${noncommittal}${text(json.reason) ? ` — ${text(json.reason)}` : ''}`,
  ].join('\n');
  return { score: noncommittal ? 0 : mean, reasoning };
}
