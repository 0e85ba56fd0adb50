/**
 * The accountant: turns a request's usage into its cost (`ctx.costUsd`), counts tokens and cost in the
 * metrics, and estimates usage locally when the upstream reported none. Shared by the accounting hook
 * (X-Cost, usage record) and the budget hook (settles a reservation to the real cost), which both call
 * `finalize` — it runs once per request (memoised on the context).
 */
import type { RequestContext } from '../pipeline/context.js';
import type { RequestOutcome } from '../pipeline/hooks.js';
import type { Usage } from '../providers/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { costOf, type ModelPrice, type PricedModel, type PriceTable } from './pricing.js';
import { approximatePromptTokens, approximateTokens, countPromptTokens, countTextTokens } from './tokens.js';

/** Where the stream wrapper keeps the answer's text, for a local count when the upstream sends no usage. */
export const OUTPUT_TEXT = 'accounting.output';
const FINAL = 'accounting.final';
/** Bound on the text kept per request for a local count; beyond it characters are only counted. */
export const MAX_OUTPUT_TEXT = 1 << 20;

export interface CapturedOutput {
  text: string;
  /** Characters beyond MAX_OUTPUT_TEXT (approximated at 4 per token). */
  overflow: number;
}

/** What finalize settled: the cost charged (0 for cache hits) and the saving of a hit. */
export interface FinalCost {
  costUsd: number | null;
  savedUsd: number;
  model: PricedModel | null;
}

export class Accountant {
  readonly prices: PriceTable;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  readonly #warned = new Set<string>();

  constructor(prices: PriceTable, deps: { metrics: Metrics; logger: Logger }) {
    this.prices = prices;
    this.#metrics = deps.metrics;
    this.#logger = deps.logger;
  }

  /** The priced model that served (the provider's answer first, then the deployment's model). */
  pricedModel(ctx: RequestContext): PricedModel | null {
    const provider = ctx.deployment?.provider ?? null;
    if (ctx.servedModel) {
      const served = this.prices.resolve(ctx.servedModel, provider);
      if (served) return served;
    }
    const model = ctx.deployment?.model ?? ctx.model;
    return model ? this.prices.resolve(model, provider) : null;
  }

  /** The worst price of any deployment of the route (budgets reserve against it); null = one is unpriced. */
  worstPrice(ctx: RequestContext): ModelPrice | null {
    const deployments = ctx.route?.deployments ?? [];
    let worst: ModelPrice | null = null;
    for (const d of deployments) {
      const price = this.prices.priceOf(d.model, d.provider);
      if (!price) return null;
      if (!worst || price.input + price.output > worst.input + worst.output) worst = price;
    }
    return worst;
  }

  /** Sets `ctx.costUsd` from `ctx.usage` when known (0 for cache hits). Synchronous, for headers. */
  compute(ctx: RequestContext): void {
    if (ctx.cache.status === 'HIT') {
      ctx.costUsd = 0;
      return;
    }
    if (!ctx.usage) return;
    const priced = this.pricedModel(ctx);
    ctx.costUsd = priced ? costOf(priced.price, ctx.usage) : null;
  }

  /**
   * Once per request, after it ended: estimates usage the upstream did not report, computes the cost and
   * the saving of a cache hit, and updates the metrics. Never rejects.
   */
  finalize(ctx: RequestContext, outcome: RequestOutcome): Promise<FinalCost> {
    const existing = ctx.hookState[FINAL] as Promise<FinalCost> | undefined;
    if (existing) return existing;
    const result = this.#finalize(ctx, outcome).catch((err: unknown) => {
      this.#logger.warn({ event: 'cost.error', request_id: ctx.requestId, err }, 'cost calculation failed');
      return { costUsd: ctx.costUsd, savedUsd: 0, model: null };
    });
    ctx.hookState[FINAL] = result;
    return result;
  }

  async #finalize(ctx: RequestContext, outcome: RequestOutcome): Promise<FinalCost> {
    const upstreamCalled = ctx.attempts > 0 || ctx.cache.status === 'HIT';
    // A stream cut off after its first bytes was billed for what was sent: count that too.
    const partial = ctx.stream && ctx.hookState[OUTPUT_TEXT] !== undefined;
    if (!ctx.usage && upstreamCalled && ctx.body && (outcome.status < 400 || partial)) {
      // A cut-off stream is approximated: what the upstream billed for an aborted generation is unknown
      // anyway, and it spares the tokenizer load (a blocked event loop) at a disconnect.
      ctx.usage = outcome.status < 400 ? await this.estimate(ctx) : this.approximate(ctx);
      ctx.usageEstimated = true;
    }
    const priced = this.pricedModel(ctx);
    const label = priced?.name ?? 'other';
    if (!priced && ctx.usage && upstreamCalled) this.#unknown(ctx);
    if (ctx.cache.status === 'HIT') {
      ctx.costUsd = 0;
      const saved = priced && ctx.usage ? costOf(priced.price, ctx.usage) : (ctx.cache.savedUsd ?? 0);
      if (saved > 0) this.#metrics.costSavedUsd.inc(saved);
      return { costUsd: 0, savedUsd: saved, model: priced };
    }
    if (ctx.usage) {
      ctx.costUsd = priced ? costOf(priced.price, ctx.usage) : null;
      this.#countTokens(label, ctx.usage);
      if (ctx.costUsd !== null && ctx.costUsd > 0) this.#metrics.costUsd.inc({ model: label }, ctx.costUsd);
    }
    return { costUsd: ctx.costUsd, savedUsd: 0, model: priced };
  }

  /** Usage counted locally: the prompt from the request, the answer from the captured text. */
  async estimate(ctx: RequestContext): Promise<Usage> {
    const model = ctx.servedModel ?? ctx.deployment?.model ?? ctx.model ?? '';
    const prompt = ctx.body ? await countPromptTokens(ctx.body, model) : 0;
    const output = ctx.hookState[OUTPUT_TEXT] as CapturedOutput | undefined;
    const completion = output
      ? (await countTextTokens(output.text, model)) + Math.ceil(output.overflow / 4)
      : 0;
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }

  /** Usage by the 4-characters rule, without a tokenizer. */
  approximate(ctx: RequestContext): Usage {
    const prompt = ctx.body ? approximatePromptTokens(ctx.body) : 0;
    const output = ctx.hookState[OUTPUT_TEXT] as CapturedOutput | undefined;
    const completion = output ? approximateTokens(output.text) + Math.ceil(output.overflow / 4) : 0;
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }

  #countTokens(label: string, usage: Usage): void {
    const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
    this.#metrics.tokens.inc({ model: label, type: 'input' }, Math.max(0, usage.prompt_tokens - cached));
    if (cached > 0) this.#metrics.tokens.inc({ model: label, type: 'cached_input' }, cached);
    this.#metrics.tokens.inc({ model: label, type: 'output' }, usage.completion_tokens);
  }

  #unknown(ctx: RequestContext): void {
    this.#metrics.costUnknownModel.inc();
    const model = ctx.deployment?.id ?? ctx.model ?? 'unknown';
    if (this.#warned.has(model) || this.#warned.size >= 1000) return;
    this.#warned.add(model);
    this.#logger.warn(
      { event: 'cost.unknown_model', model },
      `no price for model "${model}": its cost is recorded as unknown (add it under pricing.models)`,
    );
  }
}

/** USD with 6 decimals, as sent in X-Cost and stored. */
export function formatUsd(usd: number): string {
  return usd.toFixed(6);
}
