/**
 * The closed value lists of OpenAI's request fields, copied from OpenAI's OpenAPI document (read
 * 2026-12-08). The request schemas of chat, completions and Responses take every enum from here, so a value
 * OpenAI adds is added once, in this file (decision 0235), and it reaches every endpoint that shares the
 * field. Each list holds every value the document allows: a value missing here is refused with a 422
 * before any provider sees it.
 *
 * `reasoning_effort` lives with its thinking-budget table (`providers/reasoning.ts`), so a new effort cannot
 * be accepted without a budget for the translated providers.
 */
import { Type as T } from '@sinclair/typebox';

export { REASONING_EFFORTS } from '../providers/reasoning.js';

/** `ServiceTier` (Chat Completions). */
export const CHAT_SERVICE_TIERS = ['auto', 'default', 'flex', 'scale', 'priority', 'fast'] as const;
/** `ServiceTierResponses` (Responses API: also `ultrafast`). */
export const RESPONSES_SERVICE_TIERS = [...CHAT_SERVICE_TIERS, 'ultrafast'] as const;
/** `Verbosity` (chat `verbosity`, Responses `text.verbosity`). */
export const VERBOSITIES = ['low', 'medium', 'high'] as const;
/** `ResponseModalities` items. */
export const MODALITIES = ['text', 'audio'] as const;
/** Chat `audio.format` (output audio). */
export const OUTPUT_AUDIO_FORMATS = ['wav', 'aac', 'mp3', 'flac', 'opus', 'pcm16'] as const;
/** `input_audio.format` of a user content part. */
export const INPUT_AUDIO_FORMATS = ['wav', 'mp3'] as const;
/** `WebSearchContextSize`. */
export const SEARCH_CONTEXT_SIZES = ['low', 'medium', 'high'] as const;
/** Chat `function_call` (deprecated) as a string. */
export const FUNCTION_CALL_MODES = ['none', 'auto'] as const;
/** Responses `truncation`. */
export const TRUNCATIONS = ['auto', 'disabled'] as const;
/** `IncludeEnum` (Responses `include` items). */
export const RESPONSES_INCLUDES = [
  'file_search_call.results',
  'web_search_call.results',
  'web_search_call.action.sources',
  'message.input_image.image_url',
  'computer_call_output.output.image_url',
  'code_interpreter_call.outputs',
  'reasoning.encrypted_content',
  'message.output_text.logprobs',
] as const;

/**
 * A string schema of one of `values` (JSON Schema `enum`): ajv's error lists them ("must be one of …"), and
 * `nullable()` keeps the list with `null` added.
 */
export function enumOf<V extends string>(values: readonly V[]) {
  return T.Unsafe<V>({ type: 'string', enum: [...values] });
}
