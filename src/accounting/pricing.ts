/**
 * Prices per model (USD per 1M input, output and cached-input tokens) and the cost of one answer.
 *
 * The table is data (`pricing.json`, one family per provider with its source page and date) with per-model
 * overrides from config (`pricing.models`). Costs are computed in integer pico-dollars (1e-12 USD: a price
 * per 1M tokens times 1e6 is an integer for every listed price, times a token count stays far below 2^53),
 * then rounded once, half up, to micro-dollars — so `calculateCost` is exact to 6 decimals.
 */
import data from './pricing.json' with { type: 'json' };

/**
 * USD per 1M tokens. `cachedInput` prices the prompt tokens the provider served from its prompt cache;
 * `cacheWrite` the prompt tokens it wrote to its cache (Anthropic: 1.25 × input for the 5-minute cache).
 */
export interface ModelPrice {
  readonly input: number;
  readonly output: number;
  readonly cachedInput: number;
  readonly cacheWrite: number;
}

/** Cache writes cost this much more than input unless a price says otherwise (Anthropic's 5-minute cache). */
export const CACHE_WRITE_FACTOR = 1.25;

/** A model found in the table: the entry's name and its price. */
export interface PricedModel {
  readonly name: string;
  readonly price: ModelPrice;
}

/** The token counts a cost is computed from (OpenAI usage shape: `prompt_tokens` includes cached ones). */
export interface TokenUsage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?:
    | { cached_tokens?: number | undefined; cache_creation_tokens?: number | undefined }
    | null
    | undefined;
}

/** Config override: `pricing.models.<name>: { input, output, cached_input? }`. */
export interface PriceOverride {
  input: number;
  output: number;
  cached_input?: number | undefined;
  cache_write?: number | undefined;
}

interface PricingFamily {
  family: string;
  provider: string;
  source: string;
  as_of: string;
  models: Record<string, { input: number; output: number; cached_input?: number; cache_write?: number }>;
}

/** The families of the built-in table (source and date per family), for docs and `/admin` views. */
export const PRICING_FAMILIES: readonly PricingFamily[] = (data as unknown as { families: PricingFamily[] })
  .families;

const PICO_PER_MICRO = 1_000_000;
/** A dated snapshot suffix: `-2024-08-06`, `-20241022`, or `-latest`. */
const SNAPSHOT = /-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

function toPrice(p: PriceOverride): ModelPrice {
  return {
    input: p.input,
    output: p.output,
    cachedInput: p.cached_input ?? p.input,
    // Rounded to the pico-dollar grid `pico()` works on (1e-6 USD per 1M tokens).
    cacheWrite: p.cache_write ?? Math.round(p.input * CACHE_WRITE_FACTOR * 1e6) / 1e6,
  };
}

/** Price per 1M tokens → integer pico-dollars per token. */
function pico(usdPerMillion: number): number {
  return Math.round(usdPerMillion * 1_000_000);
}

/**
 * The pricing table: built-in data plus overrides. Lookups accept what the gateway sees: the deployment's
 * model (`gpt-4o`), the provider's answer (`gpt-4o-2024-08-06`), `provider/model` names
 * (`groq/llama-3.1-8b-instant`, `together/meta-llama/…`).
 *
 * @example
 * const prices = new PriceTable({ 'my-vllm-model': { input: 0.1, output: 0.2 } });
 * prices.calculateCost('gpt-4o-mini', { prompt_tokens: 1000, completion_tokens: 500 }); // 0.00045
 */
export class PriceTable {
  /** The built-in table, under `provider/model` and (first family wins) the bare model name. */
  readonly #prices = new Map<string, ModelPrice>();
  /** Config overrides, as named there (`gpt-4o` for every provider, `openai/gpt-4o` for one). */
  readonly #overrides = new Map<string, ModelPrice>();
  readonly #memo = new Map<string, PricedModel | null>();

  constructor(overrides: Readonly<Record<string, PriceOverride>> = {}) {
    for (const family of PRICING_FAMILIES) {
      for (const [model, price] of Object.entries(family.models)) {
        const parsed = toPrice(price);
        this.#prices.set(`${family.provider}/${model}`, parsed);
        if (!this.#prices.has(model)) this.#prices.set(model, parsed);
      }
    }
    for (const [model, price] of Object.entries(overrides)) this.#overrides.set(model, toPrice(price));
  }

  /**
   * USD per 1M tokens for a model, or null when it is not priced. Tries the name as given, without its
   * `provider/` prefix, and without a dated snapshot suffix. Memoised (bounded).
   */
  priceOf(model: string, provider?: string | null): ModelPrice | null {
    return this.resolve(model, provider)?.price ?? null;
  }

  /** The table entry a model name matches (its name there is a bounded metric label), or null. */
  resolve(model: string, provider?: string | null): PricedModel | null {
    const key = provider ? `${provider}/${model}` : model;
    const memo = this.#memo.get(key);
    if (memo !== undefined) return memo;
    const found = this.#lookup(model, provider ?? null);
    if (this.#memo.size < 10_000) this.#memo.set(key, found);
    return found;
  }

  /**
   * The name as given (and without its `provider/` prefix) before the undated name; at each of the two, a
   * config override before the built-in table (so `pricing.models.gpt-4o` prices `gpt-4o` served by
   * OpenAI, though the table has `openai/gpt-4o`); in each table, `provider/name` before `name`.
   */
  #lookup(model: string, provider: string | null): PricedModel | null {
    const exact = [model];
    const slash = model.indexOf('/');
    if (slash > 0) exact.push(model.slice(slash + 1));
    const undated = exact.map((name) => name.replace(SNAPSHOT, '')).filter((name, i) => name !== exact[i]);
    for (const names of [exact, undated]) {
      for (const table of [this.#overrides, this.#prices]) {
        for (const name of names) {
          const qualified = provider ? `${provider}/${name}` : null;
          const price = (qualified !== null ? table.get(qualified) : undefined) ?? table.get(name);
          if (!price) continue;
          // The entry's name without the provider's prefix (`groq/llama-3.1-8b-instant` on groq).
          const prefixed = provider !== null && name.startsWith(`${provider}/`);
          return { name: prefixed ? name.slice(provider.length + 1) : name, price };
        }
      }
    }
    return null;
  }

  /**
   * Cost in USD of one answer, rounded half up to 6 decimals; null when the model is not priced.
   * Cached prompt tokens (`prompt_tokens_details.cached_tokens`, part of `prompt_tokens`) are priced at
   * the cached-input price, cache writes (`prompt_tokens_details.cache_creation_tokens`, also part of it)
   * at the cache-write price, the rest of the prompt at the input price.
   */
  calculateCost(model: string, usage: TokenUsage, provider?: string | null): number | null {
    const price = this.priceOf(model, provider);
    return price === null ? null : costOf(price, usage);
  }
}

/** Cost in USD (6 decimals) of `usage` at `price`. */
export function costOf(price: ModelPrice, usage: TokenUsage): number {
  return microsOf(price, usage) / PICO_PER_MICRO;
}

/** Cost in integer micro-dollars (rounded half up) of `usage` at `price`. */
export function microsOf(price: ModelPrice, usage: TokenUsage): number {
  // Not `| 0`: a token count past 2^31 (a client's max_tokens in a reservation) must not wrap to 0.
  const prompt = tokenCount(usage.prompt_tokens);
  const cached = Math.min(prompt, tokenCount(usage.prompt_tokens_details?.cached_tokens ?? 0));
  const writes = tokenCount(usage.prompt_tokens_details?.cache_creation_tokens ?? 0);
  const written = Math.min(prompt - cached, writes);
  const completion = tokenCount(usage.completion_tokens);
  const picos =
    (prompt - cached - written) * pico(price.input) +
    cached * pico(price.cachedInput) +
    written * pico(price.cacheWrite) +
    completion * pico(price.output);
  return Math.floor((picos + PICO_PER_MICRO / 2) / PICO_PER_MICRO);
}

/** A non-negative whole token count (NaN and negatives are 0). */
function tokenCount(n: number): number {
  return n > 0 ? Math.trunc(n) : 0;
}
