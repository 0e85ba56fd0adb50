/**
 * The Responses codec (`POST /v1/responses`, OpenAI Responses API). `decode` validates the body and
 * translates it to the canonical chat request (`translate-request.ts`), keeping the body as sent for a
 * deployment that speaks the API natively (OpenAI); `encode` writes the Response object the Responses stage
 * made for the answer (`response.ts`); streams are written as the API's typed events (`stream.ts`).
 * Errors keep OpenAI's envelope, as the Responses API uses it too.
 */
import type { Clock } from '../../core/clock.js';
import type { CanonicalRequest } from '../../core/context.js';
import type { EndpointCodec } from '../../core/endpoint.js';
import { RESPONSES_API } from '../../providers/openai/responses.js';
import type { ChatCompletion } from '../../providers/types.js';
import type { createSchemaCompiler } from '../compile.js';
import { parseJsonBody } from '../json.js';
import { metadataTags, requestTags, TAGS_HEADER } from '../tags.js';
import { fromCompletion } from './response.js';
import { ResponsesRequestSchema } from './schema.js';
import { answerOf, bindState, newId, RESPONSE_STATE, type ResponseState } from './state.js';
import { openResponsesStream } from './stream.js';
import { type ResponsesBody, type Translated, toChatRequest } from './translate-request.js';
import { validateResponsesRequest } from './validate.js';

export const RESPONSES_PATH = '/v1/responses';

/** Creates the codec (its schema validator is compiled here, once). */
export function createResponsesCodec(
  compile: ReturnType<typeof createSchemaCompiler>,
  clock: Pick<Clock, 'wallNow'>,
): EndpointCodec {
  const validate = compile<ResponsesBody>(ResponsesRequestSchema);
  const newState = (body: ResponsesBody, translated?: Translated): ResponseState => ({
    id: newId('resp'),
    createdAt: Math.floor(clock.wallNow() / 1000),
    body,
    // OpenAI's default: kept unless the client says `store: false`.
    store: body.store !== false,
    nativeOnly: translated?.nativeOnly ?? [],
    origins: translated?.origins ?? [],
    onFinal: null,
  });
  return {
    name: 'responses',
    path: RESPONSES_PATH,
    summary: 'Create a model response (OpenAI Responses API)',
    bodySchema: ResponsesRequestSchema,
    decode(raw, headers) {
      const body = validate(parseJsonBody(raw));
      validateResponsesRequest(body);
      // OpenAI keeps Responses metadata (string values): the comma-separated form, forwarded as sent.
      const tags = requestTags(metadataTags(body.metadata), headers?.[TAGS_HEADER]);
      const translated = toChatRequest(body);
      const request: CanonicalRequest = {
        kind: 'chat',
        model: body.model,
        stream: body.stream === true,
        body: translated.chat,
        native: { api: RESPONSES_API, body, headers: {} },
        tags,
      };
      bindState(request, newState(body, translated));
      return request;
    },
    encode(result) {
      const made = answerOf(result.body);
      if (made) return made;
      // Only without the Responses stage (unit tests): a response that is not stored.
      const state = newState({ model: result.body.model, input: '' });
      return fromCompletion(state, result.body as ChatCompletion, result.body.model);
    },
    stream: {
      // Without the Responses stage (unit tests): a response that is not stored.
      open: (request, ctx) =>
        openResponsesStream(RESPONSE_STATE.get(ctx) ?? newState({ model: request.model, input: '' })),
    },
  };
}
