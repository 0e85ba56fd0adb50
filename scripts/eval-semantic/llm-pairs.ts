/**
 * Generates the project's LLM-style prompt pairs (`test/fixtures/semantic/llm-pairs.jsonl`): paraphrases of
 * the same request and near misses that a cache must not answer with each other — a swapped entity, number,
 * unit or date, a negation, the opposite intent, or swapped roles ("from A to B" / "from B to A").
 *
 * Written for this project from hand-made templates (no copied data). Every family of templates is a kind of
 * request people send to an LLM (support questions, coding, writing, translation, travel, maths, health …);
 * each has several phrasings and slot vocabularies. A paraphrase pair is the same slots in two different
 * phrasings; a near miss changes exactly one thing (possibly in a different phrasing too, which is harder).
 * Symmetric requests ("difference between A and B") keep their meaning when swapped: those swaps are
 * labelled paraphrases, so a verifier that rejects every swap pays for it.
 *
 * The split is by family, never by pair: the held-out half has templates and vocabularies the tuning half
 * never saw (`splitFamilies`).
 *
 * Run: `node --import tsx scripts/eval-semantic/llm-pairs.ts` (deterministic; rewrites the fixture).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { mulberry32 } from '../../src/core/random.js';
import { FAMILIES, type Family } from './llm-families.js';

export type PairKind =
  | 'paraphrase'
  | 'symmetric-swap'
  | 'entity'
  | 'number'
  | 'unit'
  | 'date'
  | 'negation'
  | 'opposite'
  | 'role';

export interface LlmPair {
  a: string;
  b: string;
  same: boolean;
  kind: PairKind;
  family: string;
  split: 'tuning' | 'held-out';
}

/** Deterministic PRNG (mulberry32). */
const rng = mulberry32;

function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function fill(template: string, values: Record<string, string>): string {
  const out = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for {${name}} in "${template}"`);
    return v;
  });
  return out.charAt(0).toUpperCase() + out.slice(1);
}

function drawSlots(r: () => number, family: Family): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, slot] of Object.entries(family.slots)) values[name] = pick(r, slot.values);
  if (family.swap) {
    const [x, y] = family.swap.slots;
    let guard = 0;
    while (values[x] === values[y] && guard++ < 20) values[y] = pick(r, family.slots[y]!.values);
  }
  return values;
}

function twoPhrasings(r: () => number, phrasings: readonly string[]): [string, string] {
  const i = Math.floor(r() * phrasings.length);
  let j = Math.floor(r() * (phrasings.length - 1));
  if (j >= i) j++;
  return [phrasings[i]!, phrasings[j]!];
}

/** One family's pairs: `perKind` paraphrases and about as many near misses, spread over its kinds. */
export function familyPairs(family: Family, perFamily: number, split: LlmPair['split']): LlmPair[] {
  const r = rng(fnv(family.name));
  const seen = new Set<string>();
  const out: LlmPair[] = [];
  const push = (a: string, b: string, same: boolean, kind: PairKind) => {
    const id = `${a}\u0000${b}`;
    if (a === b || seen.has(id)) return;
    seen.add(id);
    out.push({ a, b, same, kind, family: family.name, split });
  };
  const changeable = Object.entries(family.slots).filter(([, s]) => s.kind !== undefined);
  const missKinds: string[] = [
    ...changeable.map(([name]) => `slot:${name}`),
    ...(family.negated ? ['negation'] : []),
    ...(family.swap ? ['swap'] : []),
  ];
  for (let attempt = 0; out.length < perFamily && attempt < perFamily * 20; attempt++) {
    const values = drawSlots(r, family);
    if (attempt % 2 === 0) {
      const [p, q] = twoPhrasings(r, family.phrasings);
      push(fill(p, values), fill(q, values), true, 'paraphrase');
      continue;
    }
    const how = pick(r, missKinds);
    // Half of the near misses are also reworded: the change hides in a different sentence.
    const [p, q] = r() < 0.5 ? twoPhrasings(r, family.phrasings) : [pick(r, family.phrasings), ''];
    const other = q === '' ? p : q;
    if (how === 'negation') {
      push(fill(p, values), fill(pick(r, family.negated!), values), false, 'negation');
    } else if (how === 'swap') {
      const [x, y] = family.swap!.slots;
      const swapped = { ...values, [x]: values[y]!, [y]: values[x]! };
      const symmetric = family.swap!.symmetric === true;
      push(fill(p, values), fill(other, swapped), symmetric, symmetric ? 'symmetric-swap' : 'role');
    } else {
      const name = how.slice('slot:'.length);
      const slot = family.slots[name]!;
      const changed = { ...values, [name]: pick(r, slot.values) };
      if (changed[name] === values[name]) continue;
      push(fill(p, values), fill(other, changed), false, slot.kind!);
    }
  }
  return out;
}

/**
 * Families alternate between the halves in an order stratified by what near misses they can make (negated
 * phrasings, swaps, unit slots), then by hash, so each half has every kind of near miss.
 */
export function splitFamilies(families: readonly Family[]): Map<string, LlmPair['split']> {
  const stratum = (f: Family) =>
    `${f.negated ? 1 : 0}${f.swap ? (f.swap.symmetric ? 2 : 1) : 0}${Object.values(f.slots).some((s) => s.kind === 'unit') ? 1 : 0}`;
  const ordered = [...families].sort(
    (x, y) => stratum(x).localeCompare(stratum(y)) || fnv(x.name) - fnv(y.name),
  );
  return new Map(ordered.map((f, i) => [f.name, i % 2 === 0 ? 'tuning' : 'held-out']));
}

export function generateLlmPairs(perFamily = 64): LlmPair[] {
  const splits = splitFamilies(FAMILIES);
  return FAMILIES.flatMap((f) => familyPairs(f, perFamily, splits.get(f.name)!));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = resolve(import.meta.dirname, '../../test/fixtures/semantic/llm-pairs.jsonl');
  const pairs = generateLlmPairs();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${pairs.map((p) => JSON.stringify(p)).join('\n')}\n`);
  const count = (f: (p: LlmPair) => boolean) => pairs.filter(f).length;
  process.stderr.write(
    `wrote ${pairs.length} pairs (${count((p) => p.same)} same, ${count((p) => !p.same)} near misses; ` +
      `held-out ${count((p) => p.split === 'held-out')}) from ${FAMILIES.length} families to ${file}\n`,
  );
}
