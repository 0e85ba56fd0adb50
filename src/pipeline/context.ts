/**
 * The one object every stage of a request reads and extends; logs, headers and (later) spans and metrics
 * are built from it.
 */

import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Principal } from '../auth/principal.js';
import type { ChatCompletionChunk, ChatRequest, EmbeddingRequest, Usage } from '../providers/types.js';
import type { Deployment, Route } from '../routing/resolver.js';

/** Milliseconds spent per stage (performance.now() differences), for Server-Timing and logs. */
export interface StageTimings {
  auth: number;
  resolve: number;
  /** Cache lookups (exact, embedding, semantic search). */
  cache: number;
  /** Time in upstream attempts, all of them: to the whole answer (non-stream) or the first chunks (stream). */
  upstream: number;
  /** Time spent waiting between attempts (backoff, Retry-After). */
  wait: number;
}

/** How the cache took part in a request (DESIGN §6); `null` status = the cache was not consulted. */
export interface CacheOutcome {
  status: 'HIT' | 'MISS' | 'BYPASS' | null;
  type: 'exact' | 'semantic' | null;
  /** USD the hit saved (the cost of the answer when it was first made), when known. */
  savedUsd: number | null;
}

export interface RequestContext {
  readonly requestId: string;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  readonly log: Logger;
  /** Aborted on client disconnect (ClientClosedError) or when the total deadline passes (TimeoutError). */
  readonly abort: AbortController;
  principal: Principal | null;
  model: string | null;
  stream: boolean;
  route: Route | null;
  /** The deployment that served (or was tried last). */
  deployment: Deployment | null;
  /** Upstream attempts made, retries and fallbacks included. */
  attempts: number;
  /** How many times the request moved to another deployment. */
  fallbackCount: number;
  timings: StageTimings;
  usage: Usage | null;
  /** Upstream model that served (the provider's answer, e.g. `gpt-4o-2024-08-06`). */
  servedModel: string | null;
  finishReason: string | null;
  /** Which endpoint: set by the route before any hook runs. */
  kind: 'chat' | 'embeddings' | null;
  /** The validated request body (read-only for hooks). */
  body: ChatRequest | EmbeddingRequest | null;
  cache: CacheOutcome;
  /** Upstream cost in USD; 0 for cache hits; null = not known (unpriced model). */
  costUsd: number | null;
  /** Whether `usage` was counted by the gateway instead of reported by the upstream. */
  usageEstimated: boolean;
  /** performance.now() when the first content chunk went to the client (streams). */
  firstTokenAt: number | null;
  /** Extra response headers set by hooks (rate-limit, cost, cache); sent on success and on errors. */
  responseHeaders: Record<string, string>;
  /** Per-hook state (reservations to settle, spans …), keyed by hook name. */
  hookState: Record<string, unknown>;
  /** The client's request headers (the cache reads Cache-Control, X-Cache-Bypass, X-Cache-TTL). */
  requestHeaders: Readonly<Record<string, string | string[] | undefined>>;
}

/** A new context with the shape fixed up front (stable hidden class on the hot path). */
export function createContext(requestId: string, log: Logger, startedAt: number): RequestContext {
  return {
    requestId,
    startedAt,
    log,
    abort: new AbortController(),
    principal: null,
    model: null,
    stream: false,
    route: null,
    deployment: null,
    attempts: 0,
    fallbackCount: 0,
    timings: { auth: 0, resolve: 0, cache: 0, upstream: 0, wait: 0 },
    usage: null,
    servedModel: null,
    finishReason: null,
    kind: null,
    body: null,
    cache: { status: null, type: null, savedUsd: null },
    costUsd: null,
    usageEstimated: false,
    firstTokenAt: null,
    responseHeaders: {},
    hookState: {},
    requestHeaders: {},
  };
}

/**
 * An opened stream: its opening chunks arrived (empty role chunks up to the first one carrying content, a
 * tool call, a finish reason or usage); the rest follows. Nothing was sent to the client yet.
 */
export interface OpenedStream {
  head: ChatCompletionChunk[];
  rest: AsyncIterator<ChatCompletionChunk>;
  /**
   * Call once the client stream is done either way (idempotent). `complete: true` after the upstream
   * stream ended normally, so its connection can be reused; otherwise the upstream call is aborted.
   */
  close(complete: boolean): void;
}
