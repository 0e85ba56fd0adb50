/**
 * What only a deployment that speaks the Responses API natively (OpenAI) can serve: built-in tools, their
 * call items, item references, files stored at OpenAI, OpenAI-hosted prompts and conversations. The
 * translation lists them; the Responses stage refuses the request (400 `unsupported_parameter`, naming the
 * field) when the model's route has a deployment that would get the translated request.
 */
import { BadRequestError } from '../../core/errors.js';

/** One thing in the request that a translated provider cannot run. */
export interface NativeOnly {
  /** Where it is: `tools[1]`, `input[2].output[0]`, `previous_response_id (item 3)`. */
  at: string;
  /** What it is: `web_search, a built-in tool`, `input_image by file_id, a file stored at OpenAI`. */
  what: string;
  /** What the client can send instead, as a sentence; unset: only a model served by OpenAI helps. */
  instead?: string;
}

/** The advice for built-in tools and their items. */
export const USE_FUNCTION_TOOLS = 'Use function tools, or a model served by OpenAI.';

/**
 * The refusal of a request holding `entry` for `model`, which routes to `provider` (a deployment without
 * the native API). `param` is the field (`tools[1]`; `previous_response_id` for a stored item).
 *
 * @example
 * nativeOnlyError({ at: 'tools[0]', what: 'web_search, a built-in tool', instead: USE_FUNCTION_TOOLS },
 *   'claude-sonnet-4-5', 'anthropic')
 * // 400 "tools[0] (web_search, a built-in tool) can only be served by an OpenAI deployment …"
 */
export function nativeOnlyError(entry: NativeOnly, model: string, provider: string): BadRequestError {
  return new BadRequestError(
    `${entry.at} (${entry.what}) can only be served by an OpenAI deployment (native Responses API); model '${model}' routes to ${provider}. ${entry.instead ?? 'Use a model served by OpenAI.'}`,
    'unsupported_parameter',
    { param: entry.at.split(' ')[0] ?? null },
  );
}
