/**
 * The stage contract (DESIGN §2): `(ctx, next) => Promise<Result>`, like Koa/Hono middleware or undici
 * interceptors. A stage may answer early (a cache hit, a 429), wrap `next` (retry, timing), or transform
 * the result; it never reaches around another stage. Stages are composed once, at start-up.
 *
 * After the result is known, `settle` steps run exactly once per request (in order, errors logged and
 * swallowed): they read the outcome and never change it.
 */
import type { RequestContext } from './context.js';
import type { Result } from './result.js';

export type Next = (ctx: RequestContext) => Promise<Result>;

export interface Stage {
  readonly name: string;
  run(ctx: RequestContext, next: Next): Promise<Result>;
}

/** A step run when a request arrives, before its body is read (telemetry opens the trace here). */
export interface OpenStep {
  readonly name: string;
  open(ctx: RequestContext): void;
}

/** One step of the settlement that runs once per request, after it ended either way. */
export interface SettleStep {
  readonly name: string;
  settle(ctx: RequestContext): void | Promise<void>;
}

/**
 * Composes stages around a terminal handler, once. `compose([a, b], call)(ctx)` runs a → b → call.
 *
 * @example
 * const handle = compose([authenticate, decode, admit], call);
 * const result = await handle(ctx);
 */
export function compose(stages: readonly Stage[], terminal: Next): Next {
  let next = terminal;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i] as Stage;
    const inner = next;
    next = (ctx) => stage.run(ctx, inner);
  }
  return next;
}

/**
 * A stage from a name and a function (most stages are one function).
 *
 * A stage with nothing to wait for in the common case returns `next(ctx)` itself instead of being an
 * `async` function (each async stage costs every request a promise and microtask hops); it may then throw
 * synchronously, and the stage made here turns that into a rejected promise, as an async function would:
 * callers of `run` (and of a composed `Next`) always get a promise.
 *
 * @example stage('route', (ctx, next) => { ctx.plan = order(ctx); return next(ctx); })
 */
export function stage(name: string, run: Stage['run']): Stage {
  return {
    name,
    run(ctx, next) {
      try {
        return run(ctx, next);
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}
