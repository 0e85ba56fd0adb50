/**
 * `POST /v1/messages/count_tokens` (Anthropic's token counting): `{input_tokens}` for a Messages body
 * without `max_tokens`. Authenticated like `/v1/messages` (gateway key, model permission); free, so no rate
 * limit, budget or usage record.
 *
 * Counted by the provider when a deployment of the model's route has a counter for the Messages API (an
 * Anthropic deployment: its own count_tokens, the body passed through as it is, the deployment's model),
 * tried in the route's order; a provider that fails (5xx, timeout) moves on to the next. Otherwise — no such
 * deployment, or none answered — counted locally with the gateway's tokenizer on the canonical translation
 * (`gpt-tokenizer` for OpenAI models, ~4 characters a token for others; see accounting/tokens.ts).
 * Each provider call is bounded by `timeoutMs` (`upstream.timeout_ms`): a provider that hangs times out
 * and the count moves on, as for a 5xx.
 */
import type { MessageCountTokensParams } from '@anthropic-ai/sdk/resources/messages';
import { countPromptTokens } from '../../accounting/tokens.js';
import { type Authenticator, assertModelAllowed, authorizationOf } from '../../auth/principal.js';
import type { NativeRequest } from '../../core/context.js';
import { ANTHROPIC_MESSAGES_API } from '../../providers/anthropic/native.js';
import type { ModelResolver } from '../../routing/resolver.js';
import type { createSchemaCompiler } from '../compile.js';
import { providerCount } from '../provider-count.js';
import { apiHeaders, decodeAnthropicBody } from './codec.js';
import { CountTokensRequestSchema } from './schema.js';
import { type MessagesBody, toCanonical } from './to-canonical.js';

export const COUNT_TOKENS_PATH = '/v1/messages/count_tokens';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export interface CountTokensRequest {
  raw: string;
  headers: Headers;
  requestId: string;
  signal: AbortSignal;
}

/** How a count was made (sent as `x-token-count-source`). */
export interface TokenCount {
  input_tokens: number;
  source: 'provider' | 'local';
}

/** The count_tokens handler: framework-free (the server route calls it). */
export function createCountTokens(deps: {
  compile: ReturnType<typeof createSchemaCompiler>;
  authenticator: Authenticator;
  resolver: ModelResolver;
  /** Longest wait for one provider's count (`upstream.timeout_ms`). */
  timeoutMs: number;
}): (req: CountTokensRequest) => Promise<TokenCount> {
  const validate = deps.compile<MessageCountTokensParams & Record<string, unknown>>(CountTokensRequestSchema);
  return async (req) => {
    const userId = req.headers['x-user-id'];
    const principal = await deps.authenticator.authenticate({
      authorization: authorizationOf(req.headers),
      userIdHeader: typeof userId === 'string' ? userId : undefined,
    });
    const body = decodeAnthropicBody(req.raw, validate);
    assertModelAllowed(principal, body.model);
    const route = deps.resolver.resolve(body.model);
    const native: NativeRequest = { api: ANTHROPIC_MESSAGES_API, body, headers: apiHeaders(req.headers) };
    const counted = await providerCount(native, route.deployments, {
      signal: req.signal,
      requestId: req.requestId,
      timeoutMs: deps.timeoutMs,
      what: 'count_tokens',
      passOn: (err) => err.isRetryable,
    });
    if (counted !== null) return { input_tokens: counted, source: 'provider' };
    const canonical = toCanonical({ ...body, max_tokens: 1 } as MessagesBody);
    const model = route.deployments[0]?.model ?? body.model;
    return { input_tokens: await countPromptTokens(canonical, model), source: 'local' };
  };
}
