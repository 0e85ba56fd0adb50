/**
 * Pre-bound metric children for the hot path. `counter.inc({ model, status, … })` hashes its label object
 * (sorted keys, joined) on every call; a child bound once per label combination (`counter.labels(…)`) and
 * found again by a key the caller builds from the values it already holds skips that work, and the label
 * object is built only the first time. Label values are bounded (DESIGN §9), and so is this map: past
 * `max` combinations, children are bound per call as before.
 */
export class BoundChildren<Labels, Child> {
  readonly #children = new Map<string, Child>();
  readonly #bind: (labels: Labels) => Child;
  readonly #max: number;

  /**
   * @example
   * const byRoute = new BoundChildren((l: { method: string; route: string }) => histogram.labels(l));
   * const key = `${method} ${route}`;
   * (byRoute.get(key) ?? byRoute.bind(key, { method, route })).observe(seconds);
   */
  constructor(bind: (labels: Labels) => Child, max = 1024) {
    this.#bind = bind;
    this.#max = max;
  }

  /** The child bound for `key`, if any. */
  get(key: string): Child | undefined {
    return this.#children.get(key);
  }

  /** Binds (and remembers, within the bound) the child for `key`. */
  bind(key: string, labels: Labels): Child {
    const child = this.#bind(labels);
    if (this.#children.size < this.#max) this.#children.set(key, child);
    return child;
  }
}
