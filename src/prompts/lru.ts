import { LruMap } from '../core/lru-map.js';

/**
 * A bounded map with least-recently-used eviction and an optional time to live per entry. An expired entry
 * is still returned by `stale()`: the prompt resolver serves it when the database cannot be reached.
 * A hit reorders without touching the underlying map (`LruMap`, decision 0195).
 */
export class Lru<K, V> {
  readonly #max: number;
  readonly #map = new LruMap<K, { value: V; expiresAt: number }>();

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value when present and not expired at `now`. */
  get(key: K, now: number): V | undefined {
    const entry = this.#map.peek(key);
    if (!entry || entry.expiresAt <= now) return undefined;
    this.#map.get(key);
    return entry.value;
  }

  /** The value even when expired. */
  stale(key: K): V | undefined {
    return this.#map.peek(key)?.value;
  }

  set(key: K, value: V, expiresAt = Number.POSITIVE_INFINITY): void {
    this.#map.set(key, { value, expiresAt });
    if (this.#map.size > this.#max) {
      const oldest = this.#map.oldestKey();
      if (oldest !== undefined) this.#map.delete(oldest);
    }
  }

  delete(key: K): void {
    this.#map.delete(key);
  }

  /** Drops every entry whose key matches. */
  deleteWhere(match: (key: K) => boolean): void {
    for (const key of this.#map.keys()) if (match(key)) this.#map.delete(key);
  }
}
