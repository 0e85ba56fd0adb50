/**
 * Token counting by a provider, shared by `/v1/messages/count_tokens` and `/v1/responses/input_tokens`: the
 * first deployment of the route (in its order) with a counter for the request's native API counts; each
 * call is bounded by `timeoutMs` (`upstream.timeout_ms`: a provider that hangs times out and the count
 * moves on); an error for which `passOn` holds moves on to the next deployment, then to the caller's local
 * count (null); any other error, or the client leaving, is thrown.
 */
import { standardSignal } from '../core/abort.js';
import type { NativeRequest } from '../core/context.js';
import { GatewayError, TimeoutError } from '../core/errors.js';
import type { Deployment } from '../routing/resolver.js';

export interface ProviderCountOptions {
  signal: AbortSignal;
  requestId: string;
  timeoutMs: number;
  /** The route's name in the timeout's message (`count_tokens`, `input_tokens`). */
  what: string;
  /** Errors after which the next deployment (then the local count) is tried. */
  passOn: (err: GatewayError) => boolean;
}

/** The first count of a deployment that counts natively (route order); null when none did. */
export async function providerCount(
  native: NativeRequest,
  deployments: readonly Deployment[],
  options: ProviderCountOptions,
): Promise<number | null> {
  for (const d of deployments) {
    if (!d.adapter.countTokens || !d.adapter.nativeApis?.includes(native.api)) continue;
    const timeout = new AbortController();
    const timer = setTimeout(() => {
      const message = `${d.provider} did not answer ${options.what} within ${options.timeoutMs} ms.`;
      timeout.abort(new TimeoutError(message, d.provider));
    }, options.timeoutMs);
    try {
      const signal = AbortSignal.any([standardSignal(options.signal), timeout.signal]);
      return await d.adapter.countTokens(native, {
        model: d.model,
        signal,
        requestId: options.requestId,
        native,
      });
    } catch (err) {
      if (!(err instanceof GatewayError && options.passOn(err)) || options.signal.aborted) throw err;
    } finally {
      clearTimeout(timer);
    }
  }
  return null;
}
