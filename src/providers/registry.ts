/**
 * Builds one adapter per configured provider that is offered (credentials present, or keyless and
 * enabled). Adapters are created once at start and shared by every request.
 */
import { AZURE_PLACEHOLDER_URL } from '../config/defaults.js';
import type { ProviderConfig } from '../config/schema.js';
import { createAnthropicAdapter } from './anthropic/adapter.js';
import { createGeminiAdapter } from './gemini/adapter.js';
import { createOpenAIAdapter } from './openai/adapter.js';
import type { ProviderAdapter, ProviderDeps, ProviderSettings, ProviderType } from './types.js';

type AdapterFactory = (settings: ProviderSettings, deps: ProviderDeps) => ProviderAdapter;

const FACTORIES: Record<ProviderType, AdapterFactory> = {
  openai: createOpenAIAdapter,
  azure: createOpenAIAdapter,
  anthropic: createAnthropicAdapter,
  gemini: createGeminiAdapter,
};

/** Why a provider is or is not offered, for /health and error messages. */
export interface ProviderStatus {
  name: string;
  type: ProviderType;
  offered: boolean;
  /** When not offered: what to do about it (names the env variable, never a value). */
  reason?: string;
}

/** Overrides a deployment may carry (its own base URL or key variable). */
export interface AdapterOverrides {
  baseUrl?: string | undefined;
  apiKeyEnv?: string | undefined;
}

/** Creates adapters from config and secrets; caches them per (provider, overrides). */
export class ProviderRegistry {
  readonly #configs: Readonly<Record<string, ProviderConfig>>;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #deps: ProviderDeps;
  readonly #adapters = new Map<string, ProviderAdapter>();
  /** Env variables whose values adapters use (deployment overrides included), for `secrets()`. */
  readonly #keyEnvs = new Set<string>();

  constructor(
    configs: Readonly<Record<string, ProviderConfig>>,
    env: Readonly<Record<string, string | undefined>>,
    deps: ProviderDeps,
  ) {
    this.#configs = configs;
    this.#env = env;
    this.#deps = deps;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.#configs, name);
  }

  config(name: string): ProviderConfig | undefined {
    return Object.hasOwn(this.#configs, name) ? this.#configs[name] : undefined;
  }

  /** Whether the provider can serve, and if not, why. */
  status(name: string, overrides: AdapterOverrides = {}): ProviderStatus {
    const config = this.config(name);
    if (!config)
      return { name, type: 'openai', offered: false, reason: `no provider named "${name}" is configured` };
    const keyEnv = overrides.apiKeyEnv ?? config.api_key_env;
    if (config.requires_api_key) {
      if (!keyEnv)
        return { name, type: config.type, offered: false, reason: `provider "${name}" has no api_key_env` };
      if (!this.#env[keyEnv])
        return { name, type: config.type, offered: false, reason: `set ${keyEnv} to use provider "${name}"` };
      if (!config.enabled)
        return { name, type: config.type, offered: false, reason: `provider "${name}" is disabled` };
      if ((overrides.baseUrl ?? config.base_url) === AZURE_PLACEHOLDER_URL) {
        const how = config.base_url_env ? `set ${config.base_url_env}` : 'set its base_url';
        const reason = `${how} (the resource's endpoint) to use provider "${name}"`;
        return { name, type: config.type, offered: false, reason };
      }
      return { name, type: config.type, offered: true };
    }
    // A deployment that names its own base URL (a vLLM host) enables a keyless provider for itself.
    if (!config.enabled && overrides.baseUrl === undefined) {
      const how = config.base_url_env ? `set ${config.base_url_env}` : 'set enabled: true';
      return { name, type: config.type, offered: false, reason: `${how} to use provider "${name}"` };
    }
    return { name, type: config.type, offered: true };
  }

  /** Every configured provider's status. */
  statuses(): ProviderStatus[] {
    return Object.keys(this.#configs).map((name) => this.status(name));
  }

  /** The adapter for an offered provider (created once per provider and overrides). */
  adapter(name: string, overrides: AdapterOverrides = {}): ProviderAdapter {
    const key = `${name}\u0000${overrides.baseUrl ?? ''}\u0000${overrides.apiKeyEnv ?? ''}`;
    let adapter = this.#adapters.get(key);
    if (adapter) return adapter;
    const config = this.config(name);
    if (!config) throw new Error(`unknown provider ${name}`);
    const apiKeyEnv = overrides.apiKeyEnv ?? config.api_key_env;
    if (apiKeyEnv) this.#keyEnvs.add(apiKeyEnv);
    adapter = FACTORIES[config.type](
      {
        name,
        type: config.type,
        baseUrl: (overrides.baseUrl ?? config.base_url).replace(/\/+$/, ''),
        apiKey: apiKeyEnv ? this.#env[apiKeyEnv] || undefined : undefined,
        apiKeyEnv,
        headers: { ...config.headers },
        apiVersion: config.api_version,
        defaultMaxTokens: config.default_max_tokens,
      },
      this.#deps,
    );
    this.#adapters.set(key, adapter);
    return adapter;
  }

  /**
   * Every secret value the providers use — each provider's key and each deployment's own key variable —
   * so logs and error bodies can be scrubbed of them. Call after the routes were planned.
   */
  secrets(): string[] {
    const names = new Set(this.#keyEnvs);
    for (const config of Object.values(this.#configs)) if (config.api_key_env) names.add(config.api_key_env);
    const out: string[] = [];
    for (const name of names) {
      const value = this.#env[name];
      if (value && value.length >= 8) out.push(value);
    }
    return out;
  }
}
