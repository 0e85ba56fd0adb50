/**
 * Latency learned from live traffic: an exponentially weighted moving average (EWMA) per deployment of the
 * whole-answer latency (non-stream) and of the time to first token (streams).
 */
import { RecencyOrder } from '../core/recency.js';

export interface LatencyEstimate {
  /** EWMA of the time to a whole answer, ms; null until one was measured. */
  latencyMs: number | null;
  /** EWMA of the time to the first chunk of a stream, ms; null until one was measured. */
  ttftMs: number | null;
  /** Clock time of the last measurement or probe; -Infinity when never used. */
  lastSeenAt: number;
  samples: number;
}

/** An estimate and when it last moved in the map's order (`RecencyOrder`). */
interface Tracked extends LatencyEstimate {
  movedAt: number;
}

/**
 * @example
 * const tracker = new LatencyTracker(0.3);
 * tracker.observe('openai/gpt-4o', 'latency', 812, clock.now());
 * tracker.get('openai/gpt-4o')?.latencyMs; // 812
 */
export class LatencyTracker {
  readonly #alpha: number;
  readonly #maxEntries: number;
  /** In least-recently-used order (`RecencyOrder`: an entry moves to the end when used, at most so often). */
  readonly #byId = new Map<string, Tracked>();
  readonly #order: RecencyOrder;

  /**
   * `alpha` in (0, 1]: the weight of the newest sample. `maxEntries` bounds the deployments tracked:
   * `provider/model` names come from clients, so the least recently used estimate is dropped first.
   */
  constructor(alpha: number, maxEntries = 10_000) {
    this.#alpha = alpha;
    this.#maxEntries = maxEntries;
    this.#order = new RecencyOrder(maxEntries);
  }

  /** Deployments tracked (bounded by `maxEntries`). */
  get size(): number {
    return this.#byId.size;
  }

  observe(id: string, kind: 'latency' | 'ttft', ms: number, at: number): void {
    const e = this.#entry(id);
    const field = kind === 'latency' ? 'latencyMs' : 'ttftMs';
    const prev = e[field];
    e[field] = prev === null ? ms : prev + this.#alpha * (ms - prev);
    e.lastSeenAt = at;
    e.samples++;
  }

  /** Marks a deployment as just sent a probe, so one probe goes out per interval, not a burst. */
  touch(id: string, at: number): void {
    this.#entry(id).lastSeenAt = at;
  }

  get(id: string): Readonly<LatencyEstimate> | undefined {
    return this.#byId.get(id);
  }

  /** The estimate used to compare deployments: TTFT for streams, latency otherwise, the other as a stand-in. */
  estimate(id: string, stream: boolean): number | null {
    const e = this.#byId.get(id);
    if (!e) return null;
    return stream ? (e.ttftMs ?? e.latencyMs) : (e.latencyMs ?? e.ttftMs);
  }

  #entry(id: string): LatencyEstimate {
    const known = this.#byId.get(id);
    if (known) {
      this.#order.touch(this.#byId, id, known);
      return known;
    }
    const e: Tracked = {
      latencyMs: null,
      ttftMs: null,
      lastSeenAt: Number.NEGATIVE_INFINITY,
      samples: 0,
      movedAt: this.#order.stamp(),
    };
    if (this.#byId.size >= this.#maxEntries) {
      const oldest = this.#byId.keys().next().value;
      if (oldest !== undefined) this.#byId.delete(oldest);
    }
    this.#byId.set(id, e);
    return e;
  }
}
