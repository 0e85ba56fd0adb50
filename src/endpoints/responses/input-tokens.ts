/**
 * `POST /v1/responses/input_tokens` (OpenAI's "Get input token counts"): `{object: "response.input_tokens",
 * input_tokens}` for a body like a create's. Authenticated like `/v1/responses` (gateway key, model
 * permission); free, so no rate limit, budget or usage record. The same machinery as the Messages API's
 * count_tokens (`../messages/count-tokens.ts`):
 *
 * - Counted by the provider when a deployment of the model's route speaks the Responses API natively
 *   (OpenAI's own `/v1/responses/input_tokens`, the body as sent, the deployment's model), tried in the
 *   route's order; a provider that fails (5xx, timeout) or cannot count (404, refused key) moves on to the
 *   next.
 * - Otherwise counted locally with the gateway's tokenizer on the chat translation of the request
 *   (`gpt-tokenizer` for OpenAI models, ~4 characters a token for others; accounting/tokens.ts).
 *
 * A `previous_response_id` must name a response of the caller's scope (else 400, as on create). A chain
 * stored only at the gateway (translated) is counted locally with the whole conversation; one stored at
 * OpenAI is passed to OpenAI as it is.
 */
import { countPromptTokens } from '../../accounting/tokens.js';
import { type Authenticator, assertModelAllowed, authorizationOf } from '../../auth/principal.js';
import type { NativeRequest } from '../../core/context.js';
import { RESPONSES_API } from '../../providers/openai/responses.js';
import type { ModelResolver } from '../../routing/resolver.js';
import type { createSchemaCompiler } from '../compile.js';
import { parseJsonBody } from '../json.js';
import { providerCount } from '../provider-count.js';
import { ResponsesRequestSchema } from './schema.js';
import { conversationOf, loadPrevious, scopeOf } from './stage.js';
import type { ResponseStore } from './store.js';
import { type ResponsesBody, toChatRequest } from './translate-request.js';
import { validateResponsesInput } from './validate.js';

export const INPUT_TOKENS_PATH = '/v1/responses/input_tokens';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export interface InputTokensRequest {
  raw: string;
  headers: Headers;
  requestId: string;
  signal: AbortSignal;
  log: { warn(obj: object, msg: string): void };
}

/** A count (the answer's body) and how it was made (sent as `x-token-count-source`). */
export interface InputTokenCount {
  object: 'response.input_tokens';
  input_tokens: number;
  source: 'provider' | 'local';
}

/**
 * Creates the handler (framework-free; the server route calls it).
 *
 * @example
 * const count = createInputTokens({ compile, authenticator, resolver, store, timeoutMs: 60_000 });
 * const { input_tokens } = await count({ raw: '{"model":"gpt-4o","input":"Hi"}', headers, requestId, signal, log });
 */
export function createInputTokens(deps: {
  compile: ReturnType<typeof createSchemaCompiler>;
  authenticator: Authenticator;
  resolver: ModelResolver;
  store: ResponseStore;
  /** Longest wait for one provider's count (`upstream.timeout_ms`). */
  timeoutMs: number;
}): (req: InputTokensRequest) => Promise<InputTokenCount> {
  const validate = deps.compile<ResponsesBody>(ResponsesRequestSchema);
  return async (req) => {
    const userId = req.headers['x-user-id'];
    const principal = await deps.authenticator.authenticate({
      authorization: authorizationOf(req.headers),
      userIdHeader: typeof userId === 'string' ? userId : undefined,
    });
    const body = validate(parseJsonBody(req.raw));
    validateResponsesInput(body);
    assertModelAllowed(principal, body.model);
    const route = deps.resolver.resolve(body.model);
    const scope = scopeOf(principal);
    const previous = await loadPrevious(req.log, deps.store, scope, body.previous_response_id);
    // Only OpenAI knows a chain it stores; one the gateway keeps is counted here, with its conversation.
    const native: NativeRequest | null =
      previous === null || previous.native ? { api: RESPONSES_API, body, headers: {} } : null;
    const counted = native
      ? await providerCount(native, route.deployments, {
          signal: req.signal,
          requestId: req.requestId,
          timeoutMs: deps.timeoutMs,
          what: 'input_tokens',
          // A provider that fails, or lacks the count (404) or the key for it, moves on; a refusal of the
          // body is the client's.
          passOn: (err) => err.isRetryable || err.mayFallBack,
        })
      : null;
    if (counted !== null)
      return { object: 'response.input_tokens', input_tokens: counted, source: 'provider' };
    const { chat } = toChatRequest(body, previous ? conversationOf(previous) : []);
    const model = route.deployments[0]?.model ?? body.model;
    const input_tokens = await countPromptTokens(chat, model);
    return { object: 'response.input_tokens', input_tokens, source: 'local' };
  };
}
