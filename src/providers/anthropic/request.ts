/**
 * OpenAI chat request → Anthropic Messages API request body.
 *
 * Mapped: messages (see messages.ts), max_completion_tokens / max_tokens (default from settings), temperature
 * and top_p (passed through unclamped: Anthropic rejects temperature > 1 itself), stop → stop_sequences,
 * tools, tool_choice, parallel_tool_calls, safety_identifier or user → metadata.user_id, response_format (json_object by a system
 * instruction, json_schema by a forced tool), stream, and the non-OpenAI extra `top_k`; `reasoning_effort` →
 * `thinking: {type: enabled, budget_tokens}` (`../reasoning.ts`) with `max_tokens` raised by the budget so
 * the answer keeps its room. Anthropic refuses thinking together with a changed temperature or top_k, and
 * with a forced tool: with thinking on those are dropped, and a forced tool (tool_choice required or named,
 * json_schema) turns thinking off. Thinking is also off while a tool loop is open (the last assistant turn
 * has tool calls): Anthropic then wants that turn to start with its signed thinking block, which the chat
 * form cannot carry back (decision 0215).
 *
 * Rejected (BadRequestError): n > 1, legacy functions / function_call, custom tools and custom or
 * allowed_tools tool_choice.
 *
 * Dropped because Anthropic has no equivalent: seed, presence_penalty, frequency_penalty, logit_bias,
 * logprobs, top_logprobs, metadata, store, service_tier, modalities, audio, prediction,
 * verbosity, web_search_options, prompt_cache_key, stream_options (usage is always reported) and unknown
 * extra fields.
 */
import type {
  MessageCreateParamsBase,
  Tool,
  ToolChoice,
  ToolUnion,
} from '@anthropic-ai/sdk/resources/messages';
import type { ChatCompletionTool, ChatCompletionToolChoiceOption } from 'openai/resources/chat/completions';
import { BadRequestError } from '../../core/errors.js';
import { thinkingBudget } from '../reasoning.js';
import type { ChatRequest } from '../types.js';
import { toAnthropicMessages } from './messages.js';

/** The Anthropic Messages API request body the adapter sends. */
export type AnthropicRequest = MessageCreateParamsBase;

/** Tool name used for `response_format: json_schema` when the schema has no name. */
export const DEFAULT_JSON_TOOL = 'json_response';

const JSON_OBJECT_INSTRUCTION =
  'Respond with a single valid JSON object only: no prose, no Markdown code fences, nothing before or after it.';

/** Builds the Anthropic request body for `req`, asking for the upstream `model`. */
export function toAnthropicRequest(
  req: ChatRequest,
  model: string,
  defaultMaxTokens: number,
): AnthropicRequest {
  rejectUnsupported(req);
  const { system, messages } = toAnthropicMessages(req.messages);
  if (req.response_format?.type === 'json_object') system.push(JSON_OBJECT_INSTRUCTION);
  const body: AnthropicRequest = {
    model,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? defaultMaxTokens,
    messages,
  };
  if (system.length > 0) body.system = system.join('\n\n');
  if (req.temperature != null) body.temperature = req.temperature;
  if (req.top_p != null) body.top_p = req.top_p;
  if (typeof req.top_k === 'number') body.top_k = req.top_k;
  const stop = stopSequences(req.stop);
  if (stop.length > 0) body.stop_sequences = stop;
  const { tools, toolChoice } = toolFields(req);
  if (tools.length > 0) {
    body.tools = tools;
    if (toolChoice) body.tool_choice = toolChoice;
  }
  // OpenAI's end-user id, or its successor `safety_identifier`: Anthropic's one opaque user id.
  const user = req.safety_identifier || req.user;
  if (user) body.metadata = { user_id: user };
  if (req.stream === true) body.stream = true;
  addThinking(body, thinkingBudget(req.reasoning_effort));
  return body;
}

/** Anthropic's smallest `thinking.budget_tokens`. */
const MIN_BUDGET = 1024;

/**
 * Output token limits (max_tokens) of the Claude models that think, by model name, from Anthropic's models
 * overview (read 2026-12-08). A name matches itself, its dated snapshots (`-20250805`), `-latest` and Vertex's
 * `@` versions; other models (newer ones included) get no cap rather than a wrong one.
 */
const OUTPUT_LIMITS: ReadonlyMap<string, number> = new Map([
  ['claude-opus-4-5', 64_000],
  ['claude-opus-4-1', 32_000],
  ['claude-opus-4-0', 32_000],
  ['claude-opus-4', 32_000],
  ['claude-sonnet-4-5', 64_000],
  ['claude-sonnet-4-0', 64_000],
  ['claude-sonnet-4', 64_000],
  ['claude-haiku-4-5', 64_000],
  ['claude-3-7-sonnet', 64_000],
]);

function outputLimit(model: string): number | undefined {
  const name = model.replace(/(?:-\d{8}|-latest|@.*)$/, '');
  return OUTPUT_LIMITS.get(name);
}

/** Extended thinking for a reasoning effort (see the file comment for what it changes). */
function addThinking(body: AnthropicRequest, budget: number | undefined): void {
  if (!budget) return;
  const forced = body.tool_choice?.type === 'any' || body.tool_choice?.type === 'tool';
  if (forced || openToolLoop(body.messages)) return;
  // Anthropic refuses a max_tokens above the model's output limit, and a budget not below max_tokens:
  // near the limit the budget gives way (at least its minimum, 1,024), then the total is capped.
  const limit = outputLimit(body.model);
  let thinking = budget;
  if (limit !== undefined && body.max_tokens + thinking > limit) {
    thinking = Math.min(thinking, Math.max(MIN_BUDGET, limit - body.max_tokens));
  }
  body.thinking = { type: 'enabled', budget_tokens: thinking };
  body.max_tokens = Math.min(body.max_tokens + thinking, limit ?? Number.POSITIVE_INFINITY);
  delete body.temperature;
  delete body.top_k;
  if (body.top_p != null && body.top_p < 0.95) body.top_p = 0.95;
}

/**
 * Whether the last assistant turn has `tool_use` without a thinking block before it. With thinking on,
 * Anthropic refuses that turn (400 "a final `assistant` message must start with a thinking block"); the
 * translated history never holds thinking blocks, so the only valid request is one without thinking.
 */
function openToolLoop(messages: AnthropicRequest['messages']): boolean {
  const last = messages.findLast((m) => m.role === 'assistant');
  if (!last || typeof last.content === 'string') return false;
  const first = last.content[0]?.type;
  if (first === 'thinking' || first === 'redacted_thinking') return false;
  return last.content.some((block) => block.type === 'tool_use');
}

/**
 * Name of the tool that carries a `json_schema` answer, or undefined when the request does not ask for one.
 * The response and stream translations turn that tool's input back into message content.
 */
export function jsonSchemaToolName(req: ChatRequest): string | undefined {
  const format = req.response_format;
  if (format?.type !== 'json_schema') return undefined;
  return format.json_schema.name || DEFAULT_JSON_TOOL;
}

function rejectUnsupported(req: ChatRequest): void {
  if (req.n != null && req.n > 1) {
    throw new BadRequestError(
      'Anthropic returns a single choice; n > 1 is not supported.',
      'unsupported_parameter',
      {
        param: 'n',
      },
    );
  }
  if (req.functions != null || req.function_call != null) {
    throw new BadRequestError(
      'Legacy functions are not supported by Anthropic; use tools.',
      'unsupported_parameter',
      {
        param: req.functions != null ? 'functions' : 'function_call',
      },
    );
  }
}

function stopSequences(stop: string | string[] | null | undefined): string[] {
  if (stop == null) return [];
  // Anthropic refuses stop sequences without a non-whitespace character ("\n", OpenAI's usual one-line
  // stop): they are dropped, as empty ones are (docs/providers.md).
  return (typeof stop === 'string' ? [stop] : stop).filter((s) => s.trim() !== '');
}

function toolFields(req: ChatRequest): { tools: ToolUnion[]; toolChoice: ToolChoice | undefined } {
  const userTools = (req.tools ?? []).map(toTool);
  let choice = req.tool_choice == null ? undefined : toToolChoice(req.tool_choice);
  const jsonTool = jsonSchemaTool(req);
  const tools: ToolUnion[] = jsonTool ? [...userTools, jsonTool] : userTools;
  if (jsonTool) {
    if (userTools.some((t) => t.name === jsonTool.name)) {
      throw new BadRequestError(
        'response_format.json_schema.name clashes with a tool name.',
        'invalid_request',
        {
          param: 'response_format.json_schema.name',
        },
      );
    }
    // Forcing the JSON tool alone would forbid the client's own tools; with them, `any` lets the model
    // either call one of them or answer through the JSON tool.
    const namedTool = choice?.type === 'tool' ? choice : undefined;
    const offerUserTools = userTools.length > 0 && choice?.type !== 'none';
    choice = namedTool ?? (offerUserTools ? { type: 'any' } : { type: 'tool', name: jsonTool.name });
  }
  if (req.parallel_tool_calls === false && tools.length > 0) {
    const base = choice ?? { type: 'auto' };
    choice = base.type === 'none' ? base : { ...base, disable_parallel_tool_use: true };
  }
  return { tools, toolChoice: choice };
}

function toTool(tool: ChatCompletionTool, i: number): Tool {
  if (tool.type !== 'function') {
    throw new BadRequestError(
      `Tools of type "${tool.type}" are not supported by Anthropic.`,
      'unsupported_parameter',
      {
        param: `tools[${i}].type`,
      },
    );
  }
  const fn = tool.function;
  const out: Tool = {
    name: fn.name,
    input_schema: objectSchema(fn.parameters),
  };
  if (fn.description) out.description = fn.description;
  return out;
}

function toToolChoice(choice: ChatCompletionToolChoiceOption): ToolChoice {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  if (choice.type === 'function') return { type: 'tool', name: choice.function.name };
  throw new BadRequestError(
    `tool_choice of type "${choice.type}" is not supported by Anthropic.`,
    'unsupported_parameter',
    {
      param: 'tool_choice',
    },
  );
}

function jsonSchemaTool(req: ChatRequest): Tool | undefined {
  const name = jsonSchemaToolName(req);
  if (name === undefined || req.response_format?.type !== 'json_schema') return undefined;
  const spec = req.response_format.json_schema;
  return {
    name,
    description:
      spec.description || 'Answer by calling this tool; its input is the response, as a JSON object.',
    input_schema: objectSchema(spec.schema),
  };
}

/** Anthropic requires `type: "object"` on input schemas; OpenAI clients often leave it out. */
function objectSchema(schema: Record<string, unknown> | undefined): Tool.InputSchema {
  if (!schema) return { type: 'object', properties: {} };
  return { type: 'object', ...schema } as Tool.InputSchema;
}
