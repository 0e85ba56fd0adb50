/**
 * Builds the one configuration object: defaults ← YAML file ← environment, then validates it against the
 * schema and freezes it. Every problem is collected and reported at once, each with its path (and the env
 * variable it came from).
 */
import { readFileSync } from 'node:fs';
import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { Value, type ValueError, ValueErrorType } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { ADDRESS_FORMATS } from './address.js';
import { checkBind } from './bind.js';
import { defaultConfig, PROVIDER_DEFAULTS } from './defaults.js';
import { ENV_MAP, type EnvKind } from './env-map.js';
import { feedbackMetricProblems } from './feedback-check.js';
import { redisProblems } from './redis-schema.js';
import { type Config, ConfigSchema } from './schema.js';

/** Thrown when the configuration is invalid; `problems` lists every one. */
export class ConfigError extends Error {
  readonly problems: string[];
  /** `file`: the config file read, named in the message (problems from the environment name their variable). */
  constructor(problems: string[], file?: string) {
    const where = file ? ` (config file ${file})` : '';
    super(`Invalid configuration${where}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadOptions {
  /** The environment (main.ts passes process.env). */
  env: Record<string, string | undefined>;
  /** Path of the YAML file (`--config` or GATEWAY_CONFIG); none = defaults and env only. */
  file?: string | undefined;
  /** YAML text given directly (tests). */
  yamlText?: string | undefined;
}

type Json = Record<string, unknown>;

let formatsRegistered = false;
function registerFormats(): void {
  if (formatsRegistered) return;
  formatsRegistered = true;
  FormatRegistry.Set('uri', (v) => URL.canParse(v) && /^https?:\/\//i.test(v));
  FormatRegistry.Set('date-time', (v) => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d{2}-\d{2}T/.test(v));
  // The stores' addresses are parsed as their drivers will (address.ts); describe() says what is wrong.
  for (const [name, problem] of Object.entries(ADDRESS_FORMATS)) FormatRegistry.Set(name, (v) => !problem(v));
}

/**
 * Loads, validates and freezes the configuration.
 *
 * @example
 * const config = loadConfig({ env: process.env, file: process.env.GATEWAY_CONFIG });
 * @throws ConfigError listing every problem.
 */
export function loadConfig(options: LoadOptions): Readonly<Config> {
  registerFormats();
  const problems: string[] = [];
  const config = defaultConfig() as unknown as Json;

  const fileData = readYaml(options, problems);
  if (fileData !== undefined) mergeFile(config, fileData);
  // Keys are required as soon as there is an admin to create them; AUTH_MODE or the file still decide.
  const fileAuth = fileData?.auth;
  if (!(isObject(fileAuth) && 'mode' in fileAuth) && options.env.GATEWAY_ADMIN_KEY) {
    setPath(config, 'auth.mode', 'keys');
  }

  const sources = applyEnv(config, options.env, problems);
  // Secure defaults: no auth → loopback unless HOST says otherwise (and then AUTH_MODE=none must too).
  const fileServer = fileData?.server;
  problems.push(
    ...checkBind(
      {
        mode: isObject(config.auth) ? config.auth.mode : undefined,
        modeExplicit: sources.has('auth.mode') || (isObject(fileAuth) && 'mode' in fileAuth),
        host: isObject(config.server) ? config.server.host : undefined,
        hostGiven: sources.has('server.host') || (isObject(fileServer) && 'host' in fileServer),
        hostEnv: sources.get('server.host'),
      },
      (host) => setPath(config, 'server.host', host),
    ),
  );
  readRoutesFile(config, problems);
  {
    Value.Default(ConfigSchema, config);
    const seen = new Set<string>();
    for (const error of Value.Errors(ConfigSchema, config)) {
      const path = error.path.slice(1).replaceAll('/', '.') || '(root)';
      if (seen.has(path)) continue; // one problem per field: the first is the most telling
      seen.add(path);
      // An item of a list from the environment (REDIS_CLUSTER_NODES) names the list's variable.
      const from = sources.get(path) ?? sources.get(path.replace(/\.\d+$/, ''));
      problems.push(`${path}${from ? ` (from env ${from})` : ''}: ${describe(error)}`);
    }
  }
  // Cross-field checks read a possibly malformed object: each is skipped where its shape is wrong.
  problems.push(...crossCheck(config));
  if (problems.length > 0) throw new ConfigError(problems, options.file);
  return deepFreeze(config as unknown as Config);
}

function readYaml(options: LoadOptions, problems: string[]): Json | undefined {
  let text = options.yamlText;
  const label = options.file ?? 'config';
  if (text === undefined && options.file) {
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (err) {
      problems.push(`${options.file}: cannot read the config file (${(err as Error).message})`);
      return undefined;
    }
  }
  if (text === undefined) return undefined;
  try {
    const data: unknown = parseYaml(text);
    if (data === null || data === undefined) return undefined;
    if (typeof data !== 'object' || Array.isArray(data)) {
      problems.push(`${label}: the top level must be a mapping`);
      return undefined;
    }
    return data as Json;
  } catch (err) {
    // Only the parser's reason and position: its quoted excerpt of the file could hold a password (a
    // database URL, a header value) and this message goes to logs.
    const reason = (err as Error).message.split(':\n')[0];
    problems.push(`${label}: not valid YAML (${reason})`);
    return undefined;
  }
}

/** Merges the file over the defaults. Provider entries merge over built-ins of the same name. */
function mergeFile(config: Json, file: Json): void {
  for (const [key, value] of Object.entries(file)) {
    const current = config[key];
    if (key === 'providers' && isObject(value) && isObject(current)) {
      for (const [name, p] of Object.entries(value)) {
        // A new provider starts from the per-provider defaults; a built-in one from its built-in entry.
        const base = current[name] ?? PROVIDER_DEFAULTS;
        current[name] = isObject(base) && isObject(p) ? { ...base, ...p } : p;
      }
    } else if (key === 'routes' && isObject(value)) {
      config[key] = Object.fromEntries(
        Object.entries(value).map(([alias, r]) => [alias, isObject(r) ? { strategy: 'failover', ...r } : r]),
      );
    } else if (key === 'routing' && isObject(value) && isObject(current)) {
      // Two levels: `routing.breaker.cooldown_ms` alone keeps the other breaker defaults.
      const merged: Json = { ...current };
      for (const [k, v] of Object.entries(value)) {
        merged[k] = isObject(v) && isObject(current[k]) ? { ...current[k], ...v } : v;
      }
      config[key] = merged;
    } else if (isObject(value) && isObject(current)) {
      config[key] = { ...current, ...value };
    } else {
      config[key] = value;
    }
  }
}

/**
 * Adds the routes of `routing.routes_file` (a `routes:` mapping, or aliases at the top level). An alias in
 * both places is a problem, so no route silently shadows another.
 */
function readRoutesFile(config: Json, problems: string[]): void {
  const routing = config.routing;
  const file = isObject(routing) ? routing.routes_file : undefined;
  if (typeof file !== 'string' || file === '') return;
  const data = readYaml({ env: {}, file }, problems);
  if (data === undefined) return;
  const routes = isObject(data.routes) ? data.routes : data;
  const existing = isObject(config.routes) ? config.routes : {};
  for (const [alias, r] of Object.entries(routes)) {
    if (Object.hasOwn(existing, alias)) {
      problems.push(`${file}: route "${alias}" is also defined in the main config`);
      continue;
    }
    existing[alias] = isObject(r) ? { strategy: 'failover', ...r } : r;
  }
  config.routes = existing;
}

function applyEnv(config: Json, env: LoadOptions['env'], problems: string[]): Map<string, string> {
  const sources = new Map<string, string>();
  for (const [name, path, kind] of ENV_MAP) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = convert(raw, kind);
    if (value === undefined) {
      problems.push(`${path} (from env ${name}): expected ${ENV_EXPECTED[kind]}, got "${raw}"`);
      continue;
    }
    setPath(config, path, value);
    sources.set(path, name);
  }
  // Base-URL overrides with the names the official SDKs use (OPENAI_BASE_URL …); setting one for a
  // keyless provider (OLLAMA_BASE_URL) also enables it.
  const providers = config.providers;
  if (isObject(providers)) {
    for (const [name, p] of Object.entries(providers)) {
      if (!isObject(p) || typeof p.base_url_env !== 'string') continue;
      const url = env[p.base_url_env];
      if (!url) continue;
      p.base_url = url;
      if (p.requires_api_key === false) p.enabled = true;
      sources.set(`providers.${name}.base_url`, p.base_url_env);
    }
  }
  if (env.AZURE_OPENAI_API_VERSION || env.OPENAI_API_VERSION) {
    setPath(config, 'providers.azure.api_version', env.AZURE_OPENAI_API_VERSION || env.OPENAI_API_VERSION);
  }
  return sources;
}

const ENV_EXPECTED: Record<EnvKind, string> = {
  bool: 'true or false',
  int: 'a whole number',
  number: 'a number',
  seconds: 'a number of seconds, 0 or more',
  string: 'text',
  list: 'a comma-separated list',
};

/** What a string schema accepts, in words; the value itself is never repeated (a URL may hold a password). */
const STRING_SHAPES: Record<string, string> = {
  uri: 'an http:// or https:// URL',
  'postgres-url': 'a postgres:// or postgresql:// URL',
  'redis-url': 'a redis:// or rediss:// URL',
  'host-port': 'host:port',
};

interface SchemaShape {
  anyOf?: SchemaShape[];
  const?: unknown;
  type?: string;
  format?: string;
  pattern?: string;
  properties?: Record<string, unknown>;
}

/** A problem in words a platform engineer can act on. */
function describe(error: ValueError): string {
  const key = error.path.split('/').at(-1) ?? '';
  const schema = error.schema as SchemaShape;
  if (error.type === ValueErrorType.ObjectAdditionalProperties || error.message === 'Unexpected property') {
    if (/^(api_key|apikey|key|secret|token)$/i.test(key)) {
      return 'secrets are not read from the config file; put the key in an env variable and name it in api_key_env';
    }
    const near = closest(key, Object.keys(schema.properties ?? {}));
    return near ? `unknown field (did you mean "${near}"?)` : 'unknown field';
  }
  const options = schema.anyOf;
  if (options?.every((o) => o.const !== undefined)) {
    return `expected one of ${options.map((o) => JSON.stringify(o.const)).join(', ')}, got ${JSON.stringify(error.value)}`;
  }
  if (error.message === 'Expected required property') return 'required';
  // A setting that may be null (off) and is not: what the other member says (`Expected number to be
  // greater or equal to 0`), rather than TypeBox's 'Expected union value'.
  const address = (options ?? [schema]).find((s) => s.format && ADDRESS_FORMATS[s.format]);
  const check = address?.format ? ADDRESS_FORMATS[address.format] : undefined;
  if (check && typeof error.value === 'string') return check(error.value) ?? 'invalid address';
  const shape = (options ?? [schema]).map(stringShape).find((s) => s !== undefined);
  if (shape && (typeof error.value === 'string' || options)) return `expected ${shape}`;
  const given = options?.filter((o) => o.type !== 'null');
  if (given?.length === 1 && error.value !== null) {
    const inner = Value.Errors(given[0] as TSchema, error.value).First();
    if (inner) return describe(inner);
  }
  return error.message;
}

function stringShape(schema: SchemaShape): string | undefined {
  if (schema.type !== 'string') return undefined;
  if (schema.format) return STRING_SHAPES[schema.format];
  if (schema.pattern) return STRING_SHAPES[schema.pattern];
  return undefined;
}

/** The known field a typo most likely meant: at most two edits away (`rate_limts` → `rate_limit`). */
function closest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const d = editDistance(key.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + cost);
    }
    row = next;
  }
  return row[b.length] as number;
}

function convert(raw: string, kind: EnvKind): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'list':
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      return undefined;
    }
    case 'int': {
      const n = Number(raw);
      return Number.isInteger(n) ? n : undefined;
    }
    case 'number': {
      const n = Number(raw);
      return raw.trim() !== '' && Number.isFinite(n) ? n : undefined;
    }
    case 'seconds': {
      const n = Number(raw);
      return Number.isFinite(n) && n >= 0 ? Math.round(n * 1000) : undefined;
    }
  }
}

/**
 * Checks that need more than one field: routes name configured providers, delays are ordered. The object
 * may not match the schema (its problems are already listed), so every check guards its own inputs and one
 * malformed section never hides the problems of another.
 */
function crossCheck(config: Json): string[] {
  const problems: string[] = [];
  const providers = isObject(config.providers) ? config.providers : {};
  const routes = isObject(config.routes) ? config.routes : {};
  for (const [alias, route] of Object.entries(routes)) {
    const list = isObject(route) ? route.deployments : undefined;
    if (!Array.isArray(list)) continue;
    const ids = new Set<string>();
    list.forEach((d: unknown, i) => {
      if (isObject(d) && typeof d.provider === 'string' && typeof d.model === 'string') {
        const id = typeof d.name === 'string' ? d.name : `${d.provider}/${d.model}`;
        if (ids.has(id)) {
          problems.push(
            `routes.${alias}.deployments.${i}: a second deployment with id "${id}"; give each a distinct name`,
          );
        }
        ids.add(id);
      }
      const provider = isObject(d) ? d.provider : undefined;
      if (typeof provider === 'string' && !Object.hasOwn(providers, provider)) {
        problems.push(
          `routes.${alias}.deployments.${i}.provider: unknown provider "${provider}" (known: ${Object.keys(providers).join(', ')})`,
        );
      }
    });
  }
  if (isObject(config.redis)) problems.push(...redisProblems(config.redis));
  problems.push(...feedbackMetricProblems(config));
  const retry = isObject(config.retry) ? config.retry : {};
  const { base_delay_ms: base, max_delay_ms: max } = retry;
  if (typeof base === 'number' && typeof max === 'number' && base > max) {
    problems.push('retry.base_delay_ms: must not be larger than retry.max_delay_ms');
  }
  return problems;
}

function setPath(target: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Json;
  }
  node[keys[keys.length - 1] as string] = value;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
