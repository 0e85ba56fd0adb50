/**
 * The short-lived things in flight (requests), kept where code must find them later (shutdown), without
 * what a `Set` of them costs the young generation (decision 0191).
 *
 * A `Set` or `Map` whose entries come and go all the time rebuilds its hash table every few operations, and
 * V8 keeps the table it leaves behind whole: the entries it held then, and a link to the table that
 * replaced it (for iterators still on it). A full collection moves the live table to the old generation.
 * Then the next rebuild leaves an old table behind, and scavenges cannot tell that it is garbage: they treat
 * its links as live until the next full collection. Every later table, and every entry any of them held,
 * survives each scavenge and is promoted. For the gateway's in-flight set that was every request's whole
 * graph: its context, bodies, parsed answer and closures (≈ 1.2 MB promoted per scavenge).
 *
 * Here `add` links one small node and `delete` unlinks it and clears its fields, so a finished value is
 * reachable from nothing, old or young. Both are O(1); iteration is over a copy, so the list may change
 * while a caller walks it.
 *
 * @example const node = inflight.add(ctx); res.on('close', () => inflight.delete(node));
 */
export class LiveList<T> implements Iterable<T> {
  #head: LiveNode<T> | null = null;
  #size = 0;

  /** How many values are in the list. */
  get size(): number {
    return this.#size;
  }

  /** Adds `value` (at the front); the node returned is what `delete` takes. */
  add(value: T): LiveNode<T> {
    const node = new LiveNode(value, this.#head);
    if (this.#head !== null) this.#head.prev = node;
    this.#head = node;
    this.#size++;
    return node;
  }

  /** Removes the node's value; false when it was removed before (deleting twice is harmless). */
  delete(node: LiveNode<T>): boolean {
    if (!node.linked) return false;
    const { prev, next } = node;
    if (prev === null) this.#head = next;
    else prev.next = next;
    if (next !== null) next.prev = prev;
    // Nothing of a removed node points anywhere: an old-generation node must not keep young values alive.
    node.value = null;
    node.prev = null;
    node.next = null;
    node.linked = false;
    this.#size--;
    return true;
  }

  /** The values, newest first, as a copy. */
  toArray(): T[] {
    const out: T[] = [];
    for (let node = this.#head; node !== null; node = node.next) out.push(node.value as T);
    return out;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.toArray()[Symbol.iterator]();
  }
}

/** One value's place in a `LiveList`; only the list reads or writes its fields. */
export class LiveNode<T> {
  /** @internal */ value: T | null;
  /** @internal */ prev: LiveNode<T> | null = null;
  /** @internal */ next: LiveNode<T> | null;
  /** @internal */ linked = true;

  constructor(value: T, next: LiveNode<T> | null) {
    this.value = value;
    this.next = next;
  }
}
