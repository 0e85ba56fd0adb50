/**
 * Checks of the Responses API's input items and tools that the schema leaves open (the API has dozens of
 * item and tool types, most tagged by `type`, messages and item references without it). Each failure is a
 * 422 naming the field, so nothing malformed reaches a provider — also on the OpenAI pass-through path,
 * where the body is forwarded as it is (DESIGN §5).
 *
 * What is checked follows OpenAI's OpenAPI document (`InputItem`, `Item`, `Tool`, `ToolChoiceParam`): a
 * `type` the document does not define is refused; the fields of the items and tools the gateway translates
 * (messages and their parts, function calls and outputs, custom tool calls, function and custom tools) are
 * checked by type. Other known items and tools pass as sent: OpenAI checks them, and their fields change
 * often. Unknown extra fields pass, as everywhere on this API.
 */
import { BadRequestError, ValidationError } from '../../core/errors.js';
import { quoted } from '../../core/quote.js';
import type { ResponsesBody } from './translate-request.js';

/** Item types of OpenAI's `InputItem` / `Item` (openapi.json). */
const ITEM_TYPES = new Set([
  'message',
  'item_reference',
  'function_call',
  'function_call_output',
  'custom_tool_call',
  'custom_tool_call_output',
  'reasoning',
  'compaction',
  'compaction_trigger',
  'program',
  'program_output',
  'file_search_call',
  'computer_call',
  'computer_call_output',
  'web_search_call',
  'tool_search_call',
  'tool_search_output',
  'additional_tools',
  'image_generation_call',
  'code_interpreter_call',
  'local_shell_call',
  'local_shell_call_output',
  'shell_call',
  'shell_call_output',
  'apply_patch_call',
  'apply_patch_call_output',
  'mcp_list_tools',
  'mcp_approval_request',
  'mcp_approval_response',
  'mcp_call',
]);

/** Tool types of OpenAI's `Tool`. */
const TOOL_TYPES = new Set([
  'function',
  'custom',
  'namespace',
  'file_search',
  'computer',
  'computer_use_preview',
  'web_search',
  'web_search_2025_08_26',
  'web_search_preview',
  'web_search_preview_2025_03_11',
  'mcp',
  'code_interpreter',
  'programmatic_tool_calling',
  'image_generation',
  'local_shell',
  'shell',
  'tool_search',
  'apply_patch',
]);

/** Object `tool_choice` types of OpenAI's `ToolChoiceParam`. */
const TOOL_CHOICE_TYPES = new Set([
  'allowed_tools',
  'function',
  'custom',
  'mcp',
  'file_search',
  'web_search_preview',
  'web_search_preview_2025_03_11',
  'computer',
  'computer_use_preview',
  'computer_use',
  'image_generation',
  'code_interpreter',
  'programmatic_tool_calling',
  'apply_patch',
  'shell',
]);

const ROLES = ['user', 'assistant', 'system', 'developer'];
/** Content parts of messages (`InputContent`, `OutputMessageContent`) and of tool outputs. */
const PART_TYPES = ['input_text', 'input_image', 'input_file', 'output_text', 'refusal'];
const OUTPUT_PART_TYPES = ['input_text', 'input_image', 'input_file'];

type Obj = Record<string, unknown>;

/**
 * @throws ValidationError naming the first malformed field of `input`, `tools` or `tool_choice`.
 * @throws BadRequestError for `background: true`, which no deployment serves through the gateway.
 */
export function validateResponsesRequest(body: ResponsesBody): void {
  refuseBackground(body);
  validateResponsesInput(body);
}

/** @throws ValidationError naming the first malformed field of `input`, `tools` or `tool_choice`. */
export function validateResponsesInput(body: ResponsesBody): void {
  if (Array.isArray(body.input)) {
    for (const [i, item] of body.input.entries()) checkItem(item, `input[${i}]`);
  }
  for (const [i, tool] of (body.tools ?? []).entries()) checkTool(tool, `tools[${i}]`);
  const choice = body.tool_choice;
  if (typeof choice === 'object' && choice !== null) {
    const type = oneOf(choice.type, 'tool_choice.type', TOOL_CHOICE_TYPES);
    if (type === 'function' || type === 'custom') text(choice.name, 'tool_choice.name');
    if (type === 'mcp') text(choice.server_label, 'tool_choice.server_label');
  }
}

/**
 * Background mode is refused on every deployment (decision 0234): OpenAI answers `queued` at once and
 * spends the tokens later, where the gateway neither bills them nor holds them against a budget, and the
 * stored copy it would serve on retrieve stays `queued` forever.
 */
function refuseBackground(body: ResponsesBody): void {
  if (body.background !== true) return;
  throw new BadRequestError(
    'Background mode (background: true) is not supported through this gateway: the tokens a background response spends are produced after the request returns, where the gateway can neither record their usage nor hold them against budgets and rate limits. Send the request without background (stream it for long answers).',
    'unsupported_parameter',
    { param: 'background' },
  );
}

function checkItem(item: Obj, at: string): void {
  if (item.type === undefined || item.type === null) {
    // No type: a message (EasyInputMessage) or an item reference (ItemReferenceParam).
    if (item.role === undefined && item.id !== undefined) text(item.id, `${at}.id`);
    else if (item.role === undefined) {
      throw new ValidationError(`${at}.type is required (or role and content for a message).`, `${at}.type`);
    } else checkMessage(item, at);
    return;
  }
  const type = oneOf(item.type, `${at}.type`, ITEM_TYPES);
  switch (type) {
    case 'message':
      checkMessage(item, at);
      return;
    case 'item_reference':
      text(item.id, `${at}.id`);
      return;
    case 'function_call':
      text(item.call_id, `${at}.call_id`);
      text(item.name, `${at}.name`);
      text(item.arguments, `${at}.arguments`, 0);
      return;
    case 'custom_tool_call':
      text(item.call_id, `${at}.call_id`);
      text(item.name, `${at}.name`);
      text(item.input, `${at}.input`, 0);
      return;
    case 'function_call_output':
    case 'custom_tool_call_output':
      // OpenAI's document makes a function output's call_id optional (null allowed).
      if (type === 'custom_tool_call_output' || (item.call_id !== undefined && item.call_id !== null)) {
        text(item.call_id, `${at}.call_id`);
      }
      checkContent(item.output, `${at}.output`, OUTPUT_PART_TYPES);
      return;
    case 'reasoning':
      if (item.summary !== undefined && !Array.isArray(item.summary)) {
        throw new ValidationError(`${at}.summary must be of type array.`, `${at}.summary`);
      }
      return;
    default:
      return;
  }
}

function checkMessage(item: Obj, at: string): void {
  oneOf(item.role, `${at}.role`, new Set(ROLES));
  checkContent(item.content, `${at}.content`, PART_TYPES);
}

/** A string, or an array of content parts of the given types with their text fields typed. */
function checkContent(content: unknown, at: string, types: readonly string[]): void {
  if (content === undefined) throw new ValidationError(`${at} is required.`, at);
  if (typeof content === 'string') return;
  if (!Array.isArray(content)) {
    throw new ValidationError(`${at} must be a string or an array of content parts.`, at);
  }
  content.forEach((part: unknown, j) => {
    const where = `${at}[${j}]`;
    if (typeof part !== 'object' || part === null || Array.isArray(part)) {
      throw new ValidationError(`${where} must be of type object.`, where);
    }
    const p = part as Obj;
    const type = oneOf(p.type, `${where}.type`, new Set(types));
    if (type === 'input_text' || type === 'output_text') text(p.text, `${where}.text`, 0);
    if (type === 'refusal') text(p.refusal, `${where}.refusal`, 0);
    if (type === 'input_image') {
      optionalText(p.image_url, `${where}.image_url`);
      optionalText(p.file_id, `${where}.file_id`);
    }
    if (type === 'input_file') {
      for (const field of ['file_id', 'file_data', 'filename', 'file_url']) {
        optionalText(p[field], `${where}.${field}`);
      }
    }
  });
}

function checkTool(tool: Obj, at: string): void {
  const type = oneOf(tool.type, `${at}.type`, TOOL_TYPES);
  if (type === 'function' || type === 'custom' || type === 'namespace') text(tool.name, `${at}.name`);
  if (type !== 'function') return;
  for (const field of ['parameters', 'output_schema']) {
    const value = tool[field];
    if (value !== undefined && value !== null && (typeof value !== 'object' || Array.isArray(value))) {
      throw new ValidationError(`${at}.${field} must be of type object.`, `${at}.${field}`);
    }
  }
  if (tool.strict !== undefined && tool.strict !== null && typeof tool.strict !== 'boolean') {
    throw new ValidationError(`${at}.strict must be of type boolean.`, `${at}.strict`);
  }
  optionalText(tool.description, `${at}.description`);
}

function oneOf(value: unknown, param: string, allowed: ReadonlySet<string>): string {
  if (value === undefined) throw new ValidationError(`${param} is required.`, param);
  if (typeof value !== 'string') throw new ValidationError(`${param} must be a string.`, param);
  if (!allowed.has(value)) {
    throw new ValidationError(`${param} has an invalid value ${quoted(value)}.`, param);
  }
  return value;
}

function text(value: unknown, param: string, minLength = 1): void {
  if (value === undefined) throw new ValidationError(`${param} is required.`, param);
  if (typeof value !== 'string') throw new ValidationError(`${param} must be a string.`, param);
  if (value.length < minLength) throw new ValidationError(`${param} must not be empty.`, param);
}

function optionalText(value: unknown, param: string): void {
  if (value !== undefined && value !== null && typeof value !== 'string') {
    throw new ValidationError(`${param} must be a string.`, param);
  }
}
