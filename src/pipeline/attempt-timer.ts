/**
 * The one timer of an upstream attempt (docs/decisions/0151, 0225): it fires at whichever comes first of
 * the attempt's own timeout and the request's total deadline. The first only retires the attempt's
 * controller (the request goes on with a fresh one: a retry, a fallback), the second aborts the request.
 *
 * A stream attempt is bounded by these only until its upstream's first event (decision 0003: "the wait for
 * the first chunk"). An upstream that already began its answer — a thinking phase, keep-alive pings, which
 * the translation turns into no chunk — is not cut when the timer fires while it was heard within the
 * stream idle timeout: the timer waits on, and the attempt ends only once the upstream is silent that long
 * (the same bound the writer applies once the stream reached the client).
 */
import { type RequestContext, retireAbort } from '../core/context.js';
import { TimeoutError } from '../core/errors.js';
import type { StreamLiveness } from '../core/liveness.js';

/** What an attempt's timer ends when it fires, and how it decides. */
export interface AttemptTimer {
  readonly ctx: RequestContext;
  readonly controller: AbortController;
  readonly provider: string;
  /** true: the attempt's own timeout (it comes first); false: the request's total deadline. */
  readonly perAttempt: boolean;
  readonly attemptTimeoutMs: number;
  readonly totalTimeoutMs: number;
  /** Silence that ends a stream attempt whose upstream already sent an event. */
  readonly idleTimeoutMs: number;
  /** The stream attempt's liveness (null for whole answers). */
  readonly heard: StreamLiveness | null;
  handle: NodeJS.Timeout | undefined;
}

/** Starts the timer: it fires after `ms`. */
export function startAttemptTimer(t: AttemptTimer, ms: number): AttemptTimer {
  t.handle = setTimeout(onAttemptTimer, ms, t);
  return t;
}

/** Stops it (the attempt ended either way). */
export function stopAttemptTimer(t: AttemptTimer): void {
  clearTimeout(t.handle);
}

function onAttemptTimer(t: AttemptTimer): void {
  const heard = t.heard;
  if (heard?.answering) {
    const quiet = heard.quietMs();
    if (quiet < t.idleTimeoutMs) {
      t.handle = setTimeout(onAttemptTimer, t.idleTimeoutMs - quiet, t);
      return;
    }
    // Silent for the idle timeout before the first chunk: nothing reached the client, so it is retriable.
    retireAbort(
      t.ctx,
      t.controller,
      new TimeoutError(
        `${t.provider} sent nothing for ${t.idleTimeoutMs} ms before its first chunk.`,
        t.provider,
      ),
    );
    return;
  }
  if (t.perAttempt) {
    retireAbort(
      t.ctx,
      t.controller,
      new TimeoutError(`${t.provider} did not answer within ${t.attemptTimeoutMs} ms.`, t.provider),
    );
    return;
  }
  const provider = t.ctx.upstream.deployment?.provider ?? 'upstream';
  t.ctx.abort.abort(
    new TimeoutError(`No answer within the total timeout of ${t.totalTimeoutMs} ms.`, provider),
  );
}
