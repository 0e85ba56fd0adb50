/**
 * The accountant: turns a request's outcome into its usage and cost. Its `settle` is the pipeline's cost
 * step — the one place that assigns `ctx.usage` and `ctx.costUsd` (DESIGN §2) — and counts tokens and cost
 * in the metrics. Usage the upstream did not report is estimated locally (the prompt from the request, the
 * answer from the outcome's text).
 */
import { type RequestContext, requestedModel, servedModel, servingDeployment } from '../core/context.js';
import type { Usage } from '../providers/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { costOf, type ModelPrice, type PricedModel, type PriceTable } from './pricing.js';
import { approximatePromptTokens, approximateTokens, countPromptTokens, countTextTokens } from './tokens.js';

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
    const deployment = servingDeployment(ctx);
    const provider = deployment?.provider ?? null;
    const served = servedModel(ctx);
    if (served) {
      const priced = this.prices.resolve(served, provider);
      if (priced) return priced;
    }
    const model = deployment?.model ?? requestedModel(ctx);
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

  /**
   * The cost step of settle (once per request, after it ended): the final usage (reported, else estimated
   * for what was billed), the cost (0 for a cache hit, which records what it saved), and the metrics.
   */
  settle(ctx: RequestContext): void | Promise<void> {
    const end = ctx.end;
    const outcome = ctx.outcome;
    const upstreamCalled = ctx.upstream.attempts > 0 || ctx.cache.status === 'HIT';
    // A stream cut off after its first bytes was billed for what was sent: count that too.
    const partial = ctx.request?.stream === true && outcome !== null;
    const reported = outcome?.usage ?? null;
    if (reported || !upstreamCalled || !ctx.request || !end || !(end.status < 400 || partial)) {
      return this.#charge(ctx, reported, false);
    }
    // A cut-off stream is approximated: what the upstream billed for an aborted generation is unknown
    // anyway, and it spares the tokenizer load (a blocked event loop) at a disconnect. Only a complete
    // answer without reported usage waits for the tokenizer.
    if (end.status >= 400) return this.#charge(ctx, this.approximate(ctx), true);
    return this.estimate(ctx).then((usage) => this.#charge(ctx, usage, true));
  }

  /** Prices `usage`, counts it in the metrics and assigns the request's usage and cost (once). */
  #charge(ctx: RequestContext, usage: Usage | null, estimated: boolean): void {
    const hit = ctx.cache.status === 'HIT';
    const upstreamCalled = ctx.upstream.attempts > 0 || hit;
    const priced = this.pricedModel(ctx);
    const label = priced?.name ?? 'other';
    if (!priced && usage && upstreamCalled) this.#unknown(ctx);
    let cost: number | null = null;
    let saved = 0;
    if (hit) {
      cost = 0;
      saved = priced && usage ? costOf(priced.price, usage) : 0;
      if (saved > 0) this.#metrics.costSavedUsd.inc(saved);
    } else if (usage) {
      cost = priced ? costOf(priced.price, usage) : null;
      this.#countTokens(label, usage);
      if (cost !== null && cost > 0) this.#metrics.costUsd.inc({ model: label }, cost);
    } else if (priced) {
      cost = 0; // nothing billed (an error before any answer): free for a priced model, unknown otherwise
    }
    ctx.usage = usage;
    ctx.usageEstimated = estimated;
    ctx.costUsd = cost;
    ctx.savedUsd = saved;
  }

  /** Usage counted locally: the prompt from the request, the answer from the captured text. */
  async estimate(ctx: RequestContext): Promise<Usage> {
    const model = servedModel(ctx) ?? servingDeployment(ctx)?.model ?? requestedModel(ctx) ?? '';
    const body = ctx.request?.body;
    const prompt = body ? await countPromptTokens(body, model) : 0;
    const output = ctx.outcome?.output;
    const completion =
      output && output.text.length + output.overflow > 0
        ? (await countTextTokens(output.text, model)) + Math.ceil(output.overflow / 4)
        : 0;
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }

  /** Usage by the 4-characters rule, without a tokenizer. */
  approximate(ctx: RequestContext): Usage {
    const body = ctx.request?.body;
    const prompt = body ? approximatePromptTokens(body) : 0;
    const output = ctx.outcome?.output;
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
    const model = servingDeployment(ctx)?.id ?? requestedModel(ctx) ?? 'unknown';
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
