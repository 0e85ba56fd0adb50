/**
 * The typed request context (DESIGN §2): one object per request that every stage reads and extends.
 *
 * Who writes what:
 * - the server: ids (the gateway's, the client's), start time, logger, abort signal, endpoint, headers;
 * - `authenticate`: `principal`; `decode`: `request`; `resolve`: `route`; `route`: `plan`;
 * - `call`: `upstream` (deployment tried, attempts, fallbacks) as it goes;
 * - the pipeline runner: `outcome`, once, from the call's (or the cache's) answer or stream summary — or
 *   `guard`, for an answer it refused to pass on (the provider billed it; the request ends in an error);
 * - `settle`: `end`, then its cost step assigns `usage` and `costUsd` (the only place that does).
 *
 * State a stage keeps for itself lives in a typed `Slot` it declares (no string-keyed bag).
 */
import type { Principal } from '../auth/principal.js';
import type { ChatRequest, EmbeddingRequest, NativeRequest, Usage } from '../providers/types.js';
import type { Deployment, Route } from '../routing/resolver.js';
import { RequestAbort } from './abort.js';
import type { GatewayError } from './errors.js';
import type { StreamLiveness } from './liveness.js';
import type { Outcome } from './result.js';
import { holdsGatewayKey } from './secret-shape.js';

/** A logger as the context needs it (pino's, or Fastify's child of it). */
export interface ContextLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): ContextLogger;
}

/** The inbound APIs that run through the pipeline. */
export type EndpointName = 'chat' | 'completions' | 'embeddings' | 'messages' | 'responses' | 'prompts';

/**
 * A chat request's reference to a stored prompt and/or an experiment (the body's `prompt` and `experiment`
 * extension fields, or `POST /v1/prompts/{id}/completions`). Decode takes it out of the body, so it never
 * reaches a provider; the prompt stage renders it (docs/prompts.md).
 */
export interface PromptReference {
  /** Prompt id; null when only an experiment is named (its variant names the prompt, if any). */
  readonly id: string | null;
  readonly version: number | null;
  readonly label: string | null;
  readonly variables: Readonly<Record<string, unknown>>;
  /** Experiment id to join; null = none named (a label may still have one attached). */
  readonly experiment: string | null;
}

export type { NativeRequest };

/** The request in the gateway's canonical form (OpenAI's shapes), as the endpoint codec decoded it. */
export type CanonicalRequest =
  | {
      readonly kind: 'chat';
      readonly model: string;
      readonly stream: boolean;
      readonly body: ChatRequest;
      readonly native?: NativeRequest;
      /** Spend tags (`metadata.tags`, `X-Gateway-Tags`; endpoints/tags.ts), stored with the usage record. */
      readonly tags?: readonly string[];
      /** Set until the prompt stage rendered it (then `model` and `body` are the final ones). */
      readonly prompt?: PromptReference;
    }
  | {
      readonly kind: 'embeddings';
      readonly model: string;
      readonly stream: false;
      readonly body: EmbeddingRequest;
      readonly tags?: readonly string[];
    };

/** Milliseconds spent per stage (clock.now() differences), for Server-Timing and logs. */
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
}

/** The call stage's progress: what it tried so far (read by headers and logs, also after a failure). */
export interface UpstreamProgress {
  /** The deployment that served, or was tried last. */
  deployment: Deployment | null;
  /** Upstream attempts made, retries and fallbacks included. */
  attempts: number;
  /** How many times the request moved to another deployment. */
  fallbackCount: number;
  /**
   * Attempts that failed after the request reached the provider, which may bill them (DESIGN §7): a
   * retried, timed-out or client-aborted call. Settle charges each at an estimate, never at zero.
   */
  billable: BillableAttempt[];
  /** The stream attempt's upstream liveness (last one tried): what the writer's idle timer asks (decision 0225). */
  heard: StreamLiveness | null;
}

/** A failed attempt the provider may bill (see `UpstreamProgress.billable`). */
export interface BillableAttempt {
  readonly deployment: Deployment;
  /**
   * What the provider streamed before the attempt failed (it had accepted the request: 2xx); null when no
   * answer was seen at all (the request was sent, then timed out or was aborted while waiting), so the
   * attempt is charged its worst case (prompt + every choice's output limit).
   */
  readonly streamed: string | null;
  /** Error code the attempt failed with (logs). */
  readonly code: string;
}

/** How a request ended, as settle sees it. */
export interface RequestEnd {
  status: number;
  error: GatewayError | null;
  /** Streams: ended normally with [DONE]. JSON: status < 400. */
  complete: boolean;
}

/**
 * A typed slot for one stage's per-request state. Declared once by the stage that owns it:
 *
 * @example
 * const RESERVATION = new Slot<Reservation>('budgets.reservation');
 * RESERVATION.set(ctx, { counters, micros });
 * const r = RESERVATION.get(ctx); // Reservation | undefined
 */
export class Slot<T> {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  get(ctx: RequestContext): T | undefined {
    return ctx.slots.get(this) as T | undefined;
  }
  set(ctx: RequestContext, value: T): void {
    ctx.slots.set(this, value);
  }
}

export interface RequestContext {
  /** The gateway's own request id (UUIDv7, core/request-id.ts): records, traces, logs, upstream calls. */
  readonly requestId: string;
  /** The client's `X-Request-ID` when it sent a usable one: kept and echoed, never a uniqueness key. */
  readonly clientRequestId: string | null;
  /** clock.now() when the request arrived. */
  readonly startedAt: number;
  /** The request's logger (telemetry adds the trace id when the request is traced). */
  log: ContextLogger;
  /**
   * Aborted on client disconnect (ClientClosedError) or when the total deadline passes (TimeoutError).
   * The call stage runs each upstream attempt on this controller (no second one per attempt); when an
   * attempt must end without the request (its own timeout, a failure, a stream cut short), `retireAbort`
   * gives the request a fresh controller and aborts the old one. So read `ctx.abort` when you need it;
   * never keep `ctx.abort.signal` across the call stage to learn whether the request was aborted.
   */
  abort: AbortController;
  readonly endpoint: EndpointName;
  /** The HTTP route that received it (`/v1/chat/completions`), for logs and spans. */
  readonly path: string;
  /** The route's path parameters (`/v1/prompts/{id}/completions`: `id`). */
  readonly params: Readonly<Record<string, string>>;
  /** The client's request headers (the cache reads Cache-Control, X-Cache-Bypass, X-Cache-TTL). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The client's address (behind a trusted proxy: the forwarded one); '' when unknown. */
  readonly clientIp: string;
  /** The body as received; `decode` parses it into `request`. */
  rawBody: string;
  principal: Principal | null;
  request: CanonicalRequest | null;
  route: Route | null;
  /** The route's deployments in the order the strategy chose for this request. */
  plan: readonly Deployment[] | null;
  readonly upstream: UpstreamProgress;
  readonly timings: StageTimings;
  readonly cache: CacheOutcome;
  /**
   * What answered: set once by the pipeline runner (json: at once; stream: when it ended), or by the guard
   * stage before it throws for an answer it withheld.
   */
  outcome: Outcome | null;
  /** How the request ended: set once, by settle. */
  end: RequestEnd | null;
  /** Final usage (reported, else estimated): assigned only by settle's cost step. */
  usage: Usage | null;
  /** Whether `usage` was counted by the gateway rather than reported. */
  usageEstimated: boolean;
  /** Upstream cost in USD; 0 for cache hits; null = unknown (unpriced model). Assigned only by settle. */
  costUsd: number | null;
  /** USD a cache hit saved. Assigned only by settle. */
  savedUsd: number;
  /** Extra response headers set by stages (rate limit, cache, cost); sent on success and on errors. */
  readonly responseHeaders: Record<string, string>;
  /** Lines a stream ends with, as SSE comments before `[DONE]` (the cost). */
  readonly trailers: string[];
  /** Per-stage typed state (see `Slot`). */
  readonly slots: Map<Slot<unknown>, unknown>;
}

export interface ContextInit {
  requestId: string;
  clientRequestId?: string | null;
  startedAt: number;
  log: ContextLogger;
  endpoint: EndpointName;
  /** HTTP route; defaults to `/<endpoint>`. */
  path?: string;
  params?: Readonly<Record<string, string>>;
  headers?: Readonly<Record<string, string | string[] | undefined>>;
  clientIp?: string;
  abort?: AbortController;
  /** Shared with another context (a single-flight call reports into its first participant's). */
  upstream?: UpstreamProgress;
  timings?: StageTimings;
  slots?: Map<Slot<unknown>, unknown>;
}

/** A new context with the shape fixed up front (stable hidden class on the hot path). */
export function createContext(init: ContextInit): RequestContext {
  return {
    requestId: init.requestId,
    clientRequestId: init.clientRequestId ?? null,
    startedAt: init.startedAt,
    log: init.log,
    abort: init.abort ?? new RequestAbort(),
    endpoint: init.endpoint,
    path: init.path ?? `/${init.endpoint}`,
    params: init.params ?? {},
    headers: init.headers ?? {},
    clientIp: init.clientIp ?? '',
    rawBody: '',
    principal: null,
    request: null,
    route: null,
    plan: null,
    upstream: init.upstream ?? {
      deployment: null,
      attempts: 0,
      fallbackCount: 0,
      billable: [],
      heard: null,
    },
    timings: init.timings ?? { auth: 0, resolve: 0, cache: 0, upstream: 0, wait: 0 },
    cache: { status: null, type: null },
    outcome: null,
    end: null,
    usage: null,
    usageEstimated: false,
    costUsd: null,
    savedUsd: 0,
    responseHeaders: {},
    trailers: [],
    slots: init.slots ?? new Map(),
  };
}

/**
 * Ends what ran on `controller` without ending the request (docs/decisions/0151): when it is still the
 * request's controller, the request gets a fresh one first, then `controller` aborts with `reason`, cutting
 * the upstream call that used its signal. Nothing happens when `controller` already aborted — then the
 * request itself was (client gone, total deadline), and it stays so.
 */
export function retireAbort(ctx: RequestContext, controller: AbortController, reason?: unknown): void {
  if (controller.signal.aborted) return;
  if (ctx.abort === controller) ctx.abort = new RequestAbort();
  controller.abort(reason);
}

/** The model the client asked for (null before decode). */
export function requestedModel(ctx: RequestContext): string | null {
  const model = ctx.request?.model ?? null;
  // A key pasted as the model (it is refused as unknown) is not logged, traced or stored (decision 0210).
  return model !== null && holdsGatewayKey(model) ? '[redacted]' : model;
}

/** The deployment that served (the outcome's), else the one tried last. */
export function servingDeployment(ctx: RequestContext): Deployment | null {
  return ctx.outcome?.deployment ?? ctx.upstream.deployment;
}

/** The upstream model that served (the provider's answer), when known. */
export function servedModel(ctx: RequestContext): string | null {
  return ctx.outcome?.servedModel ?? null;
}
