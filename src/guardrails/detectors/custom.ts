/**
 * Detectors from a policy's configuration: custom regexes (`patterns`) and deny-lists (`deny_list`: terms
 * matched case-insensitively on word boundaries).
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

function escapeRegex(term: string): string {
  return term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A deny-list as one alternation (longest terms first, so `acme corp` wins over `acme`). */
export function denyListDetector(entity: string, terms: readonly string[]): Detector {
  const sorted = [...new Set(terms.map((t) => t.trim()).filter((t) => t.length > 0))].sort(
    (a, b) => b.length - a.length,
  );
  const parts = sorted.map(
    (t) => `${/^\w/.test(t) ? '\\b' : ''}${escapeRegex(t)}${/\w$/.test(t) ? '\\b' : ''}`,
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
      // The longest end of the text that is the start of a term (a term split across chunks).
      for (let k = Math.min(longest, text.length); k > 0; k--) {
        if (prefixes.has(text.slice(text.length - k).toLowerCase())) return k;
      }
      return 0;
    },
  };
}
