/**
 * The configuration as `GET /admin/config` shows it (DESIGN §7: admin output never shows secrets): URL
 * credentials masked (`redis://:***@host`, `?password=***`) wherever a URL appears (DATABASE_URL,
 * REDIS_URL, base URLs, the OTLP endpoint …), the alert webhook URL (its path is the secret) and extra
 * provider header values hidden (they often carry tokens), key hashes left out.
 */
import type { Config } from './schema.js';

const HIDDEN = '[redacted]';

/** A deep copy of `config` that is safe to show to an operator. */
export function publicConfig(config: Readonly<Config>): unknown {
  return scrub(config, []);
}

function scrub(value: unknown, path: readonly string[]): unknown {
  if (typeof value === 'string') return scrubString(value, path);
  if (Array.isArray(value)) return value.map((v) => scrub(v, path));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === 'key_sha256') continue;
    const inner = [...path, key];
    // Provider header values: names are shown, values are not.
    if (path.at(-1) === 'headers' && typeof v === 'string') out[key] = HIDDEN;
    else out[key] = scrub(v, inner);
  }
  return out;
}

function scrubString(value: string, path: readonly string[]): string {
  if (path.at(-1) === 'alert_webhook_url') return HIDDEN;
  return maskUrlCredentials(value);
}

/** Query parameters whose values are secrets (`?password=…` in a PostgreSQL URL, `?token=…`, `?sig=…`). */
const SECRET_PARAM = /pass|secret|token|key|auth|sig|credential/i;

/**
 * `scheme://user:password@host/…` → `scheme://user:***@host/…`, and secret-looking query parameter values
 * → `***`; anything that is not a URL unchanged.
 */
export function maskUrlCredentials(value: string): string {
  const hasUserinfo = /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(value);
  const hasQuery = /^[a-z][a-z0-9+.-]*:\/\/[^?]*\?/i.test(value);
  if (!hasUserinfo && !hasQuery) return value;
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    else if (url.username) url.username = '***';
    for (const name of [...url.searchParams.keys()]) {
      if (SECRET_PARAM.test(name)) url.searchParams.set(name, '***');
    }
    return url.toString();
  } catch {
    return value.replace(/\/\/[^/@]*@/, '//***@').replace(/\?.*$/, '?***');
  }
}
