/**
 * The `llm_circuit_state{deployment="other"}` series (DESIGN §9, bounded labels): deployments named by
 * clients outside the configuration (`provider/<any model>`) have breakers like every deployment, but no
 * series of their own — a client could otherwise create one per name, with label text of its choosing.
 * Their states are summed up in one series: the worst state among them (2 while any is open, 1 while any
 * is half-open), absent while all are closed. Updated on state changes only, never per request.
 */
import type { Gauge } from 'prom-client';
import { type BreakerState, STATE_GAUGE } from './breaker.js';

/** The label value the breakers of deployments outside the configuration share. */
export const OTHER_DEPLOYMENT = 'other';

/**
 * @example
 * const others = new OtherBreakers(metrics.circuitState);
 * new CircuitBreaker(settings, now, (state) => others.change(d.id, state));
 */
export class OtherBreakers {
  readonly #gauge: Gauge<'deployment'>;
  /** Breakers that are not closed (a closed one is not held: the map is bounded by the router's breakers). */
  readonly #states = new Map<string, Exclude<BreakerState, 'closed'>>();
  #open = 0;
  #halfOpen = 0;

  constructor(gauge: Gauge<'deployment'>) {
    this.#gauge = gauge;
  }

  /** A breaker of deployment `id` moved to `state`. */
  change(id: string, state: BreakerState): void {
    this.#take(id);
    if (state === 'open') this.#open++;
    else if (state === 'half_open') this.#halfOpen++;
    if (state !== 'closed') this.#states.set(id, state);
    this.#publish();
  }

  /** The breaker of `id` is gone (evicted). */
  forget(id: string): void {
    if (this.#take(id)) this.#publish();
  }

  #take(id: string): boolean {
    const was = this.#states.get(id);
    if (was === undefined) return false;
    this.#states.delete(id);
    if (was === 'open') this.#open--;
    else this.#halfOpen--;
    return true;
  }

  #publish(): void {
    const labels = { deployment: OTHER_DEPLOYMENT };
    if (this.#open > 0) this.#gauge.set(labels, STATE_GAUGE.open);
    else if (this.#halfOpen > 0) this.#gauge.set(labels, STATE_GAUGE.half_open);
    else this.#gauge.remove(labels);
  }
}
