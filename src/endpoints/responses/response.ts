/**
 * The canonical answer (a chat completion) → an OpenAI Response object: `output` items (a `message` with
 * `output_text`, a `message` with a `refusal` part when the model declined, one `function_call` per tool call), `status` from the finish reason (`length` →
 * `incomplete` with `incomplete_details.reason: max_output_tokens`), `usage` in the Responses shape, and
 * the request's parameters echoed as OpenAI does.
 */
import type { ChatCompletion, Usage } from '../../providers/types.js';
import { newId, type ResponseObject, type ResponseState } from './state.js';
import type { Item } from './translate-request.js';

/** The Response with no output yet (`in_progress`), echoing the request's parameters. */
export function skeleton(state: ResponseState, model: string): ResponseObject {
  const b = state.body;
  return {
    id: state.id,
    object: 'response',
    created_at: state.createdAt,
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    model,
    output: [],
    parallel_tool_calls: b.parallel_tool_calls ?? true,
    previous_response_id: b.previous_response_id ?? null,
    reasoning: { effort: b.reasoning?.effort ?? null, summary: null },
    store: state.store,
    temperature: b.temperature ?? 1,
    text: { format: b.text?.format ?? { type: 'text' } },
    tool_choice: b.tool_choice ?? 'auto',
    tools: (b.tools ?? []).map(echoTool),
    top_p: b.top_p ?? 1,
    truncation: 'disabled',
    ...(typeof b.user === 'string' ? { user: b.user } : {}),
    metadata: b.metadata ?? {},
  };
}

/** Function tools as OpenAI echoes them (`strict` and `parameters` always present). */
function echoTool(tool: Record<string, unknown>): Record<string, unknown> {
  if (tool.type !== 'function') return tool;
  return { ...tool, parameters: tool.parameters ?? null, strict: tool.strict ?? true };
}

/**
 * Usage in the Responses shape. `cache_write_tokens` (a gateway extension, as in OpenAI's own answers) comes
 * from the canonical `prompt_tokens_details.cache_creation_tokens` (Anthropic's cache writes).
 */
export function responseUsage(usage: Usage | null): Record<string, unknown> | null {
  if (!usage) return null;
  const details = usage.prompt_tokens_details as
    | (Usage['prompt_tokens_details'] & { cache_creation_tokens?: number | null })
    | undefined;
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: {
      cached_tokens: details?.cached_tokens ?? 0,
      cache_write_tokens: details?.cache_creation_tokens ?? 0,
    },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
  };
}

/** Sets status and `incomplete_details` from the chat finish reason. */
export function finish(response: ResponseObject, finishReason: string | null): void {
  if (finishReason === 'length') {
    response.status = 'incomplete';
    response.incomplete_details = { reason: 'max_output_tokens' };
  } else if (finishReason === 'content_filter') {
    response.status = 'incomplete';
    response.incomplete_details = { reason: 'content_filter' };
  } else {
    response.status = 'completed';
  }
  const done = response.status === 'completed' ? 'completed' : 'incomplete';
  for (const item of response.output) if (item.status === 'in_progress') item.status = done;
}

/** What a message item's part holds: the answer's text, or the model's refusal (OpenAI's `refusal` part). */
export type PartKind = 'output_text' | 'refusal';

/** A message part of `kind` holding `text`. */
export function messagePart(kind: PartKind, text: string): Record<string, unknown> {
  return kind === 'refusal'
    ? { type: 'refusal', refusal: text }
    : { type: 'output_text', text, annotations: [], logprobs: [] };
}

/** A message output item with one `output_text` (or `refusal`) part. */
export function messageItem(id: string, text: string, status: string, kind: PartKind = 'output_text'): Item {
  return { id, type: 'message', status, role: 'assistant', content: [messagePart(kind, text)] };
}

/**
 * A call's arguments as the client gets them: always JSON. Some OpenAI-compatible servers send `""` (or
 * nothing) for a tool without parameters; that is the empty object, as on the other crossings (Anthropic's
 * `input: {}`, Gemini's `args: {}`).
 */
export function callArguments(args: string | undefined): string {
  return args === undefined || args.trim() === '' ? '{}' : args;
}

/** A function_call output item. */
export function functionCallItem(
  id: string,
  callId: string,
  name: string,
  args: string,
  status: string,
): Item {
  return { id, type: 'function_call', status, call_id: callId, name, arguments: args };
}

/** A whole chat completion as a Response. */
export function fromCompletion(
  state: ResponseState,
  completion: ChatCompletion,
  model: string,
): ResponseObject {
  const response = skeleton(state, typeof completion.model === 'string' ? completion.model : model);
  const message = completion.choices[0]?.message as
    | { content?: string | null; refusal?: string | null; tool_calls?: Array<Record<string, unknown>> }
    | undefined;
  if (typeof message?.content === 'string' && message.content !== '') {
    response.output.push(messageItem(newId('msg'), message.content, 'completed'));
  }
  if (typeof message?.refusal === 'string' && message.refusal !== '') {
    response.output.push(messageItem(newId('msg'), message.refusal, 'completed', 'refusal'));
  }
  for (const call of message?.tool_calls ?? []) {
    const fn = (call.function ?? {}) as { name?: string; arguments?: string };
    response.output.push(
      functionCallItem(
        newId('fc'),
        String(call.id ?? newId('call')),
        fn.name ?? '',
        callArguments(fn.arguments),
        'completed',
      ),
    );
  }
  const usage = responseUsage(completion.usage ?? null);
  if (usage) response.usage = usage;
  finish(response, completion.choices[0]?.finish_reason ?? null);
  return response;
}

/** The output items of a finished response, as input items of the next turn (chaining). */
export function outputAsInput(output: readonly Item[]): Item[] {
  return output.filter((item) => item.type !== 'message' || item.role === 'assistant');
}
