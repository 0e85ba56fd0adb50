/**
 * Gradient-boosted regression trees for binary classification (logistic loss, Newton leaf values), small
 * and deterministic: features are binned at up to `bins` quantiles of the training data, every tree is a
 * complete binary tree of `depth` levels, no sampling. The result is the artefact's `model` (see
 * src/cache/semantic/verifier.ts for the layout and the scoring).
 */
import type { VerifierTree } from '../../src/cache/semantic/verifier.js';

export interface GbtOptions {
  trees: number;
  depth: number;
  learningRate: number;
  /** L2 regularisation of leaf values. */
  lambda: number;
  /** Least hessian (≈ weighted rows × p(1−p)) on each side of a split. */
  minChildWeight: number;
  bins: number;
}

export interface GbtModel {
  kind: 'gbt';
  depth: number;
  base: number;
  trees: VerifierTree[];
}

/** Split points per feature: distinct quantiles of the training values. */
function edgesOf(rows: readonly Float64Array[], f: number, bins: number): number[] {
  const values = rows.map((r) => r[f]!).sort((a, b) => a - b);
  const out: number[] = [];
  for (let b = 1; b < bins; b++) {
    const v = values[Math.floor((b / bins) * (values.length - 1))]!;
    if (out.length === 0 || v > out[out.length - 1]!) out.push(v);
  }
  // The last edge would send everything left; drop it when it is the maximum.
  if (out.length > 0 && out[out.length - 1]! >= values[values.length - 1]!) out.pop();
  return out;
}

function binOf(edges: readonly number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function trainGbt(
  rows: readonly Float64Array[],
  labels: readonly number[],
  weights: readonly number[],
  options: GbtOptions,
): GbtModel {
  const n = rows.length;
  const features = rows[0]!.length;
  const edges = Array.from({ length: features }, (_, f) => edgesOf(rows, f, options.bins));
  const binned = Array.from({ length: features }, (_, f) => {
    const col = new Uint8Array(n);
    for (let i = 0; i < n; i++) col[i] = binOf(edges[f]!, rows[i]![f]!);
    return col;
  });
  let wPos = 0;
  let wAll = 0;
  for (let i = 0; i < n; i++) {
    wAll += weights[i]!;
    if (labels[i] === 1) wPos += weights[i]!;
  }
  const prior = Math.min(Math.max(wPos / wAll, 1e-6), 1 - 1e-6);
  const base = Math.log(prior / (1 - prior));
  const margin = new Float64Array(n).fill(base);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const trees: VerifierTree[] = [];
  const internal = 2 ** options.depth - 1;
  for (let t = 0; t < options.trees; t++) {
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-margin[i]!));
      grad[i] = (p - labels[i]!) * weights[i]!;
      hess[i] = Math.max(p * (1 - p), 1e-6) * weights[i]!;
    }
    const tree: VerifierTree = {
      feature: new Array(internal).fill(-1),
      threshold: new Array(internal).fill(0),
      leaves: new Array(internal + 1).fill(0),
    };
    // Rows of each node, level by level.
    let level: Int32Array[] = [Int32Array.from({ length: n }, (_, i) => i)];
    let first = 0;
    for (let d = 0; d < options.depth; d++) {
      const nextLevel: Int32Array[] = [];
      level.forEach((idx, k) => {
        const node = first + k;
        const split = bestSplit(idx, binned, edges, grad, hess, options);
        if (split) {
          tree.feature[node] = split.feature;
          tree.threshold[node] = edges[split.feature]![split.bin]!;
        }
        const left: number[] = [];
        const right: number[] = [];
        for (const i of idx) {
          if (!split || binned[split.feature]![i]! <= split.bin) left.push(i);
          else right.push(i);
        }
        nextLevel.push(Int32Array.from(left), Int32Array.from(right));
      });
      first += level.length;
      level = nextLevel;
    }
    level.forEach((idx, leaf) => {
      let g = 0;
      let h = 0;
      for (const i of idx) {
        g += grad[i]!;
        h += hess[i]!;
      }
      const value = idx.length === 0 ? 0 : (-g / (h + options.lambda)) * options.learningRate;
      tree.leaves[leaf] = value;
      for (const i of idx) margin[i]! += value;
    });
    trees.push(tree);
  }
  return { kind: 'gbt', depth: options.depth, base, trees };
}

function bestSplit(
  idx: Int32Array,
  binned: readonly Uint8Array[],
  edges: readonly number[][],
  grad: Float64Array,
  hess: Float64Array,
  o: GbtOptions,
): { feature: number; bin: number } | null {
  if (idx.length < 2) return null;
  let G = 0;
  let H = 0;
  for (const i of idx) {
    G += grad[i]!;
    H += hess[i]!;
  }
  const parent = (G * G) / (H + o.lambda);
  let best: { feature: number; bin: number; gain: number } | null = null;
  for (let f = 0; f < binned.length; f++) {
    const nb = edges[f]!.length + 1;
    if (nb < 2) continue;
    const gh = new Float64Array(nb);
    const hh = new Float64Array(nb);
    const col = binned[f]!;
    for (const i of idx) {
      gh[col[i]!]! += grad[i]!;
      hh[col[i]!]! += hess[i]!;
    }
    let gl = 0;
    let hl = 0;
    for (let b = 0; b < nb - 1; b++) {
      gl += gh[b]!;
      hl += hh[b]!;
      const gr = G - gl;
      const hr = H - hl;
      if (hl < o.minChildWeight || hr < o.minChildWeight) continue;
      const gain = (gl * gl) / (hl + o.lambda) + (gr * gr) / (hr + o.lambda) - parent;
      if (gain > 1e-9 && (!best || gain > best.gain)) best = { feature: f, bin: b, gain };
    }
  }
  return best;
}
