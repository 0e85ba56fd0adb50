/**
 * The daily cost alert (DESIGN §8): when today's upstream cost (UTC) crosses `DAILY_COST_ALERT_THRESHOLD`,
 * one warning log, one `llm_cost_alerts_total` increment and, when configured, one webhook POST — once per
 * day. With Redis the day's total and the "already alerted" flag are shared, so a fleet alerts once; without
 * it each instance counts its own traffic. Runs at settle, off the response path; never throws.
 */
import { request } from 'undici';
import type { RedisStore } from '../stores/redis.js';
import { dailyCostKey } from '../stores/redis-keys.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { periodsCache } from './budgets.js';

export interface DailyCostAlertOptions {
  thresholdUsd: number | null;
  webhookUrl: string | null;
  webhookTimeoutMs: number;
  redis: RedisStore | null;
  keyPrefix: string;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
}

const TWO_DAYS_S = 2 * 86_400;

export class DailyCostAlert {
  readonly #o: DailyCostAlertOptions;
  #day = '';
  #totalMicros = 0;
  #alertedDay = '';
  readonly #periods = periodsCache();

  constructor(options: DailyCostAlertOptions) {
    this.#o = options;
  }

  /** Adds a request's cost to today's total; alerts when the total crosses the threshold. */
  async add(costUsd: number): Promise<void> {
    const micros = Math.round(costUsd * 1e6);
    const { day } = this.#periods(this.#o.now());
    if (day !== this.#day) {
      this.#day = day;
      this.#totalMicros = 0;
    }
    this.#totalMicros += micros;
    let total = this.#totalMicros;
    const redis = this.#o.redis;
    const key = dailyCostKey(this.#o.keyPrefix, day);
    if (redis && micros > 0) {
      try {
        const shared = await redis.run(
          (client) => client.multi().incrby(key, micros).expire(key, TWO_DAYS_S).exec(),
          1_000,
        );
        total = Number(shared?.[0]?.[1] ?? total);
      } catch (err) {
        redis.failed('cost.daily_total', err);
      }
    }
    this.#o.metrics.dailyCostUsd.set(total / 1e6);
    const threshold = this.#o.thresholdUsd;
    if (threshold === null || total < threshold * 1e6 || this.#alertedDay === day) return;
    this.#alertedDay = day;
    if (redis) {
      try {
        const first = await redis.run(
          (client) => client.set(`${key}:alerted`, '1', 'EX', TWO_DAYS_S, 'NX'),
          1_000,
        );
        if (first === null) return; // another instance alerted today
      } catch (err) {
        redis.failed('cost.alert_flag', err);
      }
    }
    this.#alert(day, total / 1e6, threshold);
  }

  #alert(day: string, totalUsd: number, thresholdUsd: number): void {
    this.#o.metrics.costAlerts.inc();
    this.#o.logger.warn(
      { event: 'cost.daily_threshold', day, total_cost_usd: totalUsd, threshold_usd: thresholdUsd },
      `daily cost ${totalUsd.toFixed(2)} USD crossed the alert threshold of ${thresholdUsd} USD`,
    );
    const url = this.#o.webhookUrl;
    if (!url) return;
    const body = JSON.stringify({
      event: 'daily_cost_threshold_crossed',
      day,
      total_cost_usd: totalUsd,
      threshold_usd: thresholdUsd,
    });
    request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      headersTimeout: this.#o.webhookTimeoutMs,
      bodyTimeout: this.#o.webhookTimeoutMs,
      signal: AbortSignal.timeout(this.#o.webhookTimeoutMs),
    })
      .then((res) => res.body.dump())
      .catch((err: unknown) => {
        this.#o.logger.warn(
          { event: 'cost.alert_webhook_failed', error: err instanceof Error ? err.message : String(err) },
          'cost alert webhook failed',
        );
      });
  }
}
