/**
 * A logistic regression over the embedding *pair* (InferSent / SentEval features): for the two unit vectors u
 * and v, the 2·d values [u ⊙ v, |u − v|], standardised, L2-regularised, fitted by L-BFGS on weighted rows.
 * Its margin is one more input of the verifier's trees; so that the trees do not over-trust it, the margin of
 * each fit row comes from a model that did not see that row (cross-fitting by folds).
 *
 * The standardisation is folded into the returned weights, so scoring is `bias + Σ product[i]·u[i]·v[i] +
 * Σ difference[i]·|u[i] − v[i]|` (src/cache/semantic/pair-model.ts).
 */

export interface PairWeights {
  product: Float64Array;
  difference: Float64Array;
  bias: number;
}

/** Row-major matrix of pair features: `rows` × `2·dimensions`. */
export interface PairMatrix {
  rows: number;
  columns: number;
  data: Float32Array;
}

export function pairMatrix(pairs: readonly [Float32Array, Float32Array][]): PairMatrix {
  const d = pairs[0]![0].length;
  const columns = 2 * d;
  const data = new Float32Array(pairs.length * columns);
  pairs.forEach(([u, v], r) => {
    const o = r * columns;
    for (let i = 0; i < d; i++) {
      data[o + i] = u[i]! * v[i]!;
      data[o + d + i] = Math.abs(u[i]! - v[i]!);
    }
  });
  return { rows: pairs.length, columns, data };
}

/** Column means and standard deviations over the given rows. */
function columnStats(m: PairMatrix, rows: readonly number[]): { mean: Float64Array; scale: Float64Array } {
  const mean = new Float64Array(m.columns);
  const sq = new Float64Array(m.columns);
  for (const r of rows) {
    const o = r * m.columns;
    for (let j = 0; j < m.columns; j++) {
      const x = m.data[o + j]!;
      mean[j]! += x;
      sq[j]! += x * x;
    }
  }
  const scale = new Float64Array(m.columns);
  for (let j = 0; j < m.columns; j++) {
    mean[j]! /= rows.length;
    const variance = sq[j]! / rows.length - mean[j]! * mean[j]!;
    scale[j] = variance > 1e-12 ? 1 / Math.sqrt(variance) : 0;
  }
  return { mean, scale };
}

export interface LogisticOptions {
  /** L2 penalty on the standardised weights (the loss is the weighted mean log-loss). */
  lambda: number;
  iterations?: number;
}

/**
 * Fits the model on `rows` of `m`. Returns raw-space weights (standardisation folded in): the margin of a
 * row x is `bias + Σ w[j]·x[j]`.
 */
export function trainLogistic(
  m: PairMatrix,
  rows: readonly number[],
  labels: readonly number[],
  weights: readonly number[],
  options: LogisticOptions,
): { w: Float64Array; bias: number } {
  const { mean, scale } = columnStats(m, rows);
  const p = m.columns;
  const n = rows.length;
  // Standardised copy of the rows (float32: the data is float32 anyway).
  const x = new Float32Array(n * p);
  rows.forEach((r, i) => {
    const o = r * p;
    for (let j = 0; j < p; j++) x[i * p + j] = (m.data[o + j]! - mean[j]!) * scale[j]!;
  });
  let totalWeight = 0;
  for (const r of rows) totalWeight += weights[r]!;
  const y = rows.map((r) => labels[r]!);
  const s = rows.map((r) => weights[r]! / totalWeight);
  // θ = [w (p), bias].
  const evaluate = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let z = theta[p]!;
      const o = i * p;
      for (let j = 0; j < p; j++) z += theta[j]! * x[o + j]!;
      // log(1 + e^z) − y·z, stably.
      loss += s[i]! * ((z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[i]! * z);
      const g = s[i]! * (1 / (1 + Math.exp(-z)) - y[i]!);
      for (let j = 0; j < p; j++) grad[j]! += g * x[o + j]!;
      grad[p]! += g;
    }
    for (let j = 0; j < p; j++) {
      loss += 0.5 * options.lambda * theta[j]! * theta[j]!;
      grad[j]! += options.lambda * theta[j]!;
    }
    return loss;
  };
  const theta = lbfgs(evaluate, p + 1, options.iterations ?? 300);
  const w = new Float64Array(p);
  let bias = theta[p]!;
  for (let j = 0; j < p; j++) {
    w[j] = theta[j]! * scale[j]!;
    bias -= w[j]! * mean[j]!;
  }
  return { w, bias };
}

export function marginOf(m: PairMatrix, row: number, model: { w: Float64Array; bias: number }): number {
  let z = model.bias;
  const o = row * m.columns;
  for (let j = 0; j < m.columns; j++) z += model.w[j]! * m.data[o + j]!;
  return z;
}

/** Minimises a smooth function with limited-memory BFGS (memory 10, backtracking Armijo line search). */
function lbfgs(
  f: (theta: Float64Array, grad: Float64Array) => number,
  size: number,
  iterations: number,
): Float64Array {
  const memory = 10;
  let theta = new Float64Array(size);
  let grad = new Float64Array(size);
  let value = f(theta, grad);
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rho: number[] = [];
  const dotp = (a: Float64Array, b: Float64Array) => {
    let t = 0;
    for (let i = 0; i < a.length; i++) t += a[i]! * b[i]!;
    return t;
  };
  for (let it = 0; it < iterations; it++) {
    // Two-loop recursion: direction = −H·grad.
    const q = Float64Array.from(grad);
    const alpha: number[] = [];
    for (let k = sList.length - 1; k >= 0; k--) {
      alpha[k] = rho[k]! * dotp(sList[k]!, q);
      for (let i = 0; i < size; i++) q[i]! -= alpha[k]! * yList[k]![i]!;
    }
    const gamma =
      sList.length > 0
        ? dotp(sList[sList.length - 1]!, yList[yList.length - 1]!) /
          dotp(yList[yList.length - 1]!, yList[yList.length - 1]!)
        : 1 / Math.max(1e-12, Math.sqrt(dotp(grad, grad)));
    for (let i = 0; i < size; i++) q[i]! *= gamma;
    for (let k = 0; k < sList.length; k++) {
      const beta = rho[k]! * dotp(yList[k]!, q);
      for (let i = 0; i < size; i++) q[i]! += (alpha[k]! - beta) * sList[k]![i]!;
    }
    const direction = q.map((v) => -v);
    const slope = dotp(grad, direction);
    if (slope >= 0) break;
    let step = 1;
    const next = new Float64Array(size);
    const nextGrad = new Float64Array(size);
    let nextValue = Number.POSITIVE_INFINITY;
    for (let tries = 0; tries < 30; tries++) {
      for (let i = 0; i < size; i++) next[i] = theta[i]! + step * direction[i]!;
      nextValue = f(next, nextGrad);
      if (nextValue <= value + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(nextValue < value)) break;
    const sVec = new Float64Array(size);
    const yVec = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      sVec[i] = next[i]! - theta[i]!;
      yVec[i] = nextGrad[i]! - grad[i]!;
    }
    const sy = dotp(sVec, yVec);
    if (sy > 1e-12) {
      sList.push(sVec);
      yList.push(yVec);
      rho.push(1 / sy);
      if (sList.length > memory) {
        sList.shift();
        yList.shift();
        rho.shift();
      }
    }
    const improvement = value - nextValue;
    theta = next;
    grad = nextGrad;
    value = nextValue;
    if (improvement < 1e-10 * Math.max(1, Math.abs(value))) break;
  }
  return theta;
}

/**
 * Cross-fitted margins: the margin of each row by a model fitted on the other folds (`fold[row]` in 0..k−1),
 * and the model fitted on every row. `lambdas` are tried and the one with the lowest weighted out-of-fold
 * log-loss is kept.
 */
export function crossFit(
  m: PairMatrix,
  labels: readonly number[],
  weights: readonly number[],
  fold: readonly number[],
  lambdas: readonly number[],
  log: (line: string) => void = () => {},
): { margins: Float64Array; model: { w: Float64Array; bias: number }; lambda: number } {
  const folds = Math.max(...fold) + 1;
  let best: { margins: Float64Array; lambda: number; loss: number } | null = null;
  for (const lambda of lambdas) {
    const margins = new Float64Array(m.rows);
    for (let k = 0; k < folds; k++) {
      const train: number[] = [];
      const test: number[] = [];
      for (let r = 0; r < m.rows; r++) (fold[r] === k ? test : train).push(r);
      const model = trainLogistic(m, train, labels, weights, { lambda });
      for (const r of test) margins[r] = marginOf(m, r, model);
    }
    let loss = 0;
    let total = 0;
    for (let r = 0; r < m.rows; r++) {
      const z = margins[r]!;
      const l = (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - labels[r]! * z;
      loss += weights[r]! * l;
      total += weights[r]!;
    }
    loss /= total;
    log(`pair model λ=${lambda}: out-of-fold log-loss ${loss.toFixed(4)}`);
    if (!best || loss < best.loss) best = { margins, lambda, loss };
  }
  const all = Array.from({ length: m.rows }, (_, r) => r);
  const model = trainLogistic(m, all, labels, weights, { lambda: best!.lambda });
  return { margins: best!.margins, model, lambda: best!.lambda };
}
