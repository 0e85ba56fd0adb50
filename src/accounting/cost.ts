/**
 * The accountant: turns a request's outcome into its usage and cost. Its `settle` is the pipeline's cost
 * step — the one place that assigns `ctx.usage` and `ctx.costUsd` (DESIGN §2) — and counts tokens and cost
 * in the metrics. Usage the upstream did not report is estimated locally (the prompt from the request, the
 * answer from the outcome's text), and so is every failed attempt the provider may bill.
 */
import {
  type BillableAttempt,
  type RequestContext,
  requestedModel,
  servedModel,
  servingDeployment,
} from '../core/context.js';
import type { Usage } from '../providers/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { costOf, type ModelPrice, microsOf, type PricedModel, type PriceTable } from './pricing.js';
import {
  approximatePromptTokens,
  approximateTokens,
  countPromptTokens,
  countTextTokens,
  worstCaseOutputTokens,
} from './tokens.js';

/** One billed piece of a request: usage and the price it is charged at (null = unpriced). */
export interface BilledPart {
  usage: Usage;
  priced: PricedModel | null;
}

export class Accountant {
  readonly prices: PriceTable;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  readonly #warned = new Set<string>();
  readonly #defaultMaxOutputTokens: number;

  /**
   * `defaultMaxOutputTokens`: the output limit assumed for a request that set none, when a failed attempt
   * is charged its worst case (the budget reservation's `budgets.default_max_output_tokens`).
   */
  constructor(
    prices: PriceTable,
    deps: { metrics: Metrics; logger: Logger },
    options: { defaultMaxOutputTokens?: number } = {},
  ) {
    this.prices = prices;
    this.#metrics = deps.metrics;
    this.#logger = deps.logger;
    this.#defaultMaxOutputTokens = options.defaultMaxOutputTokens ?? 4096;
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

  /**
   * The worst price of the route (budgets reserve against it): each part (input, output, cached input) at
   * its highest among the deployments; null = one is unpriced.
   */
  worstPrice(ctx: RequestContext): ModelPrice | null {
    const deployments = ctx.route?.deployments ?? [];
    let worst: ModelPrice | null = null;
    for (const d of deployments) {
      const price = this.prices.priceOf(d.model, d.provider);
      if (!price) return null;
      // Each part at its highest price: the dearest deployment by input + output may have the cheaper
      // output, and a reservation is mostly output tokens.
      worst = worst
        ? {
            input: Math.max(worst.input, price.input),
            output: Math.max(worst.output, price.output),
            cachedInput: Math.max(worst.cachedInput, price.cachedInput),
            cacheWrite: Math.max(worst.cacheWrite, price.cacheWrite),
          }
        : price;
    }
    return worst;
  }

  /**
   * The cost step of settle (once per request, after it ended): the final usage and cost — the answer's
   * (reported, else counted for what was billed) plus every failed attempt the provider may bill
   * (`ctx.upstream.billable`, each at its estimate; docs/decisions/0082) — 0 for a cache hit (which records
   * what it saved), and the metrics. Synchronous unless something must be counted with the tokenizer.
   */
  settle(ctx: RequestContext): void | Promise<void> {
    const outcome = ctx.outcome;
    const reported = outcome?.usage ?? null;
    const upstreamCalled = ctx.upstream.attempts > 0 || ctx.cache.status === 'HIT';
    // An answer without reported usage (complete, or a stream cut off after its first bytes: billed for
    // what was sent) is counted locally.
    const countAnswer =
      reported === null && upstreamCalled && outcome !== null && ctx.request !== null && ctx.end !== null;
    const failed = ctx.cache.status === 'HIT' ? [] : ctx.upstream.billable;
    // Work that was cut off — a stream that ended early, attempts that failed after reaching the provider —
    // is approximated: what the provider billed for aborted work is an estimate anyway, and loading a
    // tokenizer (~0.1–1 s of blocked event loop, once) at a disconnect would stall every other request.
    // Only a complete answer without reported usage waits for the tokenizer.
    const parts = failed.map((a) => this.attemptUsage(ctx, a));
    const estimated = countAnswer || parts.length > 0;
    if (!countAnswer) return this.#charge(ctx, reported, estimated, parts);
    if ((ctx.end?.status ?? 500) >= 400) return this.#charge(ctx, this.approximate(ctx), true, parts);
    return this.estimate(ctx).then((usage) => this.#charge(ctx, usage, true, parts));
  }

  /**
   * The estimated usage of a failed attempt the provider may bill: its prompt plus what it streamed, or —
   * when no answer was seen — every choice's output limit; approximated (4 characters a token), priced at
   * the attempt's own deployment.
   */
  attemptUsage(ctx: RequestContext, a: BillableAttempt): BilledPart {
    const { model, provider } = a.deployment;
    const body = ctx.request?.body;
    const prompt = body ? approximatePromptTokens(body) : 0;
    let completion = 0;
    if (a.streamed !== null) completion = approximateTokens(a.streamed);
    else if (body) completion = worstCaseOutputTokens(body, this.#defaultMaxOutputTokens);
    return {
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
      priced: this.prices.resolve(model, provider),
    };
  }

  /**
   * Prices the answer's `usage` and the failed attempts' `parts`, counts them in the metrics and assigns
   * the request's usage (their sum) and cost (once). Any billed part without a price makes the cost unknown.
   */
  #charge(ctx: RequestContext, usage: Usage | null, estimated: boolean, parts: readonly BilledPart[]): void {
    const hit = ctx.cache.status === 'HIT';
    const upstreamCalled = ctx.upstream.attempts > 0 || hit;
    const priced = this.pricedModel(ctx);
    let cost: number | null = null;
    let saved = 0;
    let total = usage;
    if (hit) {
      cost = 0;
      saved = priced && usage ? costOf(priced.price, usage) : 0;
      if (saved > 0) this.#metrics.costSavedUsd.inc(saved);
    } else {
      const billed: BilledPart[] = usage ? [{ usage, priced }, ...parts] : [...parts];
      let micros = 0;
      let unpriced = false;
      for (const part of billed) {
        const label = part.priced?.name ?? 'other';
        this.#countTokens(label, part.usage);
        if (!part.priced) {
          unpriced = true;
          continue;
        }
        const m = microsOf(part.priced.price, part.usage);
        micros += m;
        if (m > 0) this.#metrics.costUsd.inc({ model: label }, m / 1e6);
      }
      if (unpriced && upstreamCalled) this.#unknown(ctx);
      // Nothing billed (an error before any answer): free for a priced model, unknown otherwise.
      if (billed.length === 0) cost = priced ? 0 : null;
      else cost = unpriced ? null : micros / 1e6;
      total = billed.length === 0 ? null : billed.map((p) => p.usage).reduce(addUsage);
    }
    ctx.usage = total;
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

  /**
   * Usage by the 4-characters rule, without a tokenizer (a cut-off stream). The input counts the stream
   * already reported (Anthropic's `message_start`, with cache reads and writes) are used as they are; the
   * output is the larger of the count reported so far and the estimate of the text that arrived.
   */
  approximate(ctx: RequestContext): Usage {
    const output = ctx.outcome?.output;
    const streamed = output ? approximateTokens(output.text) + Math.ceil(output.overflow / 4) : 0;
    const known = ctx.outcome?.partialUsage;
    if (known) {
      const completion = Math.max(known.completion_tokens, streamed);
      return {
        prompt_tokens: known.prompt_tokens,
        completion_tokens: completion,
        total_tokens: known.prompt_tokens + completion,
        ...(known.prompt_tokens_details ? { prompt_tokens_details: known.prompt_tokens_details } : {}),
      };
    }
    const body = ctx.request?.body;
    const prompt = body ? approximatePromptTokens(body) : 0;
    return { prompt_tokens: prompt, completion_tokens: streamed, total_tokens: prompt + streamed };
  }

  #countTokens(label: string, usage: Usage): void {
    const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
    this.#metrics.tokens.inc({ model: label, type: 'input' }, Math.max(0, usage.prompt_tokens - cached));
    if (cached > 0) this.#metrics.tokens.inc({ model: label, type: 'cached_input' }, cached);
    this.#metrics.tokens.inc({ model: label, type: 'output' }, usage.completion_tokens);
  }

  #unknown(ctx: RequestContext): void {
    this.#metrics.costUnknownModel.inc();
    // The name the price lookup used (`pricedModel`): the deployment's upstream model, not its id — the
    // name to add under pricing.models.
    const deployment = servingDeployment(ctx);
    const model = deployment?.model ?? requestedModel(ctx) ?? 'unknown';
    if (this.#warned.has(model) || this.#warned.size >= 1000) return;
    this.#warned.add(model);
    const from = deployment && deployment.id !== model ? ` (deployment "${deployment.id}")` : '';
    this.#logger.warn(
      { event: 'cost.unknown_model', model, deployment: deployment?.id ?? null },
      `no price for model "${model}"${from}: its cost is recorded as unknown (add "${model}" under pricing.models)`,
    );
  }
}

function addUsage(a: Usage, b: Usage): Usage {
  const cached =
    (a.prompt_tokens_details?.cached_tokens ?? 0) + (b.prompt_tokens_details?.cached_tokens ?? 0);
  return {
    prompt_tokens: a.prompt_tokens + b.prompt_tokens,
    completion_tokens: a.completion_tokens + b.completion_tokens,
    total_tokens: a.total_tokens + b.total_tokens,
    ...(cached > 0 ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
  };
}

/** USD with 6 decimals, as sent in X-Cost and stored. */
export function formatUsd(usd: number): string {
  // Most records save nothing (no cache hit): the common case without a number conversion.
  return usd === 0 ? '0.000000' : usd.toFixed(6);
}
