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
 * | max     | 65536           |
 *
 * `max` asks for the most the model gives: the adapters move the budget into the model's range (Anthropic's
 * output limit, Gemini 2.5's budget ranges), so in practice it is the model's own ceiling.
 */

/**
 * Every effort OpenAI's OpenAPI document lists (`ReasoningEffort`, read 2026-12-08). The one place a new
 * effort is added (decision 0235): the request schemas of chat, completions and Responses take their enum
 * from here, and `BUDGETS` below must then give it a budget (the compiler insists), so a value the gateway
 * accepts always means something to a translated provider.
 */
export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'] as const;

/** One of `REASONING_EFFORTS`. */
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

const BUDGETS: Readonly<Record<Exclude<ReasoningEffort, 'none'>, number>> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 24_576,
  xhigh: 32_768,
  max: 65_536,
};

/**
 * The thinking budget for an effort: a number, 0 for `none`, undefined when no effort was asked. Request
 * validation admits only `REASONING_EFFORTS`, so any other value cannot arrive here.
 */
export function thinkingBudget(effort: unknown): number | undefined {
  if (effort === 'none') return 0;
  return typeof effort === 'string' && Object.hasOwn(BUDGETS, effort)
    ? BUDGETS[effort as keyof typeof BUDGETS]
    : undefined;
}
