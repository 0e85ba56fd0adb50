/**
 * Payment data: credit card numbers (13–19 digits, one kind of separator, a known issuer prefix with its
 * lengths, and a valid Luhn check digit; not right after `tracking`, `order`, `invoice`, `ref` … — about
 * one random 16-digit number in ten passes Luhn and the prefix) and IBANs (country code, the country's length, mod-97 checksum).
 */
import { ibanValid, luhnValid } from '../checksums.js';
import { type Detector, eachMatch, trailingNumber, trailingUpperAlnum } from '../detector.js';

/** A number right after one of these words is that kind of number, not a card (`tracking 4237…`). */
const NOT_A_CARD =
  /\b(?:tracking|order|invoice|ref|reference|shipment|parcel|ticket|case|serial|id)\b(?:\s*(?:number|no\.?|#|:))*\s*#?\s*$/i;
const CARD = /(?<![\w.-]|\d[ -])\d{4}(?:[ -]?\d){9,15}(?![\d]|[.-]\d)/g;

/** Issuer prefixes and the lengths they issue (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay). */
function issuerAccepts(d: string): boolean {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p4 = Number(d.slice(0, 4));
  if (d.startsWith('4')) return n === 13 || n === 16 || n === 19;
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16;
  if (p2 === 34 || p2 === 37) return n === 15;
  if (d.startsWith('6011') || d.startsWith('65') || (p4 >= 6440 && p4 <= 6499)) return n >= 16 && n <= 19;
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;
  if (p2 === 36 || p2 === 38 || (p4 >= 3000 && p4 <= 3059)) return n >= 14 && n <= 19;
  if (p2 === 62) return n >= 16 && n <= 19;
  return false;
}

export function creditCardDetector(): Detector {
  return {
    entity: 'credit_card',
    find(text, out) {
      if (!/\d{4}/.test(text)) return;
      eachMatch(CARD, text, (m) => {
        const raw = m[0];
        // One kind of separator: `4111 1111 1111 1111` or `4111-1111-…`, never a mix.
        if (raw.includes(' ') && raw.includes('-')) return;
        const digits = raw.replace(/[ -]/g, '');
        if (NOT_A_CARD.test(text.slice(Math.max(0, m.index - 32), m.index))) return;
        if (issuerAccepts(digits) && luhnValid(digits)) {
          out.push({ start: m.index, end: m.index + raw.length, entity: 'credit_card' });
        }
      });
    },
    hold: (text) => trailingNumber(text, 24),
  };
}

/** IBAN lengths by country (SWIFT registry). */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
};

const IBAN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}/g;

export function ibanDetector(): Detector {
  return {
    entity: 'iban',
    find(text, out) {
      if (!/[A-Z]{2}\d{2}/.test(text)) return;
      eachMatch(IBAN, text, (m) => {
        const raw = m[0];
        const length = IBAN_LENGTHS[raw.slice(0, 2)];
        if (length === undefined) return;
        // Take exactly the country's length of characters: the greedy match may run into the next word.
        let taken = 0;
        let end = 0;
        while (end < raw.length && taken < length) {
          if (raw.charAt(end) !== ' ') taken++;
          end++;
        }
        if (taken < length) return;
        const next = text.charAt(m.index + end);
        if (/[A-Za-z0-9]/.test(next)) return;
        if (ibanValid(raw.slice(0, end).replace(/ /g, ''))) {
          out.push({ start: m.index, end: m.index + end, entity: 'iban' });
        }
      });
    },
    hold: (text) => trailingUpperAlnum(text, 42),
  };
}
