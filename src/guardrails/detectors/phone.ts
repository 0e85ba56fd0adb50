/**
 * Phone numbers, validated with libphonenumber-js (Google's metadata: the number must be a valid number of
 * its country, not just the right length). Candidates come from cheap regexes first, so text without
 * phone-shaped digits never reaches the library:
 *
 * - international: `+` or `00`, a country code and groups (`+44 20 7946 0958`, `0049 30 901820`);
 * - national, written with separators: NANP `(415) 555-2671`, `415.555.2671`, and trunk-prefixed numbers
 *   `020 7946 0958`, validated against the configured regions (default US, GB);
 * - a bare run of 10–11 digits only after a phone word (`phone`, `tel`, `call`, `mobile`, `fax` …):
 *   without that context it is an order number, an id or a timestamp;
 * - a national-format candidate that continues a longer run of digit groups (an account number) is not one.
 *
 * Validation is the costly part (10–20 µs a candidate): a request validates a bounded number of distinct
 * candidates (`budget.ts`); past the bound a candidate is taken for a phone number on its shape alone
 * (fail closed: masked, or blocked, rather than sent unchecked; decision 0218).
 */
import type { CountryCode, MetadataJson } from 'libphonenumber-js/core';
import { parsePhoneNumberFromString } from 'libphonenumber-js/core';
import metadata from 'libphonenumber-js/min/metadata';
import type { ValidationBudget } from '../budget.js';
import { type Detection, type Detector, eachMatch, keywordBefore, trailingNumber } from '../detector.js';

// Not followed by a letter or digit (a longer token), except an extension written on (`2671x123`, `ext5`).
const END = String.raw`(?!(?!(?:x|ext\.?)\d)\w|[.-]\d)`;
const INTERNATIONAL = new RegExp(
  String.raw`(?<![\w+]|\d[ .-])(?:\+|00)[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){2,6}${END}`,
  'g',
);
// National formats: not the tail of a longer run of digit groups (`ES24 4080 1319 0062 4646 3845`).
// NANP with or without the trunk prefix 1 (`1-800-275-2273`, `1 (415) 555-2671`).
const NANP = new RegExp(
  String.raw`(?<![\w+.-]|\d[ .-])(?:1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}${END}`,
  'g',
);
const TRUNK = new RegExp(String.raw`(?<![\w+.-]|\d[ .-])0\d{2,4}[ -]\d{3,4}[ -]?\d{3,4}${END}`, 'g');
const BARE = new RegExp(String.raw`(?<![\w+.-]|\d[ .-])\d{10,11}${END}`, 'g');
const PHONE_WORDS = /\b(?:phone|tel|telephone|call|mobile|cell|fax|whatsapp|sms|text me|ring)\b[^\n]{0,16}$/i;

export interface PhoneOptions {
  /** Countries whose national format (no `+`) is recognised. */
  regions: readonly CountryCode[];
}

const META = metadata as unknown as MetadataJson;

function validInternational(candidate: string): boolean {
  const text = candidate.startsWith('00') ? `+${candidate.slice(2)}` : candidate;
  return parsePhoneNumberFromString(text, META)?.isValid() === true;
}

function validNational(candidate: string, regions: readonly CountryCode[]): boolean {
  for (const region of regions) {
    if (parsePhoneNumberFromString(candidate, region, META)?.isValid() === true) return true;
  }
  return false;
}

/** `check(candidate)` within the request's budget; past it, true (the candidate has a phone's shape). */
function within(
  budget: ValidationBudget | undefined,
  key: string,
  candidate: string,
  check: (candidate: string) => boolean,
): boolean {
  return budget ? (budget.check(key + candidate, candidate, check) ?? true) : check(candidate);
}

export function phoneDetector(options: PhoneOptions): Detector {
  const regions = options.regions;
  const national = (candidate: string) => validNational(candidate, regions);
  return {
    entity: 'phone',
    find(text, out, budget) {
      if (!/\d[ .()-]?\d[ .()-]?\d/.test(text)) return;
      const push = (start: number, end: number) => out.push({ start, end, entity: 'phone' });
      if (text.includes('+') || text.includes('00')) {
        eachMatch(INTERNATIONAL, text, (m) => {
          let candidate = m[0];
          // A greedy match may have taken a following number's first group: try once without it.
          if (!within(budget, '+', candidate, validInternational)) {
            candidate = candidate.replace(/[ .-]?\(?\d{1,4}\)?$/, '');
            if (!within(budget, '+', candidate, validInternational)) return;
          }
          push(m.index, m.index + candidate.length);
        });
      }
      const nationals = (re: RegExp, needsWord: boolean) =>
        eachMatch(re, text, (m) => {
          if (needsWord && !keywordBefore(text, m.index, PHONE_WORDS)) return;
          if (overlaps(out, m.index)) return;
          if (within(budget, 'n', m[0], national)) push(m.index, m.index + m[0].length);
        });
      nationals(NANP, false);
      nationals(TRUNK, false);
      nationals(BARE, true);
    },
    hold: (text) => trailingNumber(text, 24),
  };
}

function overlaps(found: Detection[], at: number): boolean {
  for (const d of found) if (d.entity === 'phone' && d.start <= at && at < d.end) return true;
  return false;
}
