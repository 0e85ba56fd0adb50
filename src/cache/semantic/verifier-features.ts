/**
 * The match verifier's features (DESIGN §6, decision 0115): numbers describing one (query, cached) pair that
 * a small model turns into the probability that one text may be answered with the other's answer.
 *
 * On top of the guard's analysis (`pairFeatures` in guards.ts: content words, numbers, negation, entities,
 * degree words, question words, word order) come lexical overlaps (word, word-bigram and character-trigram
 * Jaccard, and overlap weighted by inverse document frequency), units, dates, rare words (words outside the
 * artefact's vocabulary), a role swap ("from A to B" / "from B to A") and the length ratio. Everything is
 * string work on two short texts.
 *
 * @example
 * const x = verifierFeatures('How do I cancel my plan?', 'How do I upgrade my plan?', 0.97, vocabulary);
 * x[FEATURE_NAMES.indexOf('substitution')]; // 1
 */
import { pairFeatures } from './guards.js';

/** Feature order of the vector (the artefact stores it and is refused when it differs). */
export const FEATURE_NAMES = [
  'cosine',
  'stemJaccard',
  'wordJaccard',
  'bigramJaccard',
  'trigramJaccard',
  'onlyQuery',
  'onlyCached',
  'substitution',
  'numbersDiffer',
  'negationMismatch',
  'entityMismatch',
  'degreeMismatch',
  'questionWordMismatch',
  'orderMismatch',
  'roleSwap',
  'lengthRatio',
  'rareDiffer',
  'unitMismatch',
  'dateMismatch',
  'shorterLength',
  'idfOverlap',
  'idfDiffMax',
  'idfDiffSum',
] as const;

/** Inverse document frequencies of the words the artefact knows; other words get `unknown`. */
export interface Vocabulary {
  idf: ReadonlyMap<string, number>;
  unknown: number;
}

export type FeatureName = (typeof FEATURE_NAMES)[number];

const WORD = /[\p{L}\p{N}]+(?:['.][\p{L}\p{N}]+)*/gu;

const UNITS = new Set(
  (
    'km kilometer kilometre mile mi meter metre m cm mm inch inches foot feet ft yard kg kilogram g gram lb lbs ' +
    'pound ounce oz ton tonne liter litre l ml gallon gal cup celsius fahrenheit kelvin degree mph kph hour hr ' +
    'minute min second sec day week month year decade century gb mb kb tb byte bit ghz mhz hz watt kw kwh volt ' +
    'amp dollar usd euro eur yen jpy gbp franc chf rupee inr yuan cny peso bitcoin btc percent'
  ).split(' '),
);

const DATES = new Set(
  (
    'january february march april may june july august september october november december jan feb mar apr jun ' +
    'jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday today tomorrow ' +
    'yesterday tonight weekend morning evening night noon midnight spring summer autumn fall winter christmas eve'
  ).split(' '),
);

/** Words whose presence on both sides makes the order of the shared words carry roles. */
const RELATIONAL = new Set(
  'to from than into against before after over by vs versus onto toward towards between for'.split(' '),
);

function unitForm(w: string): string {
  return w.length > 3 && w.endsWith('s') ? w.slice(0, -1) : w;
}

interface Lexical {
  words: string[];
  wordSet: Set<string>;
  bigrams: Set<string>;
  trigrams: Set<string>;
  units: Set<string>;
  dates: Set<string>;
  relational: boolean;
}

function lexical(text: string): Lexical {
  const words = (text.toLowerCase().match(WORD) ?? []) as string[];
  const bigrams = new Set<string>();
  for (let i = 1; i < words.length; i++) bigrams.add(`${words[i - 1]} ${words[i]}`);
  const flat = ` ${words.join(' ')} `;
  const trigrams = new Set<string>();
  for (let i = 0; i + 3 <= flat.length; i++) trigrams.add(flat.slice(i, i + 3));
  const units = new Set<string>();
  const dates = new Set<string>();
  let relational = false;
  for (const w of words) {
    const u = unitForm(w);
    if (UNITS.has(u)) units.add(u);
    if (DATES.has(w)) dates.add(w);
    if (RELATIONAL.has(w)) relational = true;
  }
  return { words, wordSet: new Set(words), bigrams, trigrams, units, dates, relational };
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let common = 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (large.has(x)) common++;
  return common / (a.size + b.size - common);
}

function symmetricDifference(a: Set<string>, b: Set<string>): string[] {
  const out: string[] = [];
  for (const x of a) if (!b.has(x)) out.push(x);
  for (const x of b) if (!a.has(x)) out.push(x);
  return out;
}

const CONTENT_STOP = new Set(
  'a an the and or but of to in on at by for with from is are was were be do does did i my me you your it this that what how why when where who which can could should would will'.split(
    ' ',
  ),
);

/**
 * The feature vector of a pair, in `FEATURE_NAMES` order. `vocabulary` is the artefact's word list with
 * inverse document frequencies (a differing word outside it is "rare": a name, a product, a technical term).
 */
export function verifierFeatures(
  queryText: string,
  cachedText: string,
  cosine: number,
  vocabulary: Vocabulary,
  /** Room for inputs appended after the text features (the verifier's pair margin). */
  extra = 0,
): Float64Array {
  const g = pairFeatures(queryText, cachedText, cosine);
  const q = lexical(queryText);
  const c = lexical(cachedText);
  const numbersQ = new Set(q.words.filter((w) => /\d/.test(w)));
  const numbersC = new Set(c.words.filter((w) => /\d/.test(w)));
  let rare = 0;
  let diffSum = 0;
  let diffMax = 0;
  for (const w of symmetricDifference(q.wordSet, c.wordSet)) {
    const idf = vocabulary.idf.get(w);
    if (idf === undefined && !CONTENT_STOP.has(w) && !/\d/.test(w)) rare++;
    const weight = idf ?? vocabulary.unknown;
    diffSum += weight;
    if (weight > diffMax) diffMax = weight;
  }
  let sharedSum = 0;
  for (const w of q.wordSet) if (c.wordSet.has(w)) sharedSum += vocabulary.idf.get(w) ?? vocabulary.unknown;
  const lq = q.words.length;
  const lc = c.words.length;
  const x = new Float64Array(FEATURE_NAMES.length + extra);
  x[0] = cosine;
  x[1] = g.overlap;
  x[2] = jaccard(q.wordSet, c.wordSet);
  x[3] = jaccard(q.bigrams, c.bigrams);
  x[4] = jaccard(q.trigrams, c.trigrams);
  x[5] = g.onlyQuery;
  x[6] = g.onlyCached;
  x[7] = Math.min(g.onlyQuery, g.onlyCached);
  x[8] = g.numberMismatch ? Math.max(1, symmetricDifference(numbersQ, numbersC).length) : 0;
  x[9] = g.negationMismatch ? 1 : 0;
  x[10] = g.entityMismatch ? 1 : 0;
  x[11] = g.degreeMismatch ? 1 : 0;
  x[12] = g.questionWordMismatch ? 1 : 0;
  x[13] = g.orderMismatch ? 1 : 0;
  x[14] = g.orderMismatch && q.relational && c.relational ? 1 : 0;
  x[15] = Math.max(lq, lc) === 0 ? 1 : Math.min(lq, lc) / Math.max(lq, lc);
  x[16] = rare;
  x[17] = symmetricDifference(q.units, c.units).length > 0 ? 1 : 0;
  x[18] = symmetricDifference(q.dates, c.dates).length > 0 ? 1 : 0;
  x[19] = Math.min(lq, lc);
  x[20] = sharedSum + diffSum === 0 ? 1 : sharedSum / (sharedSum + diffSum);
  x[21] = diffMax;
  x[22] = diffSum;
  return x;
}
