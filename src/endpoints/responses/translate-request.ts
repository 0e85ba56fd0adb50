/**
 * OpenAI Responses request → the canonical chat request (OpenAI Chat Completions shapes), for every provider
 * that does not speak the Responses API natively.
 *
 * Mapped: `instructions` → a leading system message; `input` as a string (one user message) or items —
 * messages (`input_text`, `input_image` by URL or data URL, `output_text` of earlier assistant turns),
 * `function_call` (→ an assistant message's `tool_calls`, consecutive calls merged), `function_call_output`
 * (→ a `tool` message; the images and inline files of outputs follow the turn's tool messages as one user
 * message, as for the Messages API: ../tool-turn.ts); `input_file` with `file_data` (→ a file part); function
 * `tools` and `tool_choice`; `text.format` → `response_format`;
 * `reasoning.effort` → `reasoning_effort`; `max_output_tokens` → `max_completion_tokens`; `temperature`,
 * `top_p`, `parallel_tool_calls`, `user`, `safety_identifier`, `prompt_cache_key`.
 *
 * Reasoning items are dropped here (they only mean something to OpenAI, which gets the native body). What a
 * translated provider cannot run at all — built-in tools (web_search, file_search, computer_use …), their
 * call items, item references, images and files stored at OpenAI (`file_id`) or by `file_url` — is listed in
 * `nativeOnly` (native-only.ts): the request is refused (400, naming the item) unless every deployment of its
 * route speaks the Responses API natively. `origins` records which item each chat message came from, so
 * that errors about the chat request name the client's field (client-param.ts).
 */
import type { ChatCompletionContentPart } from 'openai/resources/chat/completions';
import { BadRequestError, ValidationError } from '../../core/errors.js';
import type { ChatRequest } from '../../providers/types.js';
import { type ToolMessage, toolTurn } from '../tool-turn.js';
import type { MessageOrigin } from './client-param.js';
import { type NativeOnly, USE_FUNCTION_TOOLS } from './native-only.js';

/** A Responses API item, as far as the translation reads it. */
export type Item = Record<string, unknown> & { type?: string };

/** The validated Responses request body (open: unknown fields are kept for native passthrough). */
export interface ResponsesBody extends Record<string, unknown> {
  model: string;
  input?: string | Item[];
  instructions?: string | null;
  tools?: Array<Record<string, unknown> & { type: string }>;
  tool_choice?: string | (Record<string, unknown> & { type: string });
  text?: { format?: Record<string, unknown> & { type: string } } & Record<string, unknown>;
  reasoning?: { effort?: string | null } | null;
  max_output_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  parallel_tool_calls?: boolean | null;
  store?: boolean | null;
  previous_response_id?: string | null;
  metadata?: Record<string, string> | null;
  user?: string;
  stream?: boolean | null;
}

export interface Translated {
  chat: ChatRequest;
  /** Why only a native (Responses API) deployment can serve this request: `tools[1]` (web_search) … */
  nativeOnly: NativeOnly[];
  /** Per chat message (by index), the item it came from. */
  origins: MessageOrigin[];
}

type ChatMessage = Record<string, unknown> & { role: string };

/** The chat messages being built, with their origins. */
interface Built {
  messages: ChatMessage[];
  origins: MessageOrigin[];
  nativeOnly: NativeOnly[];
  /** The function outputs since the last message or call: one turn of tool results (flushed by `endTurn`). */
  turn: { tools: ToolMessage[]; from: string[]; parts: ChatCompletionContentPart[]; partsFrom: string[] };
}

/** The input as items (a string is one user message; none: no items). */
export function inputItems(input: string | Item[] | undefined): Item[] {
  if (input === undefined) return [];
  return typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : input;
}

/**
 * Builds the canonical chat request. `history` is the stored conversation of `previous_response_id`
 * (input items and output items of the earlier turns), prepended to this request's input.
 */
export function toChatRequest(body: ResponsesBody, history: readonly Item[] = []): Translated {
  const nativeOnly: NativeOnly[] = [];
  // OpenAI's own `prompt` ({id: "pmpt_…", version, variables}) names a prompt stored at OpenAI: forwarded
  // to a native deployment, refused for others (gateway prompts are a chat extension; decision 0111).
  const hosted = (body as Record<string, unknown>).prompt;
  if (hosted !== undefined && hosted !== null) {
    nativeOnly.push({
      at: 'prompt',
      what: 'an OpenAI-hosted prompt',
      instead: 'Use gateway prompts (/v1/chat/completions, docs/prompts.md), or a model served by OpenAI.',
    });
  }
  // A conversation stored at OpenAI: its earlier turns exist only there (gateway chaining:
  // previous_response_id).
  const conversation = (body as Record<string, unknown>).conversation;
  if (conversation !== undefined && conversation !== null) {
    nativeOnly.push({
      at: 'conversation',
      what: 'a conversation stored at OpenAI',
      instead: 'Chain turns with previous_response_id, or use a model served by OpenAI.',
    });
  }
  const built: Built = { messages: [], origins: [], nativeOnly, turn: newTurn() };
  const { messages } = built;
  if (typeof body.instructions === 'string' && body.instructions !== '') {
    push(built, { role: 'system', content: body.instructions }, { item: 'instructions', kind: 'other' });
  }
  const items = [...history, ...inputItems(body.input)];
  items.forEach((item, i) => {
    const at = i < history.length ? `previous_response_id (item ${i})` : `input[${i - history.length}]`;
    addItem(built, item, at);
  });
  endTurn(built);
  // An OpenAI-hosted prompt or conversation brings its own messages (only a native deployment serves it);
  // a previous_response_id brings the stored turns, which the Responses stage adds after decoding.
  const historyToCome = history.length === 0 && typeof body.previous_response_id === 'string';
  if (messages.every((m) => m.role === 'system') && nativeOnly.length === 0 && !historyToCome) {
    // A missing field is a schema violation (422, DESIGN §3); an input of system messages only is not.
    if (body.input === undefined) {
      throw new ValidationError(
        'input is required (unless the request names a previous_response_id, or an OpenAI-hosted prompt or conversation).',
        'input',
      );
    }
    throw new BadRequestError(
      'input must hold at least one message or function_call_output.',
      'invalid_request',
      { param: 'input' },
    );
  }
  const chat: ChatRequest = { model: body.model, messages: messages as unknown as ChatRequest['messages'] };
  const tools = translateTools(body, nativeOnly);
  if (tools.length > 0) chat.tools = tools as ChatRequest['tools'];
  const choice = translateToolChoice(body.tool_choice, nativeOnly);
  if (choice !== undefined) chat.tool_choice = choice as ChatRequest['tool_choice'];
  const format = body.text?.format;
  if (format?.type === 'json_object') chat.response_format = { type: 'json_object' };
  if (format?.type === 'json_schema') {
    const { type: _type, ...schema } = format;
    chat.response_format = { type: 'json_schema', json_schema: schema as never };
  }
  const effort = body.reasoning?.effort;
  if (typeof effort === 'string') chat.reasoning_effort = effort as ChatRequest['reasoning_effort'];
  if (typeof body.max_output_tokens === 'number') chat.max_completion_tokens = body.max_output_tokens;
  if (typeof body.temperature === 'number') chat.temperature = body.temperature;
  if (typeof body.top_p === 'number') chat.top_p = body.top_p;
  if (typeof body.parallel_tool_calls === 'boolean' && tools.length > 0) {
    chat.parallel_tool_calls = body.parallel_tool_calls;
  }
  if (typeof body.user === 'string') chat.user = body.user;
  // The end user's id and the provider's cache routing key, both also Chat Completions fields: the
  // guardrails read the canonical request, so what they check is what a translated provider gets.
  if (typeof body.safety_identifier === 'string') chat.safety_identifier = body.safety_identifier;
  if (typeof body.prompt_cache_key === 'string') chat.prompt_cache_key = body.prompt_cache_key;
  if (body.stream === true) (chat as Record<string, unknown>).stream = true;
  return { chat, nativeOnly, origins: built.origins };
}

function newTurn(): Built['turn'] {
  return { tools: [], from: [], parts: [], partsFrom: [] };
}

function push(built: Built, message: ChatMessage, origin: MessageOrigin): void {
  built.messages.push(message);
  built.origins.push(origin);
}

/** Writes the pending turn of tool results: its tool messages, then its outputs' media as a user message. */
function endTurn(built: Built): void {
  const { tools, from, parts, partsFrom } = built.turn;
  if (tools.length === 0) return;
  // The media message is named, as a whole, by the first output it holds a part of (`input[2]`).
  const media: MessageOrigin = {
    item: partsFrom[0]?.split('.output')[0] ?? '',
    kind: 'media',
    parts: partsFrom,
  };
  toolTurn(tools, parts).forEach((message, k) => {
    push(
      built,
      message as ChatMessage,
      k < tools.length ? { item: from[k] as string, kind: 'output' } : media,
    );
  });
  built.turn = newTurn();
}

function addItem(built: Built, item: Item, at: string): void {
  const type = item.type ?? (typeof item.role === 'string' ? 'message' : undefined);
  // The field an error names: the client sent no field of a stored item, only its id.
  const path = at.startsWith('input') ? at : 'previous_response_id';
  switch (type) {
    case 'message':
      endTurn(built);
      push(built, translateMessage(item, at, built.nativeOnly), { item: path, kind: 'message' });
      return;
    case 'function_call': {
      endTurn(built);
      const call = {
        id: str(item.call_id, `${at}.call_id`),
        type: 'function',
        function: { name: str(item.name, `${at}.name`), arguments: str(item.arguments, `${at}.arguments`) },
      };
      const last = built.messages.at(-1);
      // Parallel calls (and the text before them) are consecutive items; one assistant turn in chat.
      if (last?.role === 'assistant') {
        if (Array.isArray(last.tool_calls)) last.tool_calls.push(call);
        else last.tool_calls = [call];
        const origin = built.origins.at(-1) as MessageOrigin;
        origin.calls = [...(origin.calls ?? []), path];
      } else {
        push(
          built,
          { role: 'assistant', content: null, tool_calls: [call] },
          { item: path, kind: 'other', calls: [path] },
        );
      }
      return;
    }
    case 'function_call_output':
      addOutput(built, item, at, path);
      return;
    case 'reasoning':
      return; // meaningful to OpenAI only (native body); other providers reason afresh
    default:
      built.nativeOnly.push({
        at,
        what: type ?? 'item without type',
        // Built-in tool calls and their outputs come from built-in tools; item references name stored items.
        ...(type?.includes('_call') ? { instead: USE_FUNCTION_TOOLS } : {}),
      });
  }
}

/**
 * A function's output joins the turn of tool results: its text is the `tool` message, its images and
 * inline files follow the turn's tool messages as one user message (`endTurn`).
 */
function addOutput(built: Built, item: Item, at: string, path: string): void {
  const turn = built.turn;
  const output = item.output;
  let text = '';
  if (typeof output === 'string') text = output;
  else if (Array.isArray(output)) {
    output.forEach((part: Record<string, unknown>, j) => {
      const where = `${at}.output[${j}]`;
      if (part?.type === 'input_text' || part?.type === 'output_text') {
        text += str(part.text, `${where}.text`);
        return;
      }
      const translated = inputPart(part, where, built.nativeOnly);
      if (!translated) return;
      turn.parts.push(translated);
      turn.partsFrom.push(path === at ? where : path);
    });
  }
  turn.tools.push({ callId: str(item.call_id, `${at}.call_id`), text });
  turn.from.push(path);
}

function translateMessage(item: Item, at: string, nativeOnly: NativeOnly[]): ChatMessage {
  const role = item.role;
  if (role !== 'user' && role !== 'assistant' && role !== 'system' && role !== 'developer') {
    throw new BadRequestError(`${at}.role must be user, assistant, system or developer.`, 'invalid_request', {
      param: `${at}.role`,
    });
  }
  const content = item.content;
  if (typeof content === 'string') return { role, content };
  if (!Array.isArray(content)) {
    throw new BadRequestError(
      `${at}.content must be a string or an array of content parts.`,
      'invalid_request',
      {
        param: `${at}.content`,
      },
    );
  }
  if (role !== 'user') return { role, content: textOfParts(content, `${at}.content`, nativeOnly) };
  // One chat part per input part (an empty text for one only OpenAI can read): errors name `content[j]`.
  const parts = content.map(
    (part: Record<string, unknown>, j) =>
      inputPart(part, `${at}.content[${j}]`, nativeOnly) ?? { type: 'text', text: '' },
  );
  return { role, content: parts };
}

/**
 * A user content part, of a message or a function's output, as a chat part: text, an image by URL or data
 * URL, a file sent inline (`file_data`). Null for what only OpenAI can read (listed in `nativeOnly`): images
 * and files stored at OpenAI (`file_id`), files by `file_url`, other part types.
 */
function inputPart(
  part: Record<string, unknown>,
  where: string,
  nativeOnly: NativeOnly[],
): ChatCompletionContentPart | null {
  switch (part?.type) {
    case 'input_text':
      return { type: 'text', text: str(part.text, `${where}.text`) };
    case 'input_image': {
      if (typeof part.image_url !== 'string') {
        nativeOnly.push({
          at: where,
          what: 'input_image by file_id, a file stored at OpenAI',
          instead: 'Send the image by URL or as a base64 data: URL, or use a model served by OpenAI.',
        });
        return null;
      }
      const detail = part.detail === 'low' || part.detail === 'high' ? part.detail : 'auto';
      return { type: 'image_url', image_url: { url: part.image_url, detail } };
    }
    case 'input_file': {
      if (typeof part.file_data === 'string' && part.file_data !== '') {
        const filename = typeof part.filename === 'string' ? { filename: part.filename } : {};
        return { type: 'file', file: { file_data: part.file_data, ...filename } };
      }
      nativeOnly.push({
        at: where,
        what:
          typeof part.file_id === 'string'
            ? 'input_file by file_id, a file stored at OpenAI'
            : 'input_file by file_url',
        instead: 'Send the file inline as file_data (a base64 data: URL), or use a model served by OpenAI.',
      });
      return null;
    }
    default:
      nativeOnly.push({ at: where, what: String(part?.type) });
      return null;
  }
}

/** Text of `input_text` / `output_text` / `refusal` parts (assistant and system turns). */
function textOfParts(parts: unknown, at: string, nativeOnly: NativeOnly[]): string {
  if (!Array.isArray(parts)) return '';
  let text = '';
  parts.forEach((part: Record<string, unknown>, j) => {
    if (part?.type === 'input_text' || part?.type === 'output_text')
      text += str(part.text, `${at}[${j}].text`);
    else if (part?.type === 'refusal' && typeof part.refusal === 'string') text += part.refusal;
    else nativeOnly.push({ at: `${at}[${j}]`, what: String(part?.type) });
  });
  return text;
}

function translateTools(body: ResponsesBody, nativeOnly: NativeOnly[]): unknown[] {
  const tools: unknown[] = [];
  (body.tools ?? []).forEach((tool, i) => {
    if (tool.type !== 'function') {
      nativeOnly.push({
        at: `tools[${i}]`,
        what: `${tool.type}, a built-in tool`,
        instead: USE_FUNCTION_TOOLS,
      });
      return;
    }
    const fn: Record<string, unknown> = { name: str(tool.name, `tools[${i}].name`) };
    if (typeof tool.description === 'string') fn.description = tool.description;
    if (tool.parameters && typeof tool.parameters === 'object') fn.parameters = tool.parameters;
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    tools.push({ type: 'function', function: fn });
  });
  return tools;
}

function translateToolChoice(choice: ResponsesBody['tool_choice'], nativeOnly: NativeOnly[]): unknown {
  if (choice === undefined) return undefined;
  if (typeof choice === 'string') return choice;
  if (choice.type === 'function' && typeof choice.name === 'string') {
    return { type: 'function', function: { name: choice.name } };
  }
  nativeOnly.push({ at: 'tool_choice', what: choice.type, instead: USE_FUNCTION_TOOLS });
  return undefined;
}

function str(value: unknown, param: string): string {
  if (typeof value === 'string') return value;
  throw new BadRequestError(`${param} must be a string.`, 'invalid_request', { param });
}
