/**
 * The verifier's pair model (decision 0161): a logistic regression over the two embeddings themselves —
 * InferSent / SentEval pair features [u ⊙ v, |u − v|] — whose margin is one more input of the verifier's trees.
 * The weights come from `npm run train:verifier` (scripts/train-verifier/pair-model.ts) with the
 * standardisation folded in, so scoring is 2·d multiply-adds.
 *
 * @example
 * const pair = createPairModel(artefact.pairModel);
 * pair.margin(queryVector, cachedVector); // e.g. 2.3 (log-odds that the pair has the same meaning)
 */

export interface PairModelArtefact {
  kind: 'logistic';
  /** Vector size the weights are for. */
  dimensions: number;
  /** Weight of u[i]·v[i]. */
  product: number[];
  /** Weight of |u[i] − v[i]|. */
  difference: number[];
  bias: number;
}

export interface PairModel {
  readonly dimensions: number;
  /** The log-odds of the pair (symmetric in its two vectors). */
  margin(u: Float32Array, v: Float32Array): number;
}

export function createPairModel(a: PairModelArtefact): PairModel {
  if (a.kind !== 'logistic' || a.product.length !== a.dimensions || a.difference.length !== a.dimensions)
    throw new Error('verifier artefact: malformed pair model');
  const product = Float64Array.from(a.product);
  const difference = Float64Array.from(a.difference);
  const d = a.dimensions;
  return {
    dimensions: d,
    margin(u, v) {
      let z = a.bias;
      for (let i = 0; i < d; i++) {
        const x = u[i]!;
        const y = v[i]!;
        z += product[i]! * x * y + difference[i]! * Math.abs(x - y);
      }
      return z;
    },
  };
}
