/**
 * The `openai` adapter: OpenAI and every OpenAI-compatible server (Together, Groq, Fireworks, DeepSeek,
 * Mistral, OpenRouter, vLLM, Ollama, LM Studio …), and Azure OpenAI as a variant (`type: azure`).
 *
 * Near-passthrough: the client's body goes upstream with only `model` replaced. For streams the gateway
 * always asks for usage (`stream_options.include_usage`) so it can account for every stream; the pipeline
 * strips the usage chunk again when the client did not ask for it. Chunks keep the text they were
 * parsed from, so the chat codec can pass them through without re-serialising (`chat-chunks.ts`).
 */
import { systemClock } from '../../core/clock.js';
import { BadRequestError, InvalidRequestError, ProviderUnavailableError } from '../../core/errors.js';
import { extend } from '../../core/shapes.js';
import { callHeaders, type PostOptions, post, type Target, target } from '../http.js';
import { postJson } from '../http-json.js';
import { sseItems } from '../sse.js';
import type {
  CallOptions,
  ChatCompletion,
  ChatRequest,
  EmbeddingResponse,
  ProviderAdapter,
  ProviderDeps,
  ProviderSettings,
} from '../types.js';
import { chatChunks } from './chat-chunks.js';
import { chatFromLegacy, legacyChunks, legacyCompletionBody } from './completions.js';
import { completionFromResponse, RESPONSES_API, ResponsesEventTranslator } from './responses.js';

/**
 * Creates an adapter for an OpenAI-compatible endpoint.
 *
 * @example
 * const groq = createOpenAIAdapter(
 *   { name: 'groq', type: 'openai', baseUrl: 'https://api.groq.com/openai/v1', apiKey, apiKeyEnv: 'GROQ_API_KEY',
 *     headers: {}, defaultMaxTokens: 4096 },
 *   { dispatcher },
 * );
 */
export function createOpenAIAdapter(settings: ProviderSettings, deps: ProviderDeps): ProviderAdapter {
  const { name } = settings;
  const clock = deps.clock ?? systemClock;
  const baseHeaders = buildHeaders(settings);
  const streamHeaders = { ...baseHeaders, accept: 'text/event-stream' };

  type Endpoint = 'chat/completions' | 'completions' | 'embeddings' | 'responses' | 'responses/input_tokens';
  // OpenAI itself serves the Responses API; OpenAI-compatible servers and Azure get the translated request.
  const nativeApis = settings.type === 'openai' && name === 'openai' ? [RESPONSES_API] : [];
  const nativeBody = (call: CallOptions, stream: boolean): object | null =>
    call.native?.api === RESPONSES_API && nativeApis.length > 0
      ? { ...(call.native.body as object), model: call.model, stream }
      : null;

  // Where each endpoint goes, computed once (Azure: once per deployment name, which comes from the config).
  const targets = new Map<string, Target>();
  function targetOf(model: string, endpoint: Endpoint): Target {
    const key = settings.type === 'azure' ? `${endpoint} ${model}` : endpoint;
    let t = targets.get(key);
    if (t === undefined) {
      t = target(url(model, endpoint));
      if (targets.size < MAX_CACHED_TARGETS) targets.set(key, t);
    }
    return t;
  }
  function url(model: string, endpoint: Endpoint): URL {
    if (settings.type === 'azure') {
      const u = new URL(`${settings.baseUrl}/openai/deployments/${encodeURIComponent(model)}/${endpoint}`);
      if (settings.apiVersion) u.searchParams.set('api-version', settings.apiVersion);
      return u;
    }
    return new URL(`${settings.baseUrl}/${endpoint}`);
  }

  // OpenAI's reasoning models refuse `max_tokens` ("use max_completion_tokens"): at OpenAI and Azure it goes
  // under that name. Servers that are only OpenAI-compatible keep the body as sent.
  const atOpenAI =
    settings.type === 'azure' ||
    (settings.type === 'openai' && (name === 'openai' || settings.baseUrl.includes('api.openai.com')));
  /** The chat body with the client's `max_tokens` renamed when the model refuses it. */
  function limitsFor(body: ChatRequest, model: string): ChatRequest {
    if (!atOpenAI || typeof body.max_tokens !== 'number' || !REASONING_MODEL.test(model)) return body;
    if (typeof body.max_completion_tokens === 'number') return extend(body, { max_tokens: undefined });
    return extend(body, { max_tokens: undefined, max_completion_tokens: body.max_tokens });
  }

  /** The POST of `body` to `endpoint`. */
  function postOptions(body: object, call: CallOptions, endpoint: Endpoint, stream: boolean): PostOptions {
    return {
      provider: name,
      url: targetOf(call.model, endpoint),
      headers: callHeaders(stream ? streamHeaders : baseHeaders, call),
      body: JSON.stringify(body),
      signal: call.signal,
      apiKeyEnv: settings.apiKeyEnv,
      clock,
    };
  }
  /** POSTs `body` for a stream; the returned promise is post()'s own (no async wrapper around it). */
  const send = (body: object, call: CallOptions, endpoint: Endpoint) =>
    post(deps.dispatcher, postOptions(body, call, endpoint, true));
  /** POSTs `body` and parses the whole answer. */
  const sendJson = (body: object, call: CallOptions, endpoint: Endpoint) =>
    postJson(deps.dispatcher, postOptions(body, call, endpoint, false));

  const { 'content-type': _json, ...deleteHeaders } = baseHeaders;

  return {
    name,
    type: settings.type,
    nativeApis,
    // OpenAI's "Get input token counts" (`POST /v1/responses/input_tokens`), for the Responses API only.
    async countTokens(native, call) {
      if (native.api !== RESPONSES_API || nativeApis.length === 0) {
        throw new BadRequestError(`${name} cannot count tokens for ${native.api}.`, 'unsupported_parameter');
      }
      const body = { ...(native.body as object), model: call.model };
      const answer = await sendJson(body, call, 'responses/input_tokens');
      const json = answer.json as { input_tokens?: unknown } | null;
      if (typeof json?.input_tokens !== 'number') {
        const message = `${name} answered input_tokens with an unexpected body (no input_tokens).`;
        throw new ProviderUnavailableError(message, name, { upstreamStatus: answer.statusCode });
      }
      return json.input_tokens;
    },
    async deleteNative(api, id, call) {
      if (api !== RESPONSES_API || nativeApis.length === 0) return false;
      try {
        await postJson(deps.dispatcher, {
          provider: name,
          url: target(new URL(`${settings.baseUrl}/responses/${encodeURIComponent(id)}`)),
          headers: callHeaders(deleteHeaders, { ...call, model: '' }),
          method: 'DELETE',
          body: '',
          signal: call.signal,
          apiKeyEnv: settings.apiKeyEnv,
          clock,
        });
        return true;
      } catch (err) {
        if (err instanceof InvalidRequestError && err.upstreamStatus === 404) return false;
        throw err;
      }
    },
    async chat(req, call) {
      const native = nativeBody(call, false);
      if (native) {
        return completionFromResponse(name, (await sendJson(native, call, 'responses')).json);
      }
      const legacy = atOpenAI ? legacyCompletionBody(req, call.model, false) : null;
      if (legacy) return chatFromLegacy(name, (await sendJson(legacy, call, 'completions')).json);
      // `stream_options` only goes with a stream: undefined, JSON.stringify leaves it out (a `delete` would
      // turn the object into a slow dictionary).
      const body: ChatRequest = extend(req, { model: call.model, stream: false, stream_options: undefined });
      const { json } = await sendJson(limitsFor(body, call.model), call, 'chat/completions');
      if (!isCompletion(json)) {
        throw new ProviderUnavailableError(
          `${name} answered with something that is not a chat completion.`,
          name,
        );
      }
      return json;
    },
    async chatStream(req, call) {
      const native = nativeBody(call, true);
      if (native) {
        const res = await send(native, call, 'responses');
        return sseItems(name, res.body, call.signal, new ResponsesEventTranslator(name), call.heard);
      }
      const legacy = atOpenAI ? legacyCompletionBody(req, call.model, true) : null;
      if (legacy) {
        const res = await send(legacy, call, 'completions');
        return sseItems(name, res.body, call.signal, legacyChunks(name), call.heard);
      }
      const options = req.stream_options ?? {};
      const body: ChatRequest = extend(req, {
        model: call.model,
        stream: true,
        stream_options: extend(options, { include_usage: true }),
      });
      const res = await send(limitsFor(body, call.model), call, 'chat/completions');
      return sseItems(name, res.body, call.signal, chatChunks(name), call.heard);
    },
    async embed(req, call) {
      const { json } = await sendJson(extend(req, { model: call.model }), call, 'embeddings');
      if (!hasArray(json, 'data')) {
        throw new ProviderUnavailableError(
          `${name} answered with something that is not an embedding list.`,
          name,
        );
      }
      return json as EmbeddingResponse;
    },
  };
}

/** OpenAI's reasoning models (o1, o3, o4-mini, gpt-5 …), which take `max_completion_tokens` only. */
const REASONING_MODEL = /^(o\d|gpt-5)/i;

/** Azure deployment names come from the config; past this many, targets are computed per call. */
const MAX_CACHED_TARGETS = 256;

function buildHeaders(settings: ProviderSettings): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...settings.headers };
  if (settings.apiKey) {
    if (settings.type === 'azure') headers['api-key'] = settings.apiKey;
    else headers.authorization = `Bearer ${settings.apiKey}`;
  }
  return headers;
}

function isCompletion(value: unknown): value is ChatCompletion {
  return hasArray(value, 'choices');
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** Whether `value[key]` is an array of objects (a `null` choice or item would crash whoever reads it). */
function hasArray(value: unknown, key: string): boolean {
  const items = isObject(value) ? (value as Record<string, unknown>)[key] : undefined;
  return Array.isArray(items) && items.every(isObject);
}
