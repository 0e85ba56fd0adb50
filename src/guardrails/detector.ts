/**
 * The detector contract. A detector finds one entity type in a text; the scanner (`scanner.ts`) runs the
 * detectors a policy turns on and resolves overlaps. Detectors look like provider adapters: one small file
 * per family under `detectors/`, pure functions over a string, unit-tested with hard negatives.
 */
import type { ValidationBudget } from './budget.js';

/** The built-in entity types (config keys, metric labels; placeholders use them upper-cased). */
export const ENTITIES = [
  'email',
  'phone',
  'credit_card',
  'iban',
  'us_ssn',
  'uk_nino',
  'es_nif',
  'it_fiscal_code',
  'ip_address',
  'secret',
] as const;

export type BuiltinEntity = (typeof ENTITIES)[number];

/** One detected value: `[start, end)` in the scanned text. Never logged: only the entity name leaves here. */
export interface Detection {
  start: number;
  end: number;
  entity: string;
}

export interface Detector {
  readonly entity: string;
  /**
   * Appends every match in `text` to `out` (any order; the scanner sorts and resolves overlaps). `budget`:
   * the request's bound on costly validation (absent: unbounded — tests, the evaluation script).
   */
  find(text: string, out: Detection[], budget?: ValidationBudget): void;
  /**
   * Streams: how many characters at the end of `text` could be the beginning of a match that is still
   * growing (the sliding window holds them back until more text arrives or the stream ends).
   */
  hold(text: string): number;
}

/** Runs a global regex over `text`, calling `accept` for each match (it may push a detection). */
export function eachMatch(re: RegExp, text: string, accept: (m: RegExpExecArray) => void): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    accept(m);
    if (m[0].length === 0) re.lastIndex++;
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 160;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isUpper = (c: number) => c >= 65 && c <= 90;
/** Digits, space, `+`, `(`, `)`, `.`, `-`. */
const isNumberChar = (c: number) =>
  isDigit(c) || c === 32 || c === 43 || c === 40 || c === 41 || c === 46 || c === 45;
const isNumberStart = (c: number) => isDigit(c) || c === 43 || c === 40;
const isUpperAlnumOrSpace = (c: number) => isUpper(c) || isDigit(c) || c === 32;

/** Length of the trailing run of non-whitespace characters (at most `cap`). */
export function trailingToken(text: string, cap: number): number {
  let i = text.length;
  const stop = Math.max(0, text.length - cap);
  while (i > stop && !isSpace(text.charCodeAt(i - 1))) i--;
  return text.length - i;
}

/**
 * Length of the trailing run that could start a number written with separators (digits, spaces, `+`, `(`,
 * `)`, `.`, `-`), beginning at a digit, `+` or `(` (at most `cap`).
 */
export function trailingNumber(text: string, cap: number): number {
  let i = text.length;
  const stop = Math.max(0, text.length - cap);
  while (i > stop && isNumberChar(text.charCodeAt(i - 1))) i--;
  while (i < text.length && !isNumberStart(text.charCodeAt(i))) i++;
  return text.length - i;
}

/** Length of the trailing run of upper-case letters, digits and single spaces (IBAN, NINO), from a letter. */
export function trailingUpperAlnum(text: string, cap: number): number {
  let i = text.length;
  const stop = Math.max(0, text.length - cap);
  while (i > stop && isUpperAlnumOrSpace(text.charCodeAt(i - 1))) i--;
  while (i < text.length && !isUpper(text.charCodeAt(i))) i++;
  return text.length - i;
}

/** Whether one of the words appears in the `window` characters before `at` (context rules). */
export function keywordBefore(text: string, at: number, words: RegExp, window = 32): boolean {
  return words.test(text.slice(Math.max(0, at - window), at));
}
