/**
 * Admin authentication: every `/admin/*` route needs `Authorization: Bearer <GATEWAY_ADMIN_KEY>`. The key
 * is compared in constant time (over SHA-256 digests, so its length does not leak either). Without
 * GATEWAY_ADMIN_KEY the admin API is disabled and answers 401 saying so.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthenticationError } from '../core/errors.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** @throws AuthenticationError (401) unless the header carries the admin key. */
export function checkAdmin(adminKey: string | null, authorization: string | undefined): void {
  if (!adminKey) {
    throw new AuthenticationError('The admin API is disabled: set GATEWAY_ADMIN_KEY to enable it.');
  }
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!match?.[1]) {
    throw new AuthenticationError(
      'Admin endpoints need the admin key: Authorization: Bearer <GATEWAY_ADMIN_KEY>.',
    );
  }
  if (!timingSafeEqual(digest(match[1].trim()), digest(adminKey))) {
    throw new AuthenticationError('Invalid admin key.');
  }
}
