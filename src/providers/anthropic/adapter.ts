/**
 * The `anthropic` provider: OpenAI chat requests served by Anthropic's Messages API.
 */
import type { Message } from '@anthropic-ai/sdk/resources/messages';
import { systemClock, unixSeconds } from '../../core/clock.js';
import { BadRequestError, GatewayError, ProviderUnavailableError } from '../../core/errors.js';
import { extend } from '../../core/shapes.js';
import { correlationHeaders, post, type Target, target } from '../http.js';
import { postJson } from '../http-json.js';
import { sseItems } from '../sse.js';
import type { CallOptions, ChatRequest, ProviderAdapter, ProviderDeps, ProviderSettings } from '../types.js';
import {
  ANTHROPIC_MESSAGES_API,
  anthropicNativeChunks,
  FORWARDED_HEADERS,
  isAnthropicNative,
  keepAnthropicMessage,
  nativeBody,
} from './native.js';
import { jsonSchemaToolName, toAnthropicRequest } from './request.js';
import { toChatCompletion } from './response.js';
import { anthropicChunks } from './stream.js';

/** Messages API version the translations are written against. */
export const ANTHROPIC_VERSION = '2023-06-01';

/** Creates the adapter for one configured Anthropic endpoint (`baseUrl` without `/v1`). */
export function createAnthropicAdapter(settings: ProviderSettings, deps: ProviderDeps): ProviderAdapter {
  const provider = settings.name;
  const clock = deps.clock ?? systemClock;
  const messagesUrl = new URL(`${settings.baseUrl.replace(/\/+$/, '')}/v1/messages`);
  const url = target(messagesUrl);
  const countUrl = target(`${messagesUrl.href}/count_tokens`);

  /** The body to send: the client's own Messages body (native passthrough), else the translation. */
  function bodyOf(req: ChatRequest, call: CallOptions, stream: boolean): string {
    if (isAnthropicNative(call.native)) return JSON.stringify(nativeBody(call.native, call.model, stream));
    const { stream: _ignored, ...body } = toAnthropicRequest(req, call.model, settings.defaultMaxTokens);
    return JSON.stringify(stream ? extend(body, { stream: true }) : body);
  }

  function postOptions(req: ChatRequest, call: CallOptions, stream: boolean, to: Target, body?: string) {
    return {
      provider,
      url: to,
      headers: requestHeaders(settings, call, stream),
      body: body ?? bodyOf(req, call, stream),
      signal: call.signal,
      apiKeyEnv: settings.apiKeyEnv,
      clock,
    };
  }

  /** POSTs for a stream. */
  async function send(req: ChatRequest, call: CallOptions) {
    try {
      return await post(deps.dispatcher, postOptions(req, call, true, url));
    } catch (err) {
      throw redactKey(err, settings.apiKey);
    }
  }

  /** POSTs and parses the whole answer. */
  async function sendJson(req: ChatRequest, call: CallOptions, to = url, body?: string) {
    try {
      return await postJson(deps.dispatcher, postOptions(req, call, false, to, body));
    } catch (err) {
      throw redactKey(err, settings.apiKey);
    }
  }

  return {
    name: provider,
    type: 'anthropic',
    nativeApis: [ANTHROPIC_MESSAGES_API],
    async chat(req, call) {
      const { json, statusCode } = await sendJson(req, call);
      if (!isMessage(json)) {
        const message = `${provider} answered with an unexpected body (no content array).`;
        throw new ProviderUnavailableError(message, provider, { upstreamStatus: statusCode });
      }
      if (isAnthropicNative(call.native)) {
        return keepAnthropicMessage(toChatCompletion(json, { created: unixSeconds(clock) }), json);
      }
      return toChatCompletion(json, { jsonTool: jsonSchemaToolName(req), created: unixSeconds(clock) });
    },
    async countTokens(native, call) {
      const body = JSON.stringify({ ...(native.body as object), model: call.model });
      const answer = await sendJson({} as ChatRequest, { ...call, native }, countUrl, body);
      const json = answer.json as { input_tokens?: unknown } | null;
      if (typeof json?.input_tokens !== 'number') {
        const message = `${provider} answered count_tokens with an unexpected body (no input_tokens).`;
        throw new ProviderUnavailableError(message, provider, { upstreamStatus: answer.statusCode });
      }
      return json.input_tokens;
    },
    async embed() {
      throw new BadRequestError(
        `${provider} (Anthropic) has no embeddings API; use an OpenAI, Gemini or OpenAI-compatible embedding model.`,
        'unsupported_parameter',
        { param: 'model' },
      );
    },
    thinkingTokens(req, model) {
      // Read from the body the call sends (a tool loop or a forced tool turns thinking off). Only asked
      // after a timeout; a request the translation refuses never got that far.
      try {
        const thinking = toAnthropicRequest(req, model, settings.defaultMaxTokens).thinking;
        return thinking?.type === 'enabled' ? thinking.budget_tokens : 0;
      } catch {
        return 0;
      }
    },
    async chatStream(req, call) {
      const res = await send(req, call);
      if (isAnthropicNative(call.native)) {
        const native = anthropicNativeChunks(provider, { created: unixSeconds(clock) });
        return sseItems(provider, res.body, call.signal, native, call.heard);
      }
      const translator = anthropicChunks(provider, {
        jsonTool: jsonSchemaToolName(req),
        created: unixSeconds(clock),
      });
      return sseItems(provider, res.body, call.signal, translator, call.heard);
    },
  };
}

function requestHeaders(
  settings: ProviderSettings,
  call: CallOptions,
  stream: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {
    'anthropic-version': ANTHROPIC_VERSION,
    'content-type': 'application/json',
    ...correlationHeaders(call),
  };
  if (stream) headers.accept = 'text/event-stream';
  if (settings.apiKey) headers['x-api-key'] = settings.apiKey;
  // A native request keeps the client's API version and beta flags (thinking, caching, files …).
  if (isAnthropicNative(call.native)) {
    for (const name of FORWARDED_HEADERS) {
      const value = call.native.headers[name];
      if (value) headers[name] = value;
    }
  }
  // Lower-cased so configured headers replace the defaults instead of duplicating them.
  for (const [name, value] of Object.entries(settings.headers)) headers[name.toLowerCase()] = value;
  return headers;
}

/** A Message with a content array of blocks (a `null` block would crash the translation). */
function isMessage(value: unknown): value is Message {
  const content =
    typeof value === 'object' && value !== null ? (value as { content?: unknown }).content : null;
  return Array.isArray(content) && content.every((b) => typeof b === 'object' && b !== null);
}

/** Upstream error text is quoted into messages; an upstream that echoes the key must not leak it. */
function redactKey(err: unknown, apiKey: string | undefined): unknown {
  if (apiKey && err instanceof GatewayError && err.message.includes(apiKey)) {
    err.message = err.message.split(apiKey).join('[redacted]');
  }
  return err;
}
