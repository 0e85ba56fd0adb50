/**
 * prom-client counters and histograms whose `inc` / `observe` skip prom-client's per-call work once a label
 * set has been seen: no label validation, no hash string built from the labels, no closure per
 * observation, no number-to-string conversion of the bucket bound (decision 0153).
 *
 * They are prom-client metrics (same registry, same `get()`, same exposition); only the update path
 * differs. The first update of a label set goes through prom-client itself (which validates the label
 * names and creates the series); the series it created is then remembered in a small index keyed by the
 * label values, and later updates add to that series directly. A remembered series is used only while it
 * is still the one prom-client holds under its key, so `reset()` and `remove()` (from anywhere, also
 * `registry.resetMetrics()`) simply send the next update back through prom-client.
 *
 * Differences from prom-client, by design: a label object with the same values for the declared label
 * names but an extra, undeclared name is not rejected once that label set is known (the label names are
 * checked by the compiler at every call site); exemplars are not supported.
 *
 * @example
 * const requests = new SeriesCounter({ name: 'x_total', help: '…', labelNames: ['model'] as const });
 * requests.inc({ model: 'gpt-4o' }); // first time: prom-client; afterwards a Map lookup and an addition
 */
import { Counter, type CounterConfiguration, Histogram, type HistogramConfiguration } from 'prom-client';

/** The per-label-set objects prom-client 15 keeps in `hashMap` (what its exposition reads). */
interface CounterCell {
  value: number;
  labels: Record<string, unknown>;
}
interface HistogramCell {
  labels: Record<string, unknown>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}
type Cells<C> = Record<string, C>;

/** A remembered series: prom-client's key for it and the object it holds under that key. */
interface Bound<C> {
  readonly key: string;
  readonly cell: C;
}

type Labels = Record<string, string | number | undefined>;
const NO_LABELS: Labels = Object.freeze({});

/**
 * Label values → the series prom-client created for them: one nested Map level per declared label name
 * (no string built per call). Bounded by the metric's own label sets, which are bounded by design.
 */
class SeriesIndex<C extends { labels: Record<string, unknown> }> {
  readonly #names: readonly string[];
  #root: Map<unknown, unknown> = new Map();
  #unlabelled: Bound<C> | undefined;

  constructor(names: readonly string[]) {
    this.#names = names;
  }

  find(labels: Labels): Bound<C> | undefined {
    const names = this.#names;
    if (names.length === 0) return this.#unlabelled;
    let node: unknown = this.#root;
    for (let i = 0; i < names.length && node !== undefined; i++) {
      node = (node as Map<unknown, unknown>).get(labels[names[i] as string]);
    }
    return node as Bound<C> | undefined;
  }

  /** Remembers the series prom-client holds for `labels` (just created or updated by prom-client). */
  remember(labels: Labels, cells: Cells<C>): void {
    const names = this.#names;
    let found: Bound<C> | undefined;
    for (const key in cells) {
      const cell = cells[key] as C;
      if (sameValues(cell.labels, labels, names)) {
        found = { key, cell };
        break;
      }
    }
    if (found === undefined) return;
    if (names.length === 0) {
      this.#unlabelled = found;
      return;
    }
    let node = this.#root;
    for (let i = 0; i < names.length - 1; i++) {
      const value = labels[names[i] as string];
      let next = node.get(value) as Map<unknown, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(value, next);
      }
      node = next;
    }
    node.set(labels[names[names.length - 1] as string], found);
  }
}

/** The equality prom-client's series key expresses: `${value}` per label name, undefined = absent. */
function sameValues(a: Record<string, unknown>, b: Labels, names: readonly string[]): boolean {
  for (const name of names) {
    const x = a[name];
    const y = b[name];
    if (x === y) continue;
    if (x === undefined || y === undefined || `${x}` !== `${y}`) return false;
  }
  return true;
}

const isLabels = (value: unknown): value is Labels => typeof value === 'object' && value !== null;

/** A prom-client `Counter` whose `inc` is pre-bound per label set after its first use. */
export class SeriesCounter<T extends string = string> extends Counter<T> {
  constructor(config: CounterConfiguration<T>) {
    if (config.enableExemplars) throw new Error('SeriesCounter: exemplars are not supported');
    super(config);
    const index = new SeriesIndex<CounterCell>(config.labelNames ?? []);
    // prom-client installs `inc` as an own property in its constructor; this one takes its place.
    const slow = this.inc as (labels: unknown, value?: unknown) => void;
    const self = this as unknown as { hashMap: Cells<CounterCell> };
    this.inc = ((first?: Labels | number, second?: number) => {
      const labels = isLabels(first) ? first : NO_LABELS;
      const value = isLabels(first) ? second : first;
      const bound = index.find(labels);
      // Negative, NaN and infinite values take prom-client's path (it throws, or does what it does).
      if (bound !== undefined && self.hashMap[bound.key] === bound.cell) {
        if (value === undefined || value === null) {
          bound.cell.value += 1;
          return;
        }
        if (value >= 0 && value < Number.POSITIVE_INFINITY) {
          bound.cell.value += value;
          return;
        }
      }
      slow.call(this, first, second);
      index.remember(labels, self.hashMap);
    }) as Counter<T>['inc'];
  }
}

/** A prom-client `Histogram` whose `observe` is pre-bound per label set after its first use. */
export class SeriesHistogram<T extends string = string> extends Histogram<T> {
  constructor(config: HistogramConfiguration<T>) {
    if (config.enableExemplars) throw new Error('SeriesHistogram: exemplars are not supported');
    super(config);
    const index = new SeriesIndex<HistogramCell>(config.labelNames ?? []);
    const self = this as unknown as { hashMap: Cells<HistogramCell>; upperBounds: readonly number[] };
    const bounds = self.upperBounds;
    // prom-client's bucket counts are keyed by the bound as a string: computed once, not per observation.
    const keys = bounds.map((bound) => String(bound));
    const slow = this.observe as (labels: unknown, value?: unknown) => void;
    this.observe = ((first: Labels | number, second?: number) => {
      const labels = isLabels(first) ? first : NO_LABELS;
      const value = isLabels(first) ? second : first;
      const bound = index.find(labels);
      if (
        bound !== undefined &&
        typeof value === 'number' &&
        Number.isFinite(value) &&
        self.hashMap[bound.key] === bound.cell
      ) {
        const cell = bound.cell;
        cell.sum += value;
        cell.count += 1;
        for (let i = 0; i < bounds.length; i++) {
          if (value <= (bounds[i] as number)) {
            const key = keys[i] as string;
            cell.bucketValues[key] = (cell.bucketValues[key] ?? 0) + 1;
            break;
          }
        }
        return;
      }
      slow.call(this, first, second);
      index.remember(labels, self.hashMap);
    }) as Histogram<T>['observe'];
  }
}
