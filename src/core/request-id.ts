/**
 * Request ids (DESIGN §7): the gateway mints its own id for every request — a UUIDv7, time-ordered, from the
 * injected clock — and uses it for usage records (their uniqueness key), traces, logs and upstream calls. A
 * client's `X-Request-ID` is only kept beside it (`client_request_id`) and echoed back; it is never a key.
 */
import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';
import type { Clock } from './clock.js';
import { holdsGatewayKey } from './secret-shape.js';

/** Response header carrying the gateway's own id on every answer. */
export const GATEWAY_REQUEST_ID_HEADER = 'x-gateway-request-id';

/**
 * The gateway's own id again, under the name the Anthropic SDK reads (`message._request_id`,
 * `APIError.requestID`): the id to quote when asking about a request, as with Anthropic's API. On every
 * answer: a constant name and a string already at hand, so it costs one header line (docs/decisions/0206).
 */
export const REQUEST_ID_HEADER = 'request-id';

/**
 * The request id headers of every answer: `X-Gateway-Request-ID` (the gateway's own UUIDv7) and
 * `X-Request-ID` (the client's, echoed, when it sent a usable one; else the gateway's), and `request-id`
 * (the gateway's, for the Anthropic SDK).
 */
export function requestIdHeaders(id: string, clientId: string | null): Record<string, string> {
  return { [GATEWAY_REQUEST_ID_HEADER]: id, [REQUEST_ID_HEADER]: id, 'x-request-id': clientId ?? id };
}

/** Ids whose random bytes are drawn in one call. */
const RANDOM_POOL_IDS = 256;

/** 1–128 printable ASCII characters (space to tilde): safe to echo in a header and to log. */
const CLIENT_REQUEST_ID = /^[\x20-\x7e]{1,128}$/;

/**
 * A source of UUIDv7 request ids: milliseconds from `clock.wallNow()`, and within one millisecond a
 * counter started at a random value (RFC 9562 §6.2 method 1), so ids of one process sort in issue order.
 *
 * @example
 * const ids = createRequestIds(clock);
 * ids.next(); // '01970f7c-5d2a-7b3e-9a41-…'
 */
export function createRequestIds(clock: Pick<Clock, 'wallNow'>): { next(): string } {
  let msecs = Number.NEGATIVE_INFINITY;
  let seq = 0;
  // Random bytes for 256 ids filled at once: one `randomFillSync` per id was ≈ 2 % of a request's CPU.
  const pool = new Uint8Array(16 * RANDOM_POOL_IDS);
  const view = new DataView(pool.buffer);
  let offset = pool.length;
  return {
    next() {
      if (offset === pool.length) {
        randomFillSync(pool);
        offset = 0;
      }
      const at = offset;
      offset += 16;
      const random = pool.subarray(at, at + 16);
      const now = Math.floor(clock.wallNow());
      if (now > msecs) {
        msecs = now;
        // A fresh millisecond starts the counter at a random 31-bit value (leaves room to count up).
        seq = view.getUint32(at + 6) & 0x7fffffff;
      } else {
        // Same millisecond (or a clock that went back): keep counting from where this process was.
        seq = (seq + 1) | 0;
        if (seq === 0) msecs++;
      }
      return v7({ msecs, seq, random });
    },
  };
}

/**
 * The client's `X-Request-ID` when it is usable (one value, 1–128 printable ASCII characters, not holding a
 * gateway API key: it would be logged, traced and stored), else null.
 */
export function clientRequestId(header: string | string[] | undefined): string | null {
  return typeof header === 'string' && CLIENT_REQUEST_ID.test(header) && !holdsGatewayKey(header)
    ? header
    : null;
}
