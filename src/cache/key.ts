/**
 * What the cache keys on: the canonical form of every output-affecting field of a chat request (DESIGN §6).
 * Key order, and fields that cannot change the answer (`user`, `stream`, `metadata` …), never change a key.
 */
import { createHash } from 'node:crypto';
import type { NativeRequest } from '../core/context.js';
import type { ChatRequest } from '../providers/types.js';

/**
 * Request fields that do not change the model's answer. Everything else counts — unknown fields included,
 * because they pass through to OpenAI-compatible upstreams and may change the answer there.
 */
const IGNORED_FIELDS = new Set([
  'stream',
  'stream_options',
  'user',
  'metadata',
  'store',
  'service_tier',
  'prompt_cache_key',
  'safety_identifier',
  // Gateway-side prompt reference: its rendered text is in `messages` by the time the cache sees it.
  'prompt',
]);

/** JSON with object keys sorted at every level and `undefined` members dropped (stable across clients). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const v = obj[key];
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The output-affecting fields of a request, `messages` left out (the semantic partition splits them). */
function parameters(req: ChatRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(req)) {
    if (key !== 'messages' && !IGNORED_FIELDS.has(key)) out[key] = value;
  }
  return out;
}

/**
 * The exact-cache key: SHA-256 (hex) of the cache scope (`scope.ts`) and the canonical output-affecting
 * request. The scope sits beside the request, not in it, so no request field can stand in for it.
 */
export function exactKey(req: ChatRequest, scope: string): string {
  return sha256(canonicalJson({ scope, request: { ...parameters(req), messages: req.messages } }));
}

/**
 * The exact-cache key of a request that came in another API's format (Anthropic Messages): its own body,
 * which holds what the canonical form drops (thinking, cache_control, top_k …), plus its API headers (a
 * beta flag can change the answer), under the tenant's cache scope like `exactKey`. `stream` and `metadata`
 * do not count.
 */
export function nativeExactKey(native: NativeRequest, scope: string): string {
  const { stream: _s, metadata: _m, ...body } = native.body as Record<string, unknown>;
  return sha256(canonicalJson({ scope, request: { api: native.api, headers: native.headers, body } }));
}

/** Why a request is not cacheable, or null when it is. */
export function notCacheableReason(
  req: ChatRequest,
  maxTemperature: number,
  native?: NativeRequest,
): string | null {
  // OpenAI's default temperature is 1: a request that sets none is not deterministic.
  const temperature = typeof req.temperature === 'number' ? req.temperature : 1;
  if (temperature > maxTemperature) return 'temperature';
  if (typeof req.n === 'number' && req.n > 1) return 'n';
  return native && upstreamState(native.body) ? 'upstream_state' : null;
}

/**
 * Whether a native body names state the upstream holds and changes (an OpenAI conversation, which every call
 * extends; an OpenAI-hosted prompt without a pinned version): the same body does not mean the same answer.
 */
function upstreamState(body: unknown): boolean {
  const b = (body ?? {}) as { conversation?: unknown; prompt?: { version?: unknown } | null };
  if (b.conversation !== undefined && b.conversation !== null) return true;
  return typeof b.prompt === 'object' && b.prompt !== null && (b.prompt.version ?? null) === null;
}

/** The last user message and what comes around it, for the semantic layer. */
export interface SemanticQuery {
  /** Text of the last user message (the vector is its embedding). */
  text: string;
  /** Hash of scope, model, parameters, embedder and every other message: only equal partitions can match. */
  partition: string;
}

/**
 * The semantic view of a request, or null when it has none (no user message, or the last one carries
 * something other than text, such as an image).
 */
export function semanticQuery(req: ChatRequest, embedderId: string, scope: string): SemanticQuery | null {
  const messages = req.messages as unknown as Array<{ role?: unknown; content?: unknown }>;
  let last = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === 'user') {
      last = i;
      break;
    }
  }
  if (last < 0) return null;
  const text = textOf(messages[last]?.content);
  if (text === null || text.trim() === '') return null;
  // The last user message stands in the context with its text left out, its other fields (its `name`) kept.
  const context = messages.map((m, i) => (i === last ? { ...m, content: '\u0000query' } : m));
  const partition = sha256(
    canonicalJson({ scope, request: { ...parameters(req), context }, embedder: embedderId }),
  );
  return { text, partition };
}

function textOf(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const texts: string[] = [];
  for (const part of content as Array<{ type?: unknown; text?: unknown }>) {
    if (part?.type !== 'text' || typeof part.text !== 'string') return null;
    texts.push(part.text);
  }
  return texts.join('\n');
}
