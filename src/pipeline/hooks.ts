/**
 * The request lifecycle's extension points (DESIGN §2). Features — rate limits, budgets, cost accounting,
 * metrics, tracing — plug in as `RequestHook`s instead of editing the routes:
 *
 *   auth (onRequest) → validate → resolve → admit* → cache / router / provider → respond* → send → finish*
 *
 * - `admit` runs before the cache and any provider call; it may refuse the request by throwing a
 *   GatewayError (429 rate limit, 429 budget, 403 …). Hooks run in order; a later hook is not called once
 *   one refused, but every hook whose `admit` ran still gets `finish` (to release what it reserved).
 * - `respond` runs when the answer is known and before its headers are written (non-stream: the whole body
 *   and usage; stream: the opening chunks only). Hooks set headers through `ctx.responseHeaders`.
 * - `streamEnd` runs when a stream ended normally, just before `data: [DONE]`; the lines it returns are
 *   written as SSE comments (`: <line>`), which clients ignore — a trailer for what is known only at the
 *   end (the cost). Errors in it are logged and ignored.
 * - `finish` runs exactly once per request that reached a route, after the response ended either way
 *   (success, error, client gone). It must not throw and must not block: slow work goes to a queue.
 *
 * The cache is not a hook: it wraps the chat pipeline (`ChatPipeline`), because a hit replaces the call.
 */
import type { GatewayError } from '../errors.js';
import type { RequestContext } from './context.js';

export interface RequestOutcome {
  status: number;
  error: GatewayError | null;
  /** Streams: whether the stream ended normally with [DONE]. Non-stream: status < 400. */
  complete: boolean;
}

export interface RequestHook {
  readonly name: string;
  admit?(ctx: RequestContext): void | Promise<void>;
  respond?(ctx: RequestContext): void;
  streamEnd?(ctx: RequestContext): string | null | Promise<string | null>;
  finish?(ctx: RequestContext, outcome: RequestOutcome): void;
}

/** Runs the hooks of one gateway in a fixed order. */
export class HookRunner {
  readonly #hooks: RequestHook[];
  readonly #admit: RequestHook[];
  readonly #respond: RequestHook[];
  readonly #streamEnd: RequestHook[];
  readonly #finish: RequestHook[];
  readonly #onFinishError: (hook: string, err: unknown) => void;

  constructor(hooks: RequestHook[], onFinishError: (hook: string, err: unknown) => void) {
    this.#hooks = hooks;
    this.#admit = hooks.filter((h) => h.admit);
    this.#respond = hooks.filter((h) => h.respond);
    this.#streamEnd = hooks.filter((h) => h.streamEnd);
    this.#finish = hooks.filter((h) => h.finish);
    this.#onFinishError = onFinishError;
  }

  get names(): string[] {
    return this.#hooks.map((h) => h.name);
  }

  async admit(ctx: RequestContext): Promise<void> {
    const admitted: string[] = [];
    ctx.hookState.admitted = admitted;
    for (const hook of this.#admit) {
      admitted.push(hook.name);
      await hook.admit?.(ctx);
    }
  }

  respond(ctx: RequestContext): void {
    for (const hook of this.#respond) hook.respond?.(ctx);
  }

  /** The SSE comment lines of the `streamEnd` hooks (empty when none). Never throws. */
  async streamEnd(ctx: RequestContext): Promise<string> {
    let text = '';
    for (const hook of this.#streamEnd) {
      try {
        const line = await hook.streamEnd?.(ctx);
        if (line) text += `: ${line.replace(/[\r\n]+/g, ' ')}\n\n`;
      } catch (err) {
        this.#onFinishError(hook.name, err);
      }
    }
    return text;
  }

  /** Calls `finish` on every hook (its `admit` ran, or it has no `admit`). Never throws. */
  finish(ctx: RequestContext, outcome: RequestOutcome): void {
    if (ctx.hookState.finished === true) return;
    ctx.hookState.finished = true;
    const admitted = ctx.hookState.admitted as string[] | undefined;
    for (const hook of this.#finish) {
      if (hook.admit && !admitted?.includes(hook.name)) continue;
      try {
        hook.finish?.(ctx, outcome);
      } catch (err) {
        this.#onFinishError(hook.name, err);
      }
    }
  }
}
