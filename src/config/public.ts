/**
 * The configuration as `GET /admin/config` shows it (DESIGN §7: admin output never shows secrets): URL
 * credentials masked (`redis://:***@host`), the alert webhook URL and extra provider header values hidden
 * (they often carry tokens), key hashes left out.
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

/** `scheme://user:password@host/…` → `scheme://user:***@host/…`; anything else unchanged. */
export function maskUrlCredentials(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(value)) return value;
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    else if (url.username) url.username = '***';
    return url.toString();
  } catch {
    return value.replace(/\/\/[^/@]*@/, '//***@');
  }
}
