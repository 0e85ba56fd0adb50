/**
 * Fault attribution (DESIGN §5, §7 Isolation): which failures say something about a deployment — and so
 * count against its circuit breaker — and which are the request's own doing. A breaker is shared by every
 * tenant; one tenant's oversized requests must not open it for everyone (docs/decisions/0083).
 *
 * - Deployment faults: 5xx, connection errors, a provider 429 (rate pressure on the deployment's account,
 *   which every caller of it shares), and timeouts of requests that should have fitted in their time.
 * - Not faults: the provider rejecting the request (4xx: 400/401/404/413/422, context length), the client
 *   going away, a spent quota (429 `insufficient_quota`: an open breaker would turn the client's clear 429
 *   into 503s; docs/decisions/0206), and a timeout of a request whose own expected duration — its output
 *   limit times the deployment's expected time per output token — is longer than the time it was given.
 */
import type { CanonicalRequest } from '../core/context.js';
import {
  ClientClosedError,
  GatewayError,
  OversizedRequestTimeoutError,
  TimeoutError,
} from '../core/errors.js';
import type { Deployment } from './resolver.js';

/**
 * How long a request may take to produce its answer on a healthy deployment, beyond the usual overhead:
 * the output limit the upstream works to × `msPerOutputToken`. That limit is the client's plus the
 * thinking budget the deployment's adapter adds for a reasoning effort (`thinkingTokens`: Anthropic,
 * Gemini). Only whole (non-stream) chat answers: a stream's timeout bounds the wait for its first event,
 * which its output limit does not lengthen; without an output limit (and no thinking) the model decides
 * the length and the request is assumed ordinary (0). Choices (`n`) are generated side by side, so they
 * do not add up.
 */
export function expectedOutputMs(
  request: CanonicalRequest | null,
  msPerOutputToken: number,
  deployment?: Pick<Deployment, 'adapter' | 'model'>,
): number {
  if (request?.kind !== 'chat' || request.stream || !(msPerOutputToken > 0)) return 0;
  const client = request.body.max_completion_tokens ?? request.body.max_tokens;
  const thinking = deployment?.adapter.thinkingTokens?.(request.body, deployment.model) ?? 0;
  const limit = (typeof client === 'number' && client > 0 ? client : 0) + thinking;
  return limit > 0 ? limit * msPerOutputToken : 0;
}

/**
 * A timeout of a request that needed more than `allowedMs` (its expected duration, `expectedMs`, is
 * longer) becomes an `OversizedRequestTimeoutError`: not retried, not held against the deployment, and it
 * tells the client what to change. Any other error is returned as it is.
 */
export function attributeTimeout(err: unknown, expectedMs: number, allowedMs: number): unknown {
  if (!(err instanceof TimeoutError) || err instanceof OversizedRequestTimeoutError) return err;
  if (!(expectedMs > allowedMs)) return err;
  return new OversizedRequestTimeoutError(
    `${err.provider} did not answer within ${Math.round(allowedMs)} ms, and this request may need about ` +
      `${Math.round(expectedMs / 1000)} s for its output limit. Lower max_tokens, stream the answer (the ` +
      'timeout then bounds only the wait for the first token), or raise LLM_TIMEOUT.',
    err.provider,
    { upstreamStatus: err.upstreamStatus, cause: err },
  );
}

/**
 * Whether a failed pass over a deployment counts against its breaker: retriable provider failures
 * (timeouts, 5xx, connection errors, 429), except when the client went away or the timeout was the
 * request's own (`attributeTimeout`). `request` is the request's abort signal.
 */
export function isDeploymentFault(err: unknown, request: AbortSignal): boolean {
  if (err instanceof ClientClosedError) return false;
  // Aborted by the client (not by the total deadline, which a slow deployment does earn).
  if (request.aborted && !(request.reason instanceof TimeoutError)) return false;
  return err instanceof GatewayError && err.isRetryable;
}
