/**
 * Which failed upstream attempts the provider may bill (DESIGN §7; docs/decisions/0082): the call stage
 * records each in `ctx.upstream.billable`, and settle's cost step charges it at an estimate.
 */
import type { RequestContext } from '../core/context.js';
import {
  ClientClosedError,
  GatewayError,
  ProviderError,
  ProviderUnavailableError,
  ServiceUnavailableError,
  TimeoutError,
} from '../core/errors.js';
import { isConnectFailure } from '../providers/http.js';
import type { Deployment } from '../routing/resolver.js';

/** What one attempt saw of the provider (filled in by the attempt's `run`). */
export interface AttemptProgress {
  /** The provider accepted the request (a 2xx status: a stream opened). */
  accepted: boolean;
  /** Output text streamed before the attempt ended (the opening chunks; bounded by MAX_HEAD_CHUNKS). */
  streamed: string;
}

/**
 * Records a failed attempt the provider may bill (DESIGN §7; docs/decisions/0082) in `ctx.upstream.billable`:
 * - it accepted the request (a stream opened): what it streamed, plus the prompt;
 * - it answered 2xx with a body the gateway could not use: unseen, so the worst case;
 * - the request was sent and no answer came (timeout, client abort, shutdown, connection lost): nothing was seen of
 *   what the provider did, so the worst case (the reservation, DESIGN §7), for a stream as for a whole
 *   answer — a client cannot leave every stream just before its first token to pay for its prompt only.
 * Not billed: an HTTP error status (4xx, 429, 5xx: the provider refused the work) and a connection that
 * never opened. (A request still queued for a pooled connection when it timed out counts as sent: the
 * gateway cannot tell the two apart; over-counting is the safe side for a budget.)
 */
export function noteBillable(
  ctx: RequestContext,
  d: Deployment,
  err: unknown,
  progress: AttemptProgress,
): void {
  let streamed: string | null;
  if (progress.accepted) streamed = progress.streamed;
  else if (err instanceof ProviderError && err.upstreamStatus !== undefined) {
    if (err.upstreamStatus >= 300) return;
    streamed = null;
  } else if (isConnectFailure(err)) return;
  else if (
    err instanceof TimeoutError ||
    err instanceof ClientClosedError ||
    err instanceof ProviderUnavailableError ||
    // The gateway shutting down cut the wait (shutdown.ts): the provider got the request all the same.
    err instanceof ServiceUnavailableError
  ) {
    streamed = null;
  } else return; // refused before sending (the adapter's own validation) or a gateway bug
  ctx.upstream.billable.push({ deployment: d, streamed, code: errorCode(err) });
}

function errorCode(err: unknown): string {
  return err instanceof GatewayError ? err.code : 'internal_error';
}
