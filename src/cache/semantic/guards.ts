/**
 * Match guards of the semantic cache (decision 0014). A cosine score alone serves wrong answers: near misses
 * ("cancel my subscription" / "upgrade my subscription", "showrooms in Jabalpur" / "showrooms in Shimla")
 * embed closer than many true paraphrases. The guard has two tiers:
 *
 * - the same content words on both sides (only stop words, word forms or order differ): cosine must reach
 *   `threshold - SAME_WORDS_MARGIN`;
 * - any other wording: cosine must reach `threshold`;
 *
 * and in both, none of these rules may be broken:
 *
 * - `numbers`: the same numbers (digits, number words, `15k` = `15000`, `$ € £ %`);
 * - `negation`: the same negation polarity (`not`, `n't`, `non-`, `never`, `without`…);
 * - `entities`: every capitalised name or acronym of one text occurs in the other;
 * - `degree`: the same superlatives, comparatives and ordinals (best/worst, first/last, before/after);
 * - `substitution`: not both texts have a content word the other lacks (cancel→upgrade, Paris→Rome); one
 *   text may add or drop words, not swap them;
 * - `questionWord`: a why / when / where / who question is not answered by another kind of question;
 * - `direction`: with than / against / from / into on both sides, the shared words keep their order.
 *
 * The threshold, the margin and the rules were chosen on the tuning half of QQP only
 * (`npm run eval:semantic -- --tune`). Everything is string work on two short texts: 7–17 µs a candidate.
 *
 * @example
 * const guard = createMatchGuard();
 * guard.accept('How do I cancel my plan?', 'How do I upgrade my plan?', 0.99); // false: substitution
 * guard.accept('How do I cancel my plan?', 'How can I cancel my plan?', 0.93); // true: same words
 */
import type { MatchGuard } from './types.js';

/**
 * The cosine threshold of the shipped default (guards on, local USE-Lite embedder); see docs/caching.md
 * "Semantic quality and guards" for the measured table.
 */
export const DEFAULT_SEMANTIC_THRESHOLD = 0.985;

export type GuardRule =
  | 'numbers'
  | 'negation'
  | 'entities'
  | 'degree'
  | 'substitution'
  | 'questionWord'
  | 'direction';

export const GUARD_RULES: readonly GuardRule[] = [
  'numbers',
  'negation',
  'entities',
  'degree',
  'substitution',
  'questionWord',
  'direction',
];

export interface MatchGuardOptions {
  /** Cosine threshold (default `DEFAULT_SEMANTIC_THRESHOLD`). */
  threshold?: number;
  /** Rules to apply (default all); `[]` = cosine only, for measurement — never a production setting. */
  rules?: readonly GuardRule[];
  /** How much lower the same-content-words tier goes (default `SAME_WORDS_MARGIN`; 0 = one tier). */
  sameWordsMargin?: number;
}

/**
 * With guards on, a query whose content words are exactly the cached text's (only stop words, word forms or
 * order differ) needs a cosine of `threshold - SAME_WORDS_MARGIN`; any other wording needs `threshold`.
 */
export const SAME_WORDS_MARGIN = 0.08;

/**
 * Creates the guard the semantic cache asks before serving an entry found by vector search. Its `threshold` is
 * the search cut-off (the lower, same-words tier); `accept` applies the tier that fits the pair.
 */
export function createMatchGuard(options: MatchGuardOptions = {}): ExplainingMatchGuard {
  const threshold = options.threshold ?? DEFAULT_SEMANTIC_THRESHOLD;
  if (!(threshold > 0 && threshold <= 1))
    throw new RangeError(`semantic threshold ${threshold} not in (0, 1]`);
  const rules = new Set(options.rules ?? GUARD_RULES);
  const margin = rules.size === 0 ? 0 : (options.sameWordsMargin ?? SAME_WORDS_MARGIN);
  const sameWordsThreshold = Math.max(threshold - margin, Number.EPSILON);
  const explain = (queryText: string, cachedText: string, score: number): MatchVerdict => {
    if (!(score >= sameWordsThreshold)) return 'below threshold';
    if (rules.size === 0) return 'accepted';
    const f = pairFeatures(queryText, cachedText, score);
    if (score < threshold && (f.onlyQuery > 0 || f.onlyCached > 0)) return 'reworded below threshold';
    return firstBrokenRule(f, rules) ?? 'accepted';
  };
  return {
    threshold: sameWordsThreshold,
    explain,
    accept: (queryText, cachedText, score) => explain(queryText, cachedText, score) === 'accepted',
  };
}

/** Why a candidate was accepted or not: for the evaluation, tests and debug logs. */
export type MatchVerdict = 'accepted' | 'below threshold' | 'reworded below threshold' | GuardRule;

export interface ExplainingMatchGuard extends MatchGuard {
  explain(queryText: string, cachedText: string, score: number): MatchVerdict;
}

/** The first enabled rule the pair breaks, or null (exported for the evaluation's per-rule counts). */
export function firstBrokenRule(f: PairFeatures, rules: ReadonlySet<GuardRule>): GuardRule | null {
  if (rules.has('numbers') && f.numberMismatch) return 'numbers';
  if (rules.has('negation') && f.negationMismatch) return 'negation';
  if (rules.has('entities') && f.entityMismatch) return 'entities';
  if (rules.has('degree') && f.degreeMismatch) return 'degree';
  if (rules.has('substitution') && f.onlyQuery > 0 && f.onlyCached > 0) return 'substitution';
  if (rules.has('questionWord') && f.questionWordMismatch) return 'questionWord';
  if (rules.has('direction') && f.directionMismatch) return 'direction';
  return null;
}

/** What the guard looks at for one (query, cached) pair. */
export interface PairFeatures {
  cosine: number;
  /** Jaccard overlap of the content-word stems. */
  overlap: number;
  /** Content words only the query has, only the cached text has (a substitution shows in both). */
  onlyQuery: number;
  onlyCached: number;
  numberMismatch: boolean;
  negationMismatch: boolean;
  /** One text asks why / when / where / who, the other asks something else (how, what and which mix freely). */
  questionWordMismatch: boolean;
  /** A capitalised name or acronym of one text does not occur in the other. */
  entityMismatch: boolean;
  /** Superlatives / comparatives / ordinals differ (best vs worst, first vs last). */
  degreeMismatch: boolean;
  /** The shared content words come in another order (measured; a rule only with a directional word, below). */
  orderMismatch: boolean;
  /** Both texts have than / against / from / into and the shared words swapped places (A than B / B than A). */
  directionMismatch: boolean;
}

const STOPWORDS = new Set(
  (
    'a an the and or but if then of to in on at by for with from into onto about as is are was were be been ' +
    'being am do does did doing done have has had having i me my mine myself we us our ours you your yours he him ' +
    'his she her hers it its they them their theirs this that these those there here what which who whom whose ' +
    'why how when where can could should would will shall may might must so such than too very just also any ' +
    'some all each every one ones own same other get got getting make made really much many more most lot lots ' +
    'thing things way ways good someone something anyone anything people person like want know ever still even ' +
    "'s s t"
  ).split(' '),
);

const NEGATIONS = new Set([
  'not',
  'non',
  'no',
  'never',
  'without',
  'none',
  'nobody',
  'nothing',
  'neither',
  'nor',
]);

const QUESTION_WORDS = new Set(['how', 'why', 'what', 'when', 'where', 'who', 'whom', 'whose', 'which']);

const NUMBER_WORDS: Record<string, string> = {
  zero: '0',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
  ten: '10',
  eleven: '11',
  twelve: '12',
  twenty: '20',
  thirty: '30',
  fifty: '50',
  hundred: '100',
  thousand: '1000',
  million: '1000000',
  billion: '1000000000',
  first: '1st',
  third: '3rd',
};

const DIRECTIONAL_WORDS = new Set(['than', 'against', 'from', 'into']);

const DEGREE_WORDS = new Set([
  'best',
  'worst',
  'better',
  'worse',
  'most',
  'least',
  'first',
  'last',
  'highest',
  'lowest',
  'biggest',
  'smallest',
  'cheapest',
  'fastest',
  'easiest',
  'hardest',
  'before',
  'after',
  'more',
  'less',
]);

interface TextInfo {
  words: Set<string>;
  /** Content-word stems, in order of first occurrence (a Set keeps insertion order). */
  stems: Set<string>;
  numbers: Set<string>;
  negations: number;
  questionWord: string;
  entities: Set<string>;
  degrees: Set<string>;
  /** Has a word that makes word order matter (than, against, from, into). */
  directional: boolean;
}

/** `15,000` / `15000` / `15k` → `15000`; other tokens with digits (`iphone6`, `2nd`) are kept as they are. */
function normaliseNumber(w: string): string {
  const plain = w.replace(/,(?=\d{3})/g, '').replace(/\.$/, '');
  const k = /^(\d+(?:\.\d+)?)k$/.exec(plain);
  return k ? String(Math.round(Number(k[1]) * 1000)) : plain;
}

function stem(w: string): string {
  if (w.length > 5 && w.endsWith('ing')) return w.slice(0, -3);
  if (w.length > 4 && w.endsWith('ed')) return w.slice(0, -2);
  if (w.length > 4 && w.endsWith('ies')) return `${w.slice(0, -3)}y`;
  if (w.length > 4 && w.endsWith('es') && /(ch|sh|x|ss)es$/.test(w)) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) return w.slice(0, -1);
  return w;
}

const TOKEN = /[\p{L}\p{N}][\p{L}\p{N}'.,]*[\p{L}\p{N}]|[\p{L}\p{N}]|[$€£%]/gu;

function analyse(text: string): TextInfo {
  const raw = text
    .replace(/\b(can)'?t\b/gi, '$1 not')
    .replace(/\bwon'?t\b/gi, 'will not')
    .replace(/n't\b/gi, ' not')
    .match(TOKEN) ?? [''];
  const words = new Set<string>();
  const stems = new Set<string>();
  const numbers = new Set<string>();
  const entities = new Set<string>();
  const degrees = new Set<string>();
  let negations = 0;
  let questionWord = '';
  let directional = false;
  raw.forEach((token, i) => {
    const w = token.toLowerCase().replace(/'s$/, '');
    if (w === '') return;
    words.add(w);
    if (/\d/.test(w)) {
      numbers.add(normaliseNumber(w));
      return;
    }
    if (token === '$' || token === '€' || token === '£' || token === '%') {
      numbers.add(token);
      return;
    }
    const numberWord = NUMBER_WORDS[w];
    if (numberWord !== undefined) numbers.add(numberWord);
    if (NEGATIONS.has(w)) negations++;
    if (questionWord === '' && QUESTION_WORDS.has(w)) questionWord = w;
    if (DEGREE_WORDS.has(w)) degrees.add(w);
    if (DIRECTIONAL_WORDS.has(w)) directional = true;
    // A capitalised word that does not start the sentence, or an acronym: a name worth checking.
    if (i > 0 && /^\p{Lu}/u.test(token) && !STOPWORDS.has(w)) entities.add(w);
    else if (i === 0 && token.length > 1 && token === token.toUpperCase() && /\p{L}/u.test(token))
      entities.add(w);
    if (!STOPWORDS.has(w) && !NEGATIONS.has(w) && numberWord === undefined) stems.add(stem(w));
  });
  return { words, stems, numbers, negations, questionWord, entities, degrees, directional };
}

/** why / when / where / who ask for different things; how / what / which (and none) are interchangeable. */
function questionKind(word: string): string {
  if (word === 'whom' || word === 'whose') return 'who';
  return word === 'why' || word === 'when' || word === 'where' || word === 'who' ? word : '';
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function missingEntity(entities: Set<string>, other: TextInfo): boolean {
  for (const e of entities) {
    if (!other.stems.has(stem(e)) && !other.words.has(e)) return true;
  }
  return false;
}

/** Computes the guard's features for one pair (exported for the evaluation). */
export function pairFeatures(queryText: string, cachedText: string, cosine: number): PairFeatures {
  const q = analyse(queryText);
  const c = analyse(cachedText);
  let common = 0;
  const shared: string[] = [];
  for (const s of q.stems) {
    if (c.stems.has(s)) {
      common++;
      shared.push(s);
    }
  }
  let orderMismatch = false;
  const directional = q.directional && c.directional;
  let at = 0;
  for (const s of c.stems) {
    if (at < shared.length && s === shared[at]) at++;
    else if (q.stems.has(s)) orderMismatch = true;
  }
  const union = q.stems.size + c.stems.size - common;
  return {
    cosine,
    overlap: union === 0 ? 1 : common / union,
    onlyQuery: q.stems.size - common,
    onlyCached: c.stems.size - common,
    numberMismatch: !sameSet(q.numbers, c.numbers),
    negationMismatch: q.negations % 2 !== c.negations % 2,
    questionWordMismatch: questionKind(q.questionWord) !== questionKind(c.questionWord),
    entityMismatch: missingEntity(q.entities, c) || missingEntity(c.entities, q),
    degreeMismatch: !sameSet(q.degrees, c.degrees),
    orderMismatch,
    directionMismatch: directional && orderMismatch,
  };
}
