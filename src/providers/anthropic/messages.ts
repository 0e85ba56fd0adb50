/**
 * OpenAI chat messages → Anthropic `system` text and alternating user/assistant messages.
 */
import { createHash } from 'node:crypto';
import type {
  ContentBlockParam,
  DocumentBlockParam,
  ImageBlockParam,
  MessageParam,
  TextBlockParam,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/messages';
import type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionContentPart,
  ChatCompletionContentPartRefusal,
  ChatCompletionContentPartText,
  ChatCompletionMessageParam,
  ChatCompletionToolMessageParam,
} from 'openai/resources/chat/completions';
import { BadRequestError } from '../../core/errors.js';

/** Messages split the way Anthropic wants them. */
export interface AnthropicMessages {
  /** Texts of every system and developer message, in order (the caller joins them). */
  system: string[];
  /** Alternating user/assistant messages; content is always a block array. */
  messages: MessageParam[];
}

type ImageMediaType = 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp';
const IMAGE_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
]);

/**
 * Converts OpenAI messages. Tool results become `tool_result` blocks of a user message, and consecutive
 * messages of the same role are merged, because Anthropic requires strict user/assistant alternation.
 * Throws `BadRequestError` (with `param`) for content Anthropic cannot take.
 */
export function toAnthropicMessages(messages: readonly ChatCompletionMessageParam[]): AnthropicMessages {
  const system: string[] = [];
  const out: MessageParam[] = [];
  messages.forEach((msg, i) => {
    switch (msg.role) {
      case 'system':
      case 'developer':
        system.push(...textParts(msg.content).filter((t) => t.trim() !== ''));
        return;
      case 'user':
        append(out, 'user', userBlocks(msg.content, i));
        return;
      case 'assistant':
        append(out, 'assistant', assistantBlocks(msg, i));
        return;
      case 'tool':
        append(out, 'user', [toolResult(msg)]);
        return;
      default:
        throw unsupported(
          `The "${msg.role}" message role is not supported by Anthropic.`,
          `messages[${i}].role`,
        );
    }
  });
  if (out.length === 0) {
    if (system.length === 0) {
      throw invalid(
        'The messages hold no text: Anthropic refuses empty and whitespace-only text.',
        'messages',
      );
    }
    // System messages only (OpenAI answers them): Anthropic wants at least one message, so the
    // instructions are the user's turn.
    return {
      system: [],
      messages: [{ role: 'user', content: [{ type: 'text', text: system.join('\n\n') }] }],
    };
  }
  trimFinalAssistant(out);
  return { system, messages: out };
}

/**
 * A conversation that ends with an assistant turn asks Anthropic to continue it (a prefill), which it
 * refuses when the turn's text ends with whitespace: the trailing whitespace is dropped.
 */
function trimFinalAssistant(out: MessageParam[]): void {
  const last = out.at(-1);
  if (last?.role !== 'assistant' || !Array.isArray(last.content)) return;
  const block = last.content.at(-1);
  if (block?.type !== 'text') return;
  const text = block.text.trimEnd();
  if (text !== block.text) last.content[last.content.length - 1] = { ...block, text };
}

function append(out: MessageParam[], role: MessageParam['role'], blocks: ContentBlockParam[]): void {
  if (blocks.length === 0) return;
  const last = out.at(-1);
  if (last?.role === role && Array.isArray(last.content)) last.content.push(...blocks);
  else out.push({ role, content: blocks });
}

function textParts(content: string | ReadonlyArray<ChatCompletionContentPartText>): string[] {
  return typeof content === 'string' ? [content] : content.map((part) => part.text);
}

function textBlock(text: string): TextBlockParam[] {
  // Anthropic rejects empty and whitespace-only text blocks (`"\n\n"` beside tool calls is common in
  // histories from other models).
  return text.trim() === '' ? [] : [{ type: 'text', text }];
}

function userBlocks(content: string | ChatCompletionContentPart[], i: number): ContentBlockParam[] {
  if (typeof content === 'string') return textBlock(content);
  return content.flatMap((part, j) => partBlocks(part, `messages[${i}].content[${j}]`));
}

function partBlocks(part: ChatCompletionContentPart, param: string): ContentBlockParam[] {
  switch (part.type) {
    case 'text':
      return textBlock(part.text);
    case 'image_url':
      return [imageBlock(part.image_url.url, `${param}.image_url.url`)];
    case 'file':
      return [documentBlock(part.file, `${param}.file`)];
    default:
      throw unsupported(
        `Content parts of type "${part.type}" are not supported by Anthropic.`,
        `${param}.type`,
      );
  }
}

function imageBlock(url: string, param: string): ImageBlockParam {
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  const parsed = parseDataUrl(url);
  if (!parsed) throw invalid('Images must be http(s) URLs or base64 data: URLs.', param);
  // `image/jpg` is not a registered type but common in data URLs.
  if (parsed.mediaType === 'image/jpg') parsed.mediaType = 'image/jpeg';
  if (!IMAGE_MEDIA_TYPES.has(parsed.mediaType)) {
    throw unsupported(
      `Image type "${parsed.mediaType}" is not supported by Anthropic (jpeg, png, gif, webp).`,
      param,
    );
  }
  return {
    type: 'image',
    source: { type: 'base64', media_type: parsed.mediaType as ImageMediaType, data: parsed.data },
  };
}

function documentBlock(file: ChatCompletionContentPart.File['file'], param: string): DocumentBlockParam {
  if (file.file_data == null || file.file_data === '') {
    throw unsupported(
      'Only inline files (file_data) are supported by Anthropic, not file_id.',
      `${param}.file_id`,
    );
  }
  // OpenAI clients send either a data: URL or bare base64; bare base64 is taken as PDF.
  const parsed = file.file_data.startsWith('data:')
    ? parseDataUrl(file.file_data)
    : { mediaType: 'application/pdf', data: file.file_data };
  if (parsed?.mediaType !== 'application/pdf') {
    throw unsupported('Only base64 PDF files are supported by Anthropic.', `${param}.file_data`);
  }
  const block: DocumentBlockParam = {
    type: 'document',
    source: { type: 'base64', media_type: 'application/pdf', data: parsed.data },
  };
  if (file.filename) block.title = file.filename;
  return block;
}

/** `data:<type>;base64,<data>`; undefined for anything else. Avoids regexes over megabytes of base64. */
function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  const comma = url.indexOf(',');
  if (!url.startsWith('data:') || comma < 0) return undefined;
  const meta = url.slice(5, comma).split(';');
  if (meta.at(-1)?.toLowerCase() !== 'base64') return undefined;
  return { mediaType: (meta[0] ?? '').toLowerCase(), data: url.slice(comma + 1) };
}

function assistantBlocks(msg: ChatCompletionAssistantMessageParam, i: number): ContentBlockParam[] {
  if (msg.function_call != null) {
    throw unsupported(
      'Legacy function_call is not supported by Anthropic; use tool_calls.',
      `messages[${i}].function_call`,
    );
  }
  const blocks: ContentBlockParam[] = [];
  if (typeof msg.content === 'string') blocks.push(...textBlock(msg.content));
  else if (Array.isArray(msg.content))
    blocks.push(...msg.content.flatMap((part) => textBlock(assistantPartText(part))));
  (msg.tool_calls ?? []).forEach((call, k) => {
    const param = `messages[${i}].tool_calls[${k}]`;
    if (call.type !== 'function') {
      throw unsupported(`Tool calls of type "${call.type}" are not supported by Anthropic.`, `${param}.type`);
    }
    const input = parseArguments(call.function.arguments, `${param}.function.arguments`);
    blocks.push({ type: 'tool_use', id: toolUseId(call.id), name: call.function.name, input });
  });
  // An earlier audio answer, referred to by id, exists only at OpenAI: with nothing else in the message the
  // turn would be lost (its transcript is the client's to send as `content`).
  if (blocks.length === 0 && msg.audio != null) {
    throw unsupported(
      'Audio answers referred to by id are not supported by Anthropic; send the transcript as content.',
      `messages[${i}].audio`,
    );
  }
  return blocks;
}

function assistantPartText(part: ChatCompletionContentPartText | ChatCompletionContentPartRefusal): string {
  return part.type === 'refusal' ? part.refusal : part.text;
}

function parseArguments(args: string, param: string): Record<string, unknown> {
  // Some clients send "" for tools without parameters.
  if (args.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    throw invalid('Tool call arguments must be valid JSON.', param);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('Tool call arguments must be a JSON object for Anthropic.', param);
  }
  return value as Record<string, unknown>;
}

function toolResult(msg: ChatCompletionToolMessageParam): ToolResultBlockParam {
  const content =
    typeof msg.content === 'string' ? msg.content : msg.content.flatMap((part) => textBlock(part.text));
  return { type: 'tool_result', tool_use_id: toolUseId(msg.tool_call_id), content };
}

/** What Anthropic accepts as a `tool_use.id` / `tool_result.tool_use_id`; anything else is a 400. */
const TOOL_USE_ID = /^[a-zA-Z0-9_-]+$/;

/**
 * A tool call id Anthropic accepts. Ids from other providers may hold other characters: this gateway's own
 * Gemini ids made before 2026-12-07 carry a standard-base64 thought signature (`+`, `/`, `=`), other servers
 * use `functions.get:0`. Those are replaced deterministically (the `tool_use` and its `tool_result` map
 * alike) and kept distinct by a hash of the original; valid ids are sent unchanged.
 */
export function toolUseId(id: string): string {
  if (TOOL_USE_ID.test(id)) return id;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 16);
  return `${id.slice(0, 40).replace(/[^a-zA-Z0-9_-]/g, '_')}_${hash}`;
}

function unsupported(message: string, param: string): BadRequestError {
  return new BadRequestError(message, 'unsupported_parameter', { param });
}

function invalid(message: string, param: string): BadRequestError {
  return new BadRequestError(message, 'invalid_request', { param });
}
