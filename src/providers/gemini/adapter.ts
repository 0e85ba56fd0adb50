/**
 * The `gemini` adapter: Google's Gemini API (`generateContent`, `streamGenerateContent?alt=sse` and
 * `batchEmbedContents`), translating OpenAI chat and embeddings requests and answers both ways.
 */
import { systemClock, unixSeconds } from '../../core/clock.js';
import { ProviderUnavailableError } from '../../core/errors.js';
import { correlationHeaders, type PostOptions, post, target } from '../http.js';
import { postJson } from '../http-json.js';
import { thinkingBudget } from '../reasoning.js';
import { sseItems } from '../sse.js';
import type { CallOptions, ProviderAdapter, ProviderDeps, ProviderSettings } from '../types.js';
import { embedWithGemini } from './embeddings.js';
import { modelBudget, toGeminiRequest } from './request.js';
import { isGeminiResponse, toChatCompletion } from './response.js';
import { geminiChunks } from './stream.js';

/** Used when the settings carry no base URL. Without an API version: the adapter adds `/v1beta`. */
export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

type Method = 'generateContent' | 'streamGenerateContent' | 'batchEmbedContents';

/**
 * Creates an adapter for the Gemini API. The key is sent as `x-goog-api-key`, never as `?key=`, so it
 * cannot end up in logged URLs.
 *
 * @example
 * const gemini = createGeminiAdapter(
 *   { name: 'gemini', type: 'gemini', baseUrl: GEMINI_DEFAULT_BASE_URL, apiKey, apiKeyEnv: 'GEMINI_API_KEY',
 *     headers: {}, defaultMaxTokens: 4096 },
 *   { dispatcher },
 * );
 */
export function createGeminiAdapter(settings: ProviderSettings, deps: ProviderDeps): ProviderAdapter {
  const { name } = settings;
  const clock = deps.clock ?? systemClock;
  const baseUrl = (settings.baseUrl || GEMINI_DEFAULT_BASE_URL).replace(/\/+$/, '');

  function postOptions(body: unknown, call: CallOptions, method: Method, signal: AbortSignal): PostOptions {
    const url = new URL(`${baseUrl}/v1beta/models/${encodeURIComponent(modelId(call.model))}:${method}`);
    if (method === 'streamGenerateContent') url.searchParams.set('alt', 'sse');
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      ...settings.headers,
      ...correlationHeaders(call),
    };
    if (settings.apiKey) headers['x-goog-api-key'] = settings.apiKey;
    return {
      provider: name,
      url: target(url),
      headers,
      body: JSON.stringify(body),
      signal,
      apiKeyEnv: settings.apiKeyEnv,
      clock,
    };
  }
  /** POSTs for a stream. */
  const send = (body: unknown, call: CallOptions, method: Method) =>
    post(deps.dispatcher, postOptions(body, call, method, call.signal));
  /** POSTs and parses the whole answer. */
  const sendJson = (body: unknown, call: CallOptions, method: Method, signal: AbortSignal = call.signal) =>
    postJson(deps.dispatcher, postOptions(body, call, method, signal));

  return {
    name,
    type: 'gemini',
    async chat(req, call) {
      const { json, statusCode } = await sendJson(toGeminiRequest(req, call.model), call, 'generateContent');
      const usable =
        isGeminiResponse(json) &&
        ((json.candidates?.length ?? 0) > 0 || json.promptFeedback?.blockReason !== undefined);
      if (!usable) {
        throw new ProviderUnavailableError(
          `${name} answered with something that is not a Gemini response.`,
          name,
          { upstreamStatus: statusCode },
        );
      }
      return toChatCompletion(json, modelId(call.model), unixSeconds(clock));
    },
    thinkingTokens(req, model) {
      const budget = thinkingBudget(req.reasoning_effort);
      return budget === undefined ? 0 : modelBudget(budget, model);
    },
    async chatStream(req, call) {
      const res = await send(toGeminiRequest(req, call.model), call, 'streamGenerateContent');
      const translator = geminiChunks({
        provider: name,
        model: modelId(call.model),
        created: unixSeconds(clock),
      });
      return sseItems(name, res.body, call.signal, translator, call.heard);
    },
    async embed(req, call) {
      return embedWithGemini(req, {
        model: modelId(call.model),
        provider: name,
        signal: call.signal,
        send: async (body, signal) => {
          const { json, statusCode } = await sendJson(body, call, 'batchEmbedContents', signal);
          return { json, status: statusCode };
        },
      });
    },
  };
}

/** Accepts Gemini's resource form `models/gemini-…` as well as the bare id. */
function modelId(model: string): string {
  return model.startsWith('models/') ? model.slice('models/'.length) : model;
}
