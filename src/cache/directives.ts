/**
 * The client's cache directives, from request headers (DESIGN §3): `Cache-Control: no-cache` or
 * `X-Cache-Bypass: true` (do not answer from the cache), `Cache-Control: no-store` (do not store the
 * answer), `X-Cache-TTL: <seconds>` (this entry's time to live).
 */
import { BadRequestError } from '../core/errors.js';

export interface CacheDirectives {
  /** Skip the lookup (and coalescing): always call upstream. The answer is still stored. */
  bypass: boolean;
  /** Do not store the answer. */
  noStore: boolean;
  /** Per-request TTL in seconds, or null for the default. */
  ttlSeconds: number | null;
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** No directive: what almost every request has (shared, never changed). */
const NONE: CacheDirectives = Object.freeze({ bypass: false, noStore: false, ttlSeconds: null });

/** @throws BadRequestError (400, `param: "X-Cache-TTL"`) when X-Cache-TTL is not a whole number in range. */
export function parseDirectives(headers: Headers, maxTtlSeconds: number): CacheDirectives {
  if (
    headers['cache-control'] === undefined &&
    headers['x-cache-bypass'] === undefined &&
    headers['x-cache-ttl'] === undefined
  )
    return NONE;
  const control = (header(headers, 'cache-control') ?? '')
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  const bypassHeader = (header(headers, 'x-cache-bypass') ?? '').trim().toLowerCase();
  const ttlHeader = header(headers, 'x-cache-ttl');
  let ttlSeconds: number | null = null;
  if (ttlHeader !== undefined) {
    const text = ttlHeader.trim();
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1 || n > maxTtlSeconds) {
      throw new BadRequestError(
        `X-Cache-TTL must be a whole number of seconds from 1 to ${maxTtlSeconds}; got "${text.slice(0, 40)}".`,
        'invalid_request',
        { param: 'X-Cache-TTL' },
      );
    }
    ttlSeconds = n;
  }
  return {
    bypass: control.includes('no-cache') || bypassHeader === 'true' || bypassHeader === '1',
    noStore: control.includes('no-store'),
    ttlSeconds,
  };
}
