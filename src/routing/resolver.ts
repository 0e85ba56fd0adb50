/**
 * Model resolution (DESIGN §4): a configured alias (→ one or more deployments), then an explicit
 * `provider/model`, then prefix rules (`gpt-` → openai, `claude-` → anthropic …). No match → 400.
 *
 * Route plans for aliases are computed once at start; plans for other names are memoised in a bounded map,
 * so the hot path does no string work beyond one map lookup.
 */
import type { Config, DeploymentConfig } from '../config/schema.js';
import { BadRequestError } from '../core/errors.js';
import { holdsGatewayKey } from '../core/secret-shape.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ProviderAdapter } from '../providers/types.js';
import type { BreakerSettings } from './breaker.js';
import type { StrategyName } from './strategy-names.js';

/** One provider + upstream model a request can be sent to. */
export interface Deployment {
  /** The configured `name`, else `provider/model`; stable: used in logs, metrics and breaker state. */
  readonly id: string;
  readonly provider: string;
  /** `gen_ai.provider.name` on spans (the GenAI well-known value, else `provider`); see `genAiProvider`. */
  readonly genAiProvider?: string | undefined;
  readonly model: string;
  readonly adapter: ProviderAdapter;
  readonly weight: number;
  readonly priority: number;
  /** Quality rank (1 = best), for the `quality` strategy. */
  readonly rank?: number | undefined;
  /** USD per 1M tokens, overriding the pricing table for the `cost` strategy. */
  readonly inputCostPerMtok?: number | undefined;
  readonly outputCostPerMtok?: number | undefined;
  /** Breaker settings of this deployment that differ from `routing.breaker`. */
  readonly breaker?: Partial<BreakerSettings> | undefined;
}

/** What a requested model name resolves to: deployments in the order they are tried. */
export interface Route {
  /** The name the client asked for. */
  readonly name: string;
  /** `alias` (configured route), `explicit` (`provider/model`) or `prefix`. */
  readonly kind: 'alias' | 'explicit' | 'prefix';
  readonly strategy: StrategyName;
  readonly deployments: readonly Deployment[];
}

/** Most names memoised (then the memo starts over): with names ≤ 256 characters, a few MB at most. */
const MEMO_LIMIT = 10_000;
/** Names longer than this are resolved but never memoised (the endpoints refuse them before: 422). */
const MEMO_MAX_NAME = 256;
const KEY_AS_MODEL = 'The model name looks like a gateway API key; name a model (GET /v1/models lists them).';

/** Resolves requested model names to routes. Create once at start. */
export class ModelResolver {
  readonly #registry: ProviderRegistry;
  readonly #aliases = new Map<string, Route | BadRequestError>();
  readonly #memo = new Map<string, Route | BadRequestError>();
  readonly #prefixes: Array<[prefix: string, provider: string]>;

  constructor(config: Readonly<Config>, registry: ProviderRegistry) {
    this.#registry = registry;
    this.#prefixes = Object.entries(config.providers)
      .flatMap(([name, p]) => p.model_prefixes.map((prefix): [string, string] => [prefix, name]))
      .sort((a, b) => b[0].length - a[0].length);
    for (const [alias, route] of Object.entries(config.routes)) {
      this.#aliases.set(alias, this.#planAlias(alias, route));
    }
  }

  /**
   * The route for a requested model.
   * @throws BadRequestError `model_not_found` or `provider_not_configured` (param `model`).
   */
  resolve(model: string): Route {
    // A pasted gateway key is no model: as `provider/<key>` it would be served, and recorded, logged and
    // counted as the deployment's model (decision 0210). Not memoised; the message does not echo it.
    if (holdsGatewayKey(model))
      throw new BadRequestError(KEY_AS_MODEL, 'model_not_found', { param: 'model' });
    const planned = this.#aliases.get(model) ?? this.#memo.get(model);
    if (planned === undefined) {
      const fresh = this.#plan(model);
      if (model.length <= MEMO_MAX_NAME) {
        if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
        this.#memo.set(model, fresh);
      }
      if (fresh instanceof BadRequestError) throw fresh;
      return fresh;
    }
    if (planned instanceof BadRequestError) throw planned;
    return planned;
  }

  /** Names memoised so far (bounded; for the bounded-memory checks). */
  get memoSize(): number {
    return this.#memo.size;
  }

  /** Whether a deployment id `provider/model` names a model listed under its provider in the configuration. */
  isListed(id: string): boolean {
    const slash = id.indexOf('/');
    if (slash <= 0) return false;
    return this.#registry.config(id.slice(0, slash))?.models.includes(id.slice(slash + 1)) === true;
  }

  /**
   * The usable deployment with this id (`Deployment.id`): one of a configured route's, else the explicit
   * `provider/model` one; undefined when the configuration has none by that id (any more). For calls that
   * must reach the deployment that made an earlier answer (deleting a response stored there).
   */
  deploymentById(id: string): Deployment | undefined {
    for (const route of this.aliasRoutes()) {
      const found = route.deployments.find((d) => d.id === id);
      if (found) return found;
    }
    const slash = id.indexOf('/');
    if (slash <= 0 || !this.#registry.has(id.slice(0, slash)) || slash === id.length - 1) return undefined;
    const single = this.#single(id, 'explicit', id.slice(0, slash), id.slice(slash + 1));
    return single instanceof BadRequestError ? undefined : single.deployments[0];
  }

  /** The configured aliases that have at least one usable deployment, with their routes. */
  aliasRoutes(): Route[] {
    return [...this.#aliases.values()].filter((r): r is Route => !(r instanceof BadRequestError));
  }

  /** Model ids for GET /v1/models: aliases, then each offered provider's listed models. */
  listModels(): Array<{ id: string; owned_by: string }> {
    const out: Array<{ id: string; owned_by: string }> = [];
    const seen = new Set<string>();
    const add = (id: string, owner: string) => {
      if (seen.has(id)) return;
      seen.add(id);
      out.push({ id, owned_by: owner });
    };
    for (const [alias, route] of this.#aliases) {
      if (!(route instanceof BadRequestError)) add(alias, 'llm-gateway');
    }
    for (const status of this.#registry.statuses()) {
      if (!status.offered) continue;
      const config = this.#registry.config(status.name);
      for (const model of config?.models ?? []) {
        const byPrefix = this.#prefixOwner(model) === status.name;
        add(byPrefix ? model : `${status.name}/${model}`, status.name);
      }
    }
    return out;
  }

  #planAlias(alias: string, route: Config['routes'][string]): Route | BadRequestError {
    const deployments: Deployment[] = [];
    const missing: string[] = [];
    route.deployments.forEach((d, index) => {
      const overrides = { baseUrl: d.base_url, apiKeyEnv: d.api_key_env };
      const status = this.#registry.status(d.provider, overrides);
      if (!status.offered) {
        missing.push(status.reason ?? d.provider);
        return;
      }
      deployments.push({
        id: d.name ?? `${d.provider}/${d.model}`,
        provider: d.provider,
        genAiProvider: this.#registry.config(d.provider)?.gen_ai_provider_name,
        model: d.model,
        adapter: this.#registry.adapter(d.provider, overrides),
        weight: d.weight ?? 1,
        priority: d.priority ?? index,
        rank: d.rank,
        inputCostPerMtok: d.input_cost_per_mtok,
        outputCostPerMtok: d.output_cost_per_mtok,
        breaker: d.breaker ? breakerOverrides(d.breaker) : undefined,
      });
    });
    if (deployments.length === 0) {
      return new BadRequestError(
        `Model "${alias}" has no usable deployment: ${missing.join('; ')}.`,
        'provider_not_configured',
        { param: 'model' },
      );
    }
    deployments.sort((a, b) => a.priority - b.priority);
    return { name: alias, kind: 'alias', strategy: route.strategy, deployments };
  }

  #plan(model: string): Route | BadRequestError {
    const slash = model.indexOf('/');
    if (slash > 0) {
      const provider = model.slice(0, slash);
      const upstreamModel = model.slice(slash + 1);
      if (this.#registry.has(provider)) {
        if (upstreamModel === '') {
          return new BadRequestError(
            `Model "${model}" names no model after "${provider}/".`,
            'model_not_found',
            {
              param: 'model',
            },
          );
        }
        return this.#single(model, 'explicit', provider, upstreamModel);
      }
    }
    const owner = this.#prefixOwner(model);
    if (owner) return this.#single(model, 'prefix', owner, model);
    return new BadRequestError(
      `The model "${model}" does not exist or is not routable. Use a configured alias, "provider/model", or a model name with a known prefix (GET /v1/models lists them).`,
      'model_not_found',
      { param: 'model' },
    );
  }

  #single(name: string, kind: Route['kind'], provider: string, model: string): Route | BadRequestError {
    const status = this.#registry.status(provider);
    if (!status.offered) {
      return new BadRequestError(
        `Model "${name}" needs provider "${provider}", which is not configured: ${status.reason}.`,
        'provider_not_configured',
        { param: 'model' },
      );
    }
    const deployment: Deployment = {
      id: `${provider}/${model}`,
      provider,
      genAiProvider: this.#registry.config(provider)?.gen_ai_provider_name,
      model,
      adapter: this.#registry.adapter(provider),
      weight: 1,
      priority: 0,
    };
    return { name, kind, strategy: 'failover', deployments: [deployment] };
  }

  #prefixOwner(model: string): string | undefined {
    for (const [prefix, provider] of this.#prefixes) if (model.startsWith(prefix)) return provider;
    return undefined;
  }
}

/**
 * A deployment's provider as the OpenTelemetry GenAI conventions name it (`gen_ai.provider.name`): the
 * well-known value configured for it (`gcp.gemini` for the gateway's `gemini` …), else the gateway's name.
 */
export function genAiProvider(d: Pick<Deployment, 'provider' | 'genAiProvider'>): string {
  return d.genAiProvider ?? d.provider;
}

/** Config (snake_case) breaker overrides → BreakerSettings fields. */
export function breakerOverrides(b: NonNullable<DeploymentConfig['breaker']>): Partial<BreakerSettings> {
  const out: Partial<BreakerSettings> = {};
  if (b.failure_rate_threshold !== undefined) out.failureRateThreshold = b.failure_rate_threshold;
  if (b.window_ms !== undefined) out.windowMs = b.window_ms;
  if (b.min_requests !== undefined) out.minRequests = b.min_requests;
  if (b.consecutive_failures !== undefined) out.consecutiveFailures = b.consecutive_failures;
  if (b.cooldown_ms !== undefined) out.cooldownMs = b.cooldown_ms;
  if (b.half_open_probes !== undefined) out.halfOpenProbes = b.half_open_probes;
  if (b.expected_ms_per_output_token !== undefined) {
    out.expectedMsPerOutputToken = b.expected_ms_per_output_token;
  }
  return out;
}

/**
 * The resolver's message when `model` names nothing this gateway serves (no alias, no listed model, no
 * known prefix: a typo), else null — also for a model whose provider merely lacks its key here. For checks
 * made when a prompt version or an experiment is created, so a typo is refused then, not by every request.
 */
export function unknownModelMessage(resolver: Pick<ModelResolver, 'resolve'>, model: string): string | null {
  try {
    resolver.resolve(model);
    return null;
  } catch (err) {
    return err instanceof BadRequestError && err.code === 'model_not_found' ? err.message : null;
  }
}
