/**
 * OpenAI chat request → Gemini `generateContent` request body.
 *
 * Dropped silently, because Gemini has no equivalent and ignoring them changes no answer's meaning:
 * `user`, `metadata`, `store`, `service_tier`, `prediction` (hints or bookkeeping for OpenAI's side),
 * `logit_bias` (no token-id biasing in Gemini), `parallel_tool_calls` (Gemini decides on its own),
 * `stream_options` (usage is always reported), tool `strict` flags, and unknown extra fields.
 * `reasoning_effort` → `thinkingConfig`: Gemini 3 models take a `thinkingLevel` (`low` for none, minimal
 * and low; `high` above), every other model a `thinkingBudget` from `../reasoning.ts` (0 for `none`).
 * Rejected with `unsupported_parameter`, because dropping them would silently change the answer: the
 * deprecated `functions`/`function_call`, `logprobs`/`top_logprobs`, audio output and web search.
 */
import type { Content, FunctionDeclaration, GenerationConfig, Tool } from '@google/genai';
import type { ChatCompletionTool, ChatCompletionToolChoiceOption } from 'openai/resources/chat/completions';
import { thinkingBudget } from '../reasoning.js';
import type { ChatRequest } from '../types.js';
import { toGeminiConversation } from './messages.js';
import { unsupported } from './parts.js';

/** Gemini's function calling config; `mode` as its REST string (the SDK types it as an enum). */
export interface GeminiToolConfig {
  functionCallingConfig: { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] };
}

/** The JSON body of `models/{model}:generateContent` and `:streamGenerateContent`. */
export interface GeminiRequestBody {
  contents: Content[];
  systemInstruction?: Content;
  generationConfig?: GenerationConfig;
  tools?: Tool[];
  toolConfig?: GeminiToolConfig;
}

/**
 * Translates an OpenAI chat request. Throws `BadRequestError` (with `param`) for what Gemini cannot express.
 *
 * @example
 * toGeminiRequest({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }] })
 * // → { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] }
 */
export function toGeminiRequest(req: ChatRequest, model: string = req.model): GeminiRequestBody {
  rejectUnsupported(req);
  const { contents, systemInstruction } = toGeminiConversation(req.messages);
  return compact({
    contents,
    systemInstruction,
    generationConfig: withThinking(toGenerationConfig(req), req.reasoning_effort, model),
    tools: toTools(req.tools),
    toolConfig: toToolConfig(req.tool_choice),
  });
}

const REJECTED: ReadonlyArray<readonly [string, (req: ChatRequest) => boolean]> = [
  ['functions', (req) => req.functions != null],
  ['function_call', (req) => req.function_call != null],
  ['logprobs', (req) => req.logprobs === true],
  ['top_logprobs', (req) => req.top_logprobs != null],
  ['audio', (req) => req.audio != null],
  ['modalities', (req) => (req.modalities ?? []).some((m) => m !== 'text')],
  ['web_search_options', (req) => req.web_search_options != null],
];

function rejectUnsupported(req: ChatRequest): void {
  for (const [param, isSet] of REJECTED) {
    if (isSet(req)) unsupported(`"${param}" is not supported by Gemini providers.`, param);
  }
}

function toGenerationConfig(req: ChatRequest): GenerationConfig | undefined {
  const stop = typeof req.stop === 'string' ? [req.stop] : (req.stop ?? []);
  const config = compact<GenerationConfig>({
    temperature: req.temperature ?? undefined,
    topP: req.top_p ?? undefined,
    // Not an OpenAI field, but sent by clients of OpenAI-compatible servers (vLLM, Ollama) and by LiteLLM users.
    topK: typeof req.top_k === 'number' ? req.top_k : undefined,
    maxOutputTokens: req.max_completion_tokens ?? req.max_tokens ?? undefined,
    stopSequences: stop.length > 0 ? stop : undefined,
    candidateCount: req.n ?? undefined,
    presencePenalty: req.presence_penalty ?? undefined,
    frequencyPenalty: req.frequency_penalty ?? undefined,
    seed: req.seed ?? undefined,
    ...responseFormat(req.response_format),
  });
  return Object.keys(config).length > 0 ? config : undefined;
}

/**
 * Gemini 2.5's thinking budget ranges (ai.google.dev/gemini-api/docs/thinking, read 2026-12-08): Pro
 * 128–32,768 and cannot turn thinking off; Flash 0–24,576; Flash-Lite 0 or 512–24,576. A budget outside
 * the model's range is a 400 there, so the effort's budget is moved to the nearest one the model takes.
 */
export function modelBudget(budget: number, model: string): number {
  const name = model.replace(/^models\//, '');
  if (name.startsWith('gemini-2.5-pro')) return Math.min(Math.max(budget, 128), 32_768);
  if (name.startsWith('gemini-2.5-flash-lite'))
    return budget === 0 ? 0 : Math.min(Math.max(budget, 512), 24_576);
  if (name.startsWith('gemini-2.5-flash')) return Math.min(budget, 24_576);
  return budget;
}

function withThinking(
  config: GenerationConfig | undefined,
  effort: unknown,
  model: string,
): GenerationConfig | undefined {
  const asked = thinkingBudget(effort);
  if (asked === undefined) return config;
  const budget = modelBudget(asked, model);
  const thinkingConfig = /^gemini-3/.test(model)
    ? { thinkingLevel: (budget <= 2048 ? 'low' : 'high') as never }
    : { thinkingBudget: budget };
  // Gemini counts thinking tokens against maxOutputTokens: the client's limit is for the answer, so the
  // budget is added on top (as `thinking.budget_tokens` is added to Anthropic's max_tokens).
  const max = config?.maxOutputTokens;
  return {
    ...config,
    ...(max !== undefined && budget > 0 ? { maxOutputTokens: max + budget } : {}),
    thinkingConfig,
  };
}

function responseFormat(format: ChatRequest['response_format']): GenerationConfig {
  if (format == null || format.type === 'text') return {};
  if (format.type === 'json_object') return { responseMimeType: 'application/json' };
  if (format.type === 'json_schema') {
    return compact({ responseMimeType: 'application/json', responseJsonSchema: format.json_schema?.schema });
  }
  return unsupported(
    `response_format type "${String((format as { type?: unknown }).type)}" is not supported.`,
    'response_format.type',
  );
}

/**
 * Function tools. The schema goes in `parametersJsonSchema`, which takes JSON Schema as OpenAI clients
 * write it; `parameters` is an OpenAPI subset that rejects common keywords (`additionalProperties`,
 * `$schema`, `const` …) with a 400.
 */
function toTools(tools: ChatCompletionTool[] | undefined): Tool[] | undefined {
  if (!tools || tools.length === 0) return undefined;
  const functionDeclarations = tools.map((tool, i): FunctionDeclaration => {
    if (tool.type !== 'function')
      return unsupported('Only function tools are supported.', `tools[${i}].type`);
    const fn = tool.function;
    return compact({
      name: fn.name,
      description: fn.description ?? undefined,
      parametersJsonSchema: fn.parameters ?? undefined,
    });
  });
  return [{ functionDeclarations }];
}

function toToolConfig(choice: ChatCompletionToolChoiceOption | undefined): GeminiToolConfig | undefined {
  if (choice == null) return undefined;
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  if (typeof choice === 'object' && choice.type === 'function') {
    return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
  }
  return unsupported(
    'tool_choice must be "auto", "none", "required" or a named function for Gemini providers.',
    'tool_choice',
  );
}

/** Drops `undefined` members, so absent options are absent keys (not `"key": null`) in the body. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
