/**
 * Parts of the verifier recipe shared by `npm run train:verifier` and its experiments: the vocabulary of common
 * words (document frequencies over the fit texts) and the search cut-off.
 */
import type { VerifierArtefact } from '../../src/cache/semantic/verifier.js';
import type { Vocabulary } from '../../src/cache/semantic/verifier-features.js';
import type { Pair } from '../eval-semantic/data.js';

export const VOCABULARY = 4000;

/** Common words of the fit texts and their inverse document frequencies (a differing word outside them is rare). */
export function buildVocabulary(fit: readonly Pair[]): {
  artefact: VerifierArtefact['vocabulary'];
  vocab: Vocabulary;
} {
  const df = new Map<string, number>();
  for (const s of fit) {
    for (const text of [s.a, s.b]) {
      for (const w of new Set(text.toLowerCase().match(/[\p{L}\p{N}]+(?:['.][\p{L}\p{N}]+)*/gu) ?? [])) {
        if (!/\d/.test(w)) df.set(w, (df.get(w) ?? 0) + 1);
      }
    }
  }
  const documents = fit.length * 2;
  const idfOf = (count: number) => Number(Math.log((documents + 1) / (count + 1)).toFixed(3));
  const frequent = [...df.entries()]
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
    .slice(0, VOCABULARY)
    .sort((x, y) => (x[0] < y[0] ? -1 : 1));
  const artefact = {
    words: frequent.map(([w]) => w),
    idf: frequent.map(([, n]) => idfOf(n)),
    // A word outside the vocabulary is at most as frequent as the rarest one in it.
    unknownIdf: idfOf(frequent.reduce((m, [, n]) => Math.min(m, n), Number.POSITIVE_INFINITY)),
  };
  const vocab = {
    idf: new Map(artefact.words.map((w, i) => [w, artefact.idf[i]!])),
    unknown: artefact.unknownIdf,
  };
  return { artefact, vocab };
}

/** The search cut-off: below the 2nd percentile of the duplicates' cosines, in steps of 0.05. */
export function searchCutOff(duplicateCosines: readonly number[]): number {
  const sorted = [...duplicateCosines].sort((a, b) => a - b);
  return Math.floor(sorted[Math.floor(sorted.length * 0.02)]! * 20) / 20;
}
