/**
 * Errors about the translated request name the client's field. A provider adapter (or the provider itself)
 * reports the canonical chat field it could not take — `messages[3].tool_call_id`,
 * `messages[1].tool_calls[0].function.arguments`, `tools[0].function.parameters` — which a `/v1/responses`
 * client never sent. The translation records where each chat message came from (`MessageOrigin`), and
 * `clientParam` maps the field back: `input[2].call_id`, `input[1].arguments`, `tools[0].parameters`. A field
 * without a counterpart names the item (`input[2]`); a message from the stored conversation names
 * `previous_response_id`; anything else that names `messages` names `input`.
 */
import { GatewayError } from '../../core/errors.js';

/** Where one chat message of the translated request came from. */
export interface MessageOrigin {
  /**
   * The item's field: `input[2]`; `instructions`; `previous_response_id` for the stored conversation.
   * A user message made of function outputs' media: the first of those outputs.
   */
  item: string;
  /** `message` (a message item), `output` (a function_call_output), `media` (outputs' images and files), other. */
  kind: 'message' | 'output' | 'media' | 'other';
  /** An assistant message's tool calls: the `function_call` item of each (by index). */
  calls?: string[];
  /** A media message's parts: the output part each came from (`input[2].output[1]`). */
  parts?: string[];
}

/** Top-level chat fields with a Responses counterpart. */
const TOP_LEVEL: Readonly<Record<string, string>> = {
  max_completion_tokens: 'max_output_tokens',
  max_tokens: 'max_output_tokens',
  response_format: 'text.format',
  reasoning_effort: 'reasoning.effort',
};

/** Tails of a tool call or tool with a Responses counterpart (the Responses items are flat). */
const CALL_FIELDS: Readonly<Record<string, string>> = {
  '.id': '.call_id',
  '.type': '.type',
  '.function.name': '.name',
  '.function.arguments': '.arguments',
};
const TOOL_FIELDS: Readonly<Record<string, string>> = {
  '.type': '.type',
  '.function.name': '.name',
  '.function.description': '.description',
  '.function.parameters': '.parameters',
  '.function.strict': '.strict',
};
/** Tails of a user content part: chat `image_url.url` is the Responses `image_url`, `file.x` its `x`. */
const PART_FIELDS: Readonly<Record<string, string>> = {
  '.type': '.type',
  '.text': '.text',
  '.image_url': '.image_url',
  '.image_url.url': '.image_url',
  '.file.file_data': '.file_data',
  '.file.filename': '.filename',
  '.file.file_id': '.file_id',
};

const MESSAGE = /^messages\[(\d+)\](.*)$/;
const INDEXED = /^\.(tool_calls|content)\[(\d+)\](.*)$/;

/** The client's field for a canonical chat field (unchanged when it is not one of the chat request's). */
export function clientParam(param: string, origins: readonly MessageOrigin[]): string {
  if (param === 'messages') return 'input';
  const top = TOP_LEVEL[param];
  if (top !== undefined) return top;
  const tool = /^tools\[(\d+)\](.*)$/.exec(param);
  if (tool) return `tools[${tool[1]}]${TOOL_FIELDS[tool[2] ?? ''] ?? ''}`;
  const m = MESSAGE.exec(param);
  if (!m) return param.startsWith('messages') ? 'input' : param;
  const origin = origins[Number(m[1])];
  if (!origin) return 'input';
  return inItem(origin, m[2] ?? '');
}

function inItem(origin: MessageOrigin, rest: string): string {
  const indexed = INDEXED.exec(rest);
  if (indexed?.[1] === 'tool_calls') {
    const call = origin.calls?.[Number(indexed[2])];
    return call === undefined ? origin.item : sub(call, CALL_FIELDS[indexed[3] ?? '']);
  }
  if (indexed && origin.kind === 'media') {
    const part = origin.parts?.[Number(indexed[2])];
    return part === undefined ? origin.item : sub(part, PART_FIELDS[indexed[3] ?? '']);
  }
  if (origin.kind === 'output') {
    if (rest === '.tool_call_id') return sub(origin.item, '.call_id');
    if (rest.startsWith('.content')) return sub(origin.item, '.output');
    return origin.item;
  }
  if (origin.kind !== 'message') return origin.item;
  if (rest === '.role' || rest === '.content') return sub(origin.item, rest);
  if (indexed) return sub(origin.item, `.content[${indexed[2]}]${PART_FIELDS[indexed[3] ?? ''] ?? ''}`);
  return origin.item;
}

/** `item` + `field`; only `item` for a stored item (the client sent no field of it) or no counterpart. */
function sub(item: string, field: string | undefined): string {
  return field === undefined || item.startsWith('previous_response_id') ? item : item + field;
}

/** `err` naming the client's field, when it names a field of the translated chat request. */
export function inClientTerms(err: unknown, origins: readonly MessageOrigin[]): unknown {
  if (!(err instanceof GatewayError) || err.param === null) return err;
  const param = clientParam(err.param, origins);
  return param === err.param ? err : err.withParam(param);
}
