/**
 * A `Map` in exact least-recently-used order, where a use moves an entry without touching the map
 * (decision 0195).
 *
 * The usual LRU — `delete` then `set` on each hit — rebuilds the map's hash table every few hits, and V8
 * keeps each table it leaves behind with its entries and a link to the next; once one is in the old
 * generation, scavenges keep the chain alive (see `live-list.ts`, decision 0191). Here the order is a doubly
 * linked list through the entries themselves: a hit relinks one entry (four pointer writes), and the map
 * changes only when a key comes or goes. Eviction is the caller's: it knows its bounds (entries, bytes).
 *
 * @example
 * const lru = new LruMap<string, Slot>();
 * lru.set(key, slot);
 * const hit = lru.get(key); // now the most recently used
 * while (lru.size > max) lru.delete(lru.oldestKey() as string);
 */
export class LruMap<K, V> {
  readonly #map = new Map<K, LruEntry<K, V>>();
  /** The least recently used entry, or null when empty. */
  #oldest: LruEntry<K, V> | null = null;
  /** The most recently used entry, or null when empty. */
  #newest: LruEntry<K, V> | null = null;

  get size(): number {
    return this.#map.size;
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    this.#toNewest(entry);
    return entry.value;
  }

  /** The value without changing the order. */
  peek(key: K): V | undefined {
    return this.#map.get(key)?.value;
  }

  /** Sets the value as the most recently used (a key already present keeps its map entry). */
  set(key: K, value: V): void {
    const entry = this.#map.get(key);
    if (entry !== undefined) {
      entry.value = value;
      this.#toNewest(entry);
      return;
    }
    const added = new LruEntry(key, value, this.#newest);
    if (this.#newest === null) this.#oldest = added;
    else this.#newest.newer = added;
    this.#newest = added;
    this.#map.set(key, added);
  }

  /** Removes the key; false when it was absent. */
  delete(key: K): boolean {
    const entry = this.#map.get(key);
    if (entry === undefined) return false;
    this.#map.delete(key);
    this.#unlink(entry);
    // A removed entry points nowhere: an old-generation entry must not keep young values alive.
    entry.value = undefined as V;
    return true;
  }

  /** The least recently used key (the next to evict), or undefined when empty. */
  oldestKey(): K | undefined {
    return this.#oldest?.key;
  }

  /** The entries, least recently used first, as a copy (the map may change while a caller walks it). */
  entries(): Array<[K, V]> {
    const out: Array<[K, V]> = [];
    for (let e = this.#oldest; e !== null; e = e.newer) out.push([e.key, e.value]);
    return out;
  }

  /** The keys, least recently used first, as a copy. */
  keys(): K[] {
    const out: K[] = [];
    for (let e = this.#oldest; e !== null; e = e.newer) out.push(e.key);
    return out;
  }

  #toNewest(entry: LruEntry<K, V>): void {
    if (entry === this.#newest) return;
    this.#unlink(entry);
    entry.older = this.#newest;
    if (this.#newest === null) this.#oldest = entry;
    else this.#newest.newer = entry;
    this.#newest = entry;
  }

  #unlink(entry: LruEntry<K, V>): void {
    const { older, newer } = entry;
    if (older === null) this.#oldest = newer;
    else older.newer = newer;
    if (newer === null) this.#newest = older;
    else newer.older = older;
    entry.older = null;
    entry.newer = null;
  }
}

class LruEntry<K, V> {
  readonly key: K;
  value: V;
  older: LruEntry<K, V> | null;
  newer: LruEntry<K, V> | null = null;

  constructor(key: K, value: V, older: LruEntry<K, V> | null) {
    this.key = key;
    this.value = value;
    this.older = older;
  }
}
