/**
 * Addresses of the gateway's stores, checked by parsing them as the drivers will (audit G, F5): a
 * `DATABASE_URL` and a `REDIS_URL` with the WHATWG `URL` parser (node-postgres parses with it too), the Redis
 * Cluster and Sentinel `host:port` lists with a port from 1 to 65535. A prefix check let `:99999` and
 * unparsable URLs through; the gateway then started "ready" and retried for ever.
 *
 * Each check returns what is wrong in words, or null. The words never repeat the value (a URL may hold a
 * password); at most the port, which is only digits. The schema names the checks as string formats
 * (`ADDRESS_FORMATS`), so their problems are listed with every other one.
 *
 * @example
 * postgresUrlProblem('postgres://u:pw@db:99999/gw'); // 'port 99999 is not from 1 to 65535'
 */

/** A port as text: null when it is a number from 1 to 65535, else the problem. */
function portProblem(port: string): string | null {
  if (port.includes(',')) return 'one host only (a list of hosts is not supported)';
  if (!/^\d+$/.test(port)) return 'the port must be a number from 1 to 65535';
  const n = Number(port);
  return n >= 1 && n <= 65_535 ? null : `port ${n} is not from 1 to 65535`;
}

/** Why a URL did not parse, when its port says so (the value itself is never shown). */
function unparsable(value: string): string {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(value)?.[1] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostPort)?.[1];
  const problem = port === undefined || port === '' ? null : portProblem(port);
  return (
    problem ??
    'not a valid URL (check the host and the port, and percent-encode special characters in the user and password)'
  );
}

/** `URL.parse` (Node 22) for Node 20. */
function parseUrl(text: string): URL | null {
  return URL.canParse(text) ? new URL(text) : null;
}

/** Problems shared by both URL kinds, once parsed. */
function parsedProblem(url: URL): string | null {
  return url.port === '' ? null : portProblem(url.port);
}

/**
 * A PostgreSQL connection URL as node-postgres reads it: spaces and stray `%` encoded first, and an empty
 * host (`postgres://user@/db`, a Unix socket chosen by `?host=`) allowed.
 */
export function postgresUrlProblem(value: string): string | null {
  if (!/^postgres(ql)?:\/\//i.test(value)) return 'expected a postgres:// or postgresql:// URL';
  let text = value;
  if (/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(text)) text = encodeURI(text).replace(/%25(\d\d)/g, '%$1');
  const url = parseUrl(text) ?? parseUrl(text.replace('@/', '@localhost/'));
  return url ? parsedProblem(url) : unparsable(value);
}

/** A Redis URL: redis:// or rediss://, a valid host and port, and a database index when a path is given. */
export function redisUrlProblem(value: string): string | null {
  if (!/^rediss?:\/\//i.test(value)) return 'expected a redis:// or rediss:// URL';
  const url = parseUrl(value);
  if (!url) return unparsable(value);
  if (url.hostname === '') return 'the URL has no host';
  if (!/^\/?(\d+)?$/.test(url.pathname)) return 'the path must be a database index (redis://host:6379/0)';
  return parsedProblem(url);
}

/** `host:port`: a host name, IPv4 address or bracketed IPv6 address, and a port from 1 to 65535. */
export function hostPortProblem(value: string): string | null {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]@]+):([^:]*)$/.exec(value);
  if (!match) return 'expected host:port (an IPv6 address in brackets: [::1]:6379)';
  const problem = portProblem(match[2] as string);
  if (problem) return problem;
  return parseUrl(`redis://${value}`) ? null : 'expected host:port (the host is not a valid host name)';
}

/** The string formats of the schema (`T.String({ format })`) backed by these checks. */
export const ADDRESS_FORMATS: Record<string, (value: string) => string | null> = {
  'postgres-url': postgresUrlProblem,
  'redis-url': redisUrlProblem,
  'host-port': hostPortProblem,
};
