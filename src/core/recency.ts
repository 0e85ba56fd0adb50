/**
 * Least-recently-used order for a bounded `Map`, without moving an entry on every use (decision 0191).
 *
 * The usual way — `delete` then `set` on each use — rebuilds the map's hash table every few uses, and V8
 * keeps each table it leaves behind with its entries and a link to the next: once one of them is in the old
 * generation, scavenges keep the whole chain alive (see `live-list.ts`). A hot key paid that on every request.
 *
 * Here an entry moves to the end only when at least half the capacity of uses went by since it last moved.
 * After any use it has moved within the last `capacity / 2` uses; so while it was used within the last
 * `capacity / 2` uses, fewer than `capacity` entries were put behind it, and eviction from the front (while
 * the size is over the capacity) never reaches it. What is dropped first is still something not used for at
 * least `capacity / 2` uses. A map of capacity 3 or less moves on every use (exact order).
 *
 * @example
 * const order = new RecencyOrder(maxEntries);
 * const e = map.get(key);
 * if (e) order.touch(map, key, e);
 * else map.set(key, { value, movedAt: order.stamp() });
 */
export class RecencyOrder {
  #uses = 0;
  readonly #moveAfter: number;

  constructor(capacity: number) {
    this.#moveAfter = Math.max(1, Math.floor(capacity / 2));
  }

  /** A new entry's `movedAt` (it is set at the end of the map). */
  stamp(): number {
    return ++this.#uses;
  }

  /** A use of `entry`, stored in `map` under `key`: moves it to the end when it has not moved for a while. */
  touch<K, E extends { movedAt: number }>(map: Map<K, E>, key: K, entry: E): void {
    const uses = ++this.#uses;
    if (uses - entry.movedAt < this.#moveAfter) return;
    entry.movedAt = uses;
    map.delete(key);
    map.set(key, entry);
  }
}
