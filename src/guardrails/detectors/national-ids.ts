/**
 * National identifiers, chosen because a check digit or a strict format makes them recognisable in free
 * text without a country hint:
 *
 * - `us_ssn`: `AAA-GG-SSSS` (or with spaces) obeying the SSA's rules (no 000/666/9xx area, 00 group, 0000
 *   serial, no published example numbers); nine bare digits only after `SSN` / `social security`;
 * - `uk_nino`: National Insurance number, the HMRC format (two prefix letters from the allowed sets, not
 *   BG/GB/NK/KN/TN/NT/ZZ, six digits, suffix A–D) — HMRC defines no check digit;
 * - `es_nif`: Spanish DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter), letter = mod 23;
 * - `it_fiscal_code`: Italian codice fiscale (16 characters), with its check character.
 */
import { italianFiscalCodeValid, spanishIdValid, ssnValid } from '../checksums.js';
import {
  type Detector,
  eachMatch,
  keywordBefore,
  trailingNumber,
  trailingToken,
  trailingUpperAlnum,
} from '../detector.js';

const SSN = /(?<![\w.-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w]|[.-]\d)/g;
const SSN_BARE = /(?<![\w.-])(\d{3})(\d{2})(\d{4})(?![\w]|[.-]\d)/g;
const SSN_WORDS = /\b(?:ssn|social security(?: number| no\.?)?)\b[^\n]{0,12}$/i;

export function ssnDetector(): Detector {
  return {
    entity: 'us_ssn',
    find(text, out) {
      if (!/\d{3}/.test(text)) return;
      eachMatch(SSN, text, (m) => {
        if (ssnValid(m[1] as string, m[3] as string, m[4] as string)) {
          out.push({ start: m.index, end: m.index + m[0].length, entity: 'us_ssn' });
        }
      });
      eachMatch(SSN_BARE, text, (m) => {
        if (!keywordBefore(text, m.index, SSN_WORDS)) return;
        if (ssnValid(m[1] as string, m[2] as string, m[3] as string)) {
          out.push({ start: m.index, end: m.index + m[0].length, entity: 'us_ssn' });
        }
      });
    },
    hold: (text) => trailingNumber(text, 12),
  };
}

const NINO =
  /(?<![A-Za-z0-9])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])/g;

export function ninoDetector(): Detector {
  return {
    entity: 'uk_nino',
    find(text, out) {
      eachMatch(NINO, text, (m) => {
        out.push({ start: m.index, end: m.index + m[0].length, entity: 'uk_nino' });
      });
    },
    hold: (text) => trailingUpperAlnum(text, 13),
  };
}

const NIF = /(?<![A-Za-z0-9])(?:\d{8}|[XYZ]\d{7})-?[A-Z](?![A-Za-z0-9])/g;

export function spanishIdDetector(): Detector {
  return {
    entity: 'es_nif',
    find(text, out) {
      eachMatch(NIF, text, (m) => {
        if (spanishIdValid(m[0].replace('-', ''))) {
          out.push({ start: m.index, end: m.index + m[0].length, entity: 'es_nif' });
        }
      });
    },
    hold: (text) => trailingToken(text, 10),
  };
}

const CF = /(?<![A-Za-z0-9])[A-Z]{6}\d{2}[ABCDEHLMPRST]\d{2}[A-Z]\d{3}[A-Z](?![A-Za-z0-9])/g;

export function italianFiscalCodeDetector(): Detector {
  return {
    entity: 'it_fiscal_code',
    find(text, out) {
      eachMatch(CF, text, (m) => {
        if (italianFiscalCodeValid(m[0])) {
          out.push({ start: m.index, end: m.index + m[0].length, entity: 'it_fiscal_code' });
        }
      });
    },
    hold: (text) => trailingToken(text, 16),
  };
}
