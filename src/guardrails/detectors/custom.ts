/**
 * Detectors from a policy's configuration: custom regexes (`patterns`) and deny-lists (`deny_list`: terms
 * matched case-insensitively on word boundaries; the words of a term across any run of whitespace — a line
 * break, two spaces, a tab — as pasted text wraps them).
 */
import { type Detector, eachMatch } from '../detector.js';

export interface CustomPattern {
  /** Entity name (metric label, placeholder `<NAME_1>`). */
  entity: string;
  regex: string;
  ignoreCase: boolean;
  /** Longest text the pattern can match: streams hold back this many characters while it may grow. */
  maxLength: number;
}

export function patternDetector(pattern: CustomPattern): Detector {
  const re = new RegExp(pattern.regex, pattern.ignoreCase ? 'gi' : 'g');
  return {
    entity: pattern.entity,
    find(text, out) {
      eachMatch(re, text, (m) => {
        if (m[0].length > 0) out.push({ start: m.index, end: m.index + m[0].length, entity: pattern.entity });
      });
    },
    hold: (text) => Math.min(text.length, pattern.maxLength),
  };
}

/** ASCII whitespace (the detectors read the normal view: other spaces are spaces there). */
const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

/** Whitespace a stream's hold reads beyond the longest term (words wrapped with long runs between them). */
const HOLD_SLACK = 256;

function escapeRegex(term: string): string {
  return term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The term's words, escaped, joined by "any run of whitespace". */
function termPattern(term: string): string {
  return term.split(/\s+/).map(escapeRegex).join('\\s+');
}

/** Whitespace runs as one space (terms and the text a stream holds are compared in this form). */
const collapse = (text: string) => text.replace(/\s+/g, ' ');

/** A deny-list as one alternation (longest terms first, so `acme corp` wins over `acme`). */
export function denyListDetector(entity: string, terms: readonly string[]): Detector {
  const sorted = [...new Set(terms.map((t) => collapse(t.trim())).filter((t) => t.length > 0))].sort(
    (a, b) => b.length - a.length,
  );
  const parts = sorted.map(
    (t) => `${/^\w/.test(t) ? '\\b' : ''}${termPattern(t)}${/\w$/.test(t) ? '\\b' : ''}`,
  );
  const re = new RegExp(parts.join('|') || '(?!)', 'giu');
  const prefixes = new Set<string>();
  let longest = 0;
  for (const term of sorted) {
    const lower = term.toLowerCase();
    longest = Math.max(longest, lower.length);
    for (let k = 1; k <= lower.length; k++) prefixes.add(lower.slice(0, k));
  }
  return {
    entity,
    find(text, out) {
      eachMatch(re, text, (m) => out.push({ start: m.index, end: m.index + m[0].length, entity }));
    },
    hold(text) {
      // The longest end of the text that is the start of a term (a term split across chunks), read with
      // its whitespace runs as one space: walked back from the end, at most `longest` such characters (and
      // whitespace runs up to HOLD_SLACK long).
      const stop = Math.max(0, text.length - longest - HOLD_SLACK);
      let reversed = '';
      const starts: number[] = [];
      for (let i = text.length - 1; i >= stop; i--) {
        const space = isSpace(text.charCodeAt(i));
        if (space && reversed.endsWith(' ')) {
          starts[starts.length - 1] = i;
          continue;
        }
        if (reversed.length === longest) break;
        reversed += space ? ' ' : (text[i] as string);
        starts.push(i);
      }
      const seen = [...reversed].reverse().join('').toLowerCase();
      for (let k = seen.length; k > 0; k--) {
        if (prefixes.has(seen.slice(seen.length - k))) return text.length - (starts[k - 1] as number);
      }
      return 0;
    },
  };
}
