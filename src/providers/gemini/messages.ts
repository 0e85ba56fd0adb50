/**
 * OpenAI `messages` → Gemini `contents` + `systemInstruction`.
 *
 * Gemini has two roles (`user`, `model`) and wants them to alternate, so consecutive contents of one role
 * are merged. Tool results are `functionResponse` parts of a user turn and must name the function, which
 * OpenAI only gives on the assistant's earlier tool call: the name is looked up by `tool_call_id`.
 * A tool call id this adapter generated may carry the call's thought signature (see `tool-call-id.ts`); it
 * goes back on the `functionCall` part as `thoughtSignature`, which Gemini 3 requires for the current turn.
 */
import type { Content, Part } from '@google/genai';
import type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionMessageParam,
  ChatCompletionToolMessageParam,
} from 'openai/resources/chat/completions';
import { BadRequestError } from '../../core/errors.js';
import { textOf, unsupported, userParts } from './parts.js';
import { thoughtSignatureOf } from './tool-call-id.js';

/** The conversation in Gemini's shape. */
export interface GeminiConversation {
  contents: Content[];
  systemInstruction?: Content;
}

/** Translates the whole message list; throws `BadRequestError` naming the offending field. */
export function toGeminiConversation(messages: readonly ChatCompletionMessageParam[]): GeminiConversation {
  const system: string[] = [];
  const contents: Content[] = [];
  const toolNames = new Map<string, string>();
  messages.forEach((msg, i) => {
    switch (msg.role) {
      case 'system':
      case 'developer': {
        // Gemini rejects empty text parts, so empty system texts are left out.
        const text = textOf(msg.content, `messages[${i}].content`);
        if (text !== '') system.push(text);
        break;
      }
      case 'user':
        append(contents, 'user', userParts(msg.content, i));
        break;
      case 'assistant':
        append(contents, 'model', assistantParts(msg, i, toolNames));
        break;
      case 'tool':
        append(contents, 'user', [toolResultPart(msg, i, toolNames)]);
        break;
      default:
        unsupported(
          `Message role "${String((msg as { role?: unknown }).role)}" is not supported by Gemini providers.`,
          `messages[${i}].role`,
        );
    }
  });
  if (contents.length === 0) {
    if (system.length === 0)
      throw new BadRequestError('The messages hold no content.', 'invalid_request', { param: 'messages' });
    // System messages only (OpenAI answers them): Gemini wants `contents`, so the instructions are the
    // user's turn.
    return { contents: [{ role: 'user', parts: [{ text: system.join('\n\n') }] }] };
  }
  if (system.length === 0) return { contents };
  return { contents, systemInstruction: { parts: [{ text: system.join('\n\n') }] } };
}

function append(contents: Content[], role: 'user' | 'model', parts: Part[]): void {
  if (parts.length === 0) return;
  const last = contents.at(-1);
  if (last?.role === role && last.parts) last.parts.push(...parts);
  else contents.push({ role, parts });
}

function assistantParts(
  msg: ChatCompletionAssistantMessageParam,
  i: number,
  toolNames: Map<string, string>,
): Part[] {
  if (msg.function_call != null) {
    unsupported(
      'The deprecated function_call is not supported; use tool_calls.',
      `messages[${i}].function_call`,
    );
  }
  const parts: Part[] = [];
  for (const [j, part] of (typeof msg.content === 'string' ? [] : (msg.content ?? [])).entries()) {
    if (part.type === 'text') parts.push(...textPart(part.text));
    else if (part.type === 'refusal') parts.push(...textPart(part.refusal));
    else unsupported('Assistant content parts must be text or refusal.', `messages[${i}].content[${j}].type`);
  }
  if (typeof msg.content === 'string' && msg.content !== '') parts.push({ text: msg.content });
  for (const [k, call] of (msg.tool_calls ?? []).entries()) {
    const param = `messages[${i}].tool_calls[${k}]`;
    if (call.type !== 'function') unsupported('Only function tool calls are supported.', `${param}.type`);
    toolNames.set(call.id, call.function.name);
    const part: Part = {
      functionCall: {
        name: call.function.name,
        args: parseArgs(call.function.arguments, `${param}.function.arguments`),
      },
    };
    const thoughtSignature = thoughtSignatureOf(call.id);
    if (thoughtSignature !== undefined) part.thoughtSignature = thoughtSignature;
    parts.push(part);
  }
  // As for Anthropic: an audio answer referred to by id exists only at OpenAI.
  if (parts.length === 0 && msg.audio != null) {
    unsupported(
      'Audio answers referred to by id are not supported by Gemini; send the transcript as content.',
      `messages[${i}].audio`,
    );
  }
  return parts;
}

/** A text part, or none for empty text (Gemini rejects parts without data). */
function textPart(text: string): Part[] {
  return text === '' ? [] : [{ text }];
}

function parseArgs(text: string, param: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  const parsed = parseJson(text);
  if (!isPlainObject(parsed)) {
    throw new BadRequestError('Tool call arguments must be a JSON object.', 'invalid_request', { param });
  }
  return parsed;
}

function toolResultPart(
  msg: ChatCompletionToolMessageParam,
  i: number,
  toolNames: Map<string, string>,
): Part {
  const name = toolNames.get(msg.tool_call_id);
  if (name === undefined) {
    throw new BadRequestError(
      `No earlier assistant tool call has the id "${msg.tool_call_id}"; Gemini needs it to name the function.`,
      'invalid_request',
      { param: `messages[${i}].tool_call_id` },
    );
  }
  const text = textOf(msg.content, `messages[${i}].content`);
  const parsed = parseJson(text);
  return { functionResponse: { name, response: isPlainObject(parsed) ? parsed : { content: text } } };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
