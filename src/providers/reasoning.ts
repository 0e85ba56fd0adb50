/**
 * `reasoning_effort` (Chat Completions; `reasoning.effort` of the Responses API) as a thinking budget for
 * providers that take a token count (Anthropic `thinking.budget_tokens`, Gemini 2.5 `thinkingBudget`).
 * One table for both, so the same effort costs about the same everywhere (docs/agents.md, decision 0092):
 *
 * | effort  | budget (tokens) |
 * |---------|-----------------|
 * | none    | thinking off    |
 * | minimal | 1024            |
 * | low     | 2048            |
 * | medium  | 8192            |
 * | high    | 24576           |
 * | xhigh   | 32768           |
 */
const BUDGETS: Readonly<Record<string, number>> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 24_576,
  xhigh: 32_768,
};

/** The thinking budget for an effort: a number, 0 for `none`, undefined when no effort was asked. */
export function thinkingBudget(effort: unknown): number | undefined {
  if (effort === 'none') return 0;
  return typeof effort === 'string' ? BUDGETS[effort] : undefined;
}
