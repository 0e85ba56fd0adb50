/**
 * Secure defaults for the listening address (DESIGN §7; docs/decisions/0084-secure-defaults.md).
 *
 * - No authentication configured (`auth.mode` resolved to `none` because neither AUTH_MODE, `auth.mode`
 *   nor GATEWAY_ADMIN_KEY says otherwise): the gateway listens on 127.0.0.1 unless HOST says where.
 * - HOST (or `server.host`) not on loopback with that implicit `none`: the configuration is refused, with
 *   both ways out in the message.
 * - `auth.mode: none` set explicitly (AUTH_MODE=none): any address is allowed; the gateway logs a warning
 *   at start when it is not loopback (main.ts, `openBindWarning`).
 */

/** The address a gateway without authentication listens on by default. */
export const LOOPBACK_HOST = '127.0.0.1';

/** Whether `host` only accepts connections from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  return /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Where the configuration's auth mode and host came from. */
export interface BindSources {
  /** `auth.mode` as resolved (defaults ← file ← GATEWAY_ADMIN_KEY ← AUTH_MODE). */
  mode: unknown;
  /** Set by AUTH_MODE or the file's `auth.mode` (not merely implied by the absence of an admin key). */
  modeExplicit: boolean;
  host: unknown;
  /** `server.host` given by HOST or the file; its env variable when it came from there. */
  hostGiven: boolean;
  hostEnv: string | undefined;
}

/**
 * Applies the secure bind default and returns the problems (at most one).
 * `setHost` is called with the loopback address when the host was left to the default without auth.
 */
export function checkBind(sources: BindSources, setHost: (host: string) => void): string[] {
  if (sources.mode !== 'none') return [];
  if (!sources.hostGiven) {
    setHost(LOOPBACK_HOST);
    return [];
  }
  if (typeof sources.host !== 'string' || isLoopbackHost(sources.host) || sources.modeExplicit) return [];
  const from = sources.hostEnv ? ` (from env ${sources.hostEnv})` : '';
  return [
    `server.host${from}: "${sources.host}" is not a loopback address and no authentication is configured, so anyone who can reach it could spend your provider keys. Either require API keys (set GATEWAY_ADMIN_KEY, or AUTH_MODE=keys), or run without authentication on purpose with AUTH_MODE=none (auth.mode: none)`,
  ];
}

/** The warning logged at start when the gateway runs without authentication on a non-loopback address. */
export function openBindWarning(config: { auth: { mode: string }; server: { host: string } }): string | null {
  if (config.auth.mode !== 'none' || isLoopbackHost(config.server.host)) return null;
  return `No authentication (auth.mode: none) and listening on ${config.server.host}: anyone who can reach this address can use the gateway and spend its provider keys. Set GATEWAY_ADMIN_KEY (or AUTH_MODE=keys) unless this network is trusted.`;
}
