/**
 * A bounded map with least-recently-used eviction and an optional time to live per entry. An expired entry
 * is still returned by `stale()`: the prompt resolver serves it when the database cannot be reached.
 */
export class Lru<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, { value: V; expiresAt: number }>();

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value when present and not expired at `now`. */
  get(key: K, now: number): V | undefined {
    const entry = this.#map.get(key);
    if (!entry || entry.expiresAt <= now) return undefined;
    this.#map.delete(key);
    this.#map.set(key, entry);
    return entry.value;
  }

  /** The value even when expired. */
  stale(key: K): V | undefined {
    return this.#map.get(key)?.value;
  }

  set(key: K, value: V, expiresAt = Number.POSITIVE_INFINITY): void {
    this.#map.delete(key);
    this.#map.set(key, { value, expiresAt });
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.#map.delete(key);
  }

  /** Drops every entry whose key matches. */
  deleteWhere(match: (key: K) => boolean): void {
    for (const key of [...this.#map.keys()]) if (match(key)) this.#map.delete(key);
  }
}
