/**
 * Secrets and API keys (entity `secret`):
 *
 * - provider formats: OpenAI `sk-…` / `sk-proj-…`, Anthropic `sk-ant-…`, AWS access key ids `AKIA…` /
 *   `ASIA…`, GitHub `ghp_` / `gho_` / `ghu_` / `ghs_` / `ghr_` / `github_pat_`, Slack `xox[abposr]-`,
 *   Google `AIza…`, Stripe `sk_live_` / `rk_live_` (and `_test_`), JSON Web Tokens (`eyJ….eyJ….sig`), PEM
 *   private key blocks (`-----BEGIN … PRIVATE KEY-----` to its END line, or to the end of the text);
 * - high-entropy tokens: a run of at least 32 characters of the base64/base64url alphabet that mixes upper
 *   case, lower case and digits, whose Shannon entropy is at least 4.0 bits per character, and of which
 *   less than half is word-like (runs of 4+ lower-case or 5+ upper-case letters). Hex hashes (git SHAs,
 *   SHA-256) and UUIDs miss a class (and top out at 4.0 bits); identifiers in code (`getUserAccount…V2`)
 *   are mostly words. Random 32-character base62 tokens pass all three 99.5 % of the time.
 *
 * Public material is not a secret, though it is as random: a high-entropy token is not one inside a PEM
 * block whose label has no `PRIVATE` (certificates, public keys, certificate requests), after an SSH
 * public key type (`ssh-ed25519 AAAA…`, an `authorized_keys` line), after `;base64,` (a data URL: an inline
 * image) or after `SHA256:` (a key fingerprint). Nor is base64 of prose (`encodedProse`: text with words
 * and spaces, as a pasted e-mail body or a log field carries it), unless it follows `Basic ` (HTTP basic
 * credentials) or the prose itself holds a provider key. Provider formats and private key blocks are always
 * secrets.
 */
import { shannonEntropy } from '../checksums.js';
import { type Detector, eachMatch, trailingToken } from '../detector.js';

/** Minimum Shannon entropy (bits per character) of a generic token to count as a secret. */
export const ENTROPY_THRESHOLD = 4.0;
/** Largest share of a generic token in word-like runs (identifiers, prose glued together). */
export const WORDLIKE_MAX = 0.5;
/** Minimum length of a generic high-entropy token. */
export const ENTROPY_MIN_LENGTH = 32;

/** Provider formats, each with a literal the text must contain first (cheap `includes` before the regex). */
const PROVIDER_KEYS: Array<[literal: string, re: RegExp]> = [
  ['sk-ant-', /(?<![\w-])sk-ant-[A-Za-z0-9_-]{20,1024}/g],
  ['sk-', /(?<![\w-])sk-(?!ant-)[A-Za-z0-9_-]{20,1024}/g],
  ['AKIA', /(?<![A-Za-z0-9])AKIA[0-9A-Z]{16}(?![A-Za-z0-9])/g],
  ['ASIA', /(?<![A-Za-z0-9])ASIA[0-9A-Z]{16}(?![A-Za-z0-9])/g],
  ['gh', /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,255}(?![A-Za-z0-9])/g],
  ['github_pat_', /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{40,255}/g],
  ['xox', /(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,1024}/g],
  ['AIza', /(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g],
  ['k_', /(?<![A-Za-z0-9])[rs]k_(?:live|test)_[0-9A-Za-z]{16,1024}/g],
  [
    'eyJ',
    /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,16384}\.eyJ[A-Za-z0-9_-]{10,16384}\.[A-Za-z0-9_-]{10,16384}/g,
  ],
];
const PEM =
  /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$)/g;
const WORDLIKE = /[a-z]{4,}|[A-Z]{5,}/g;
/** The BEGIN line of a PEM block of public material (its label has no PRIVATE). */
const PUBLIC_BEGIN = /-----BEGIN ((?:(?!PRIVATE)[A-Z0-9]+ ?)+)-----/g;
/** What comes right before a token of public material. */
const PUBLIC_BEFORE =
  /(?:\b(?:ssh-(?:rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp\d{3}|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+|;base64,|\bSHA256:)$/;
/** HTTP basic credentials (`Authorization: Basic <base64 of user:password>`). */
const BASIC_BEFORE = /\bBasic\s+$/i;
// `=` only as base64 padding at the end, so `API_KEY=<token>` is not one token. Every run is bounded
// (here and in PROVIDER_KEYS): an unbounded `{32,}` over a run of millions of token characters (a pasted
// base64 file) overflows the regex engine's backtrack stack. A run longer than 16,384 characters is data,
// not a credential, and is not reported; a provider key's prefix still masks its first 1,024 characters.
const TOKEN = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,16384}={0,2}(?![A-Za-z0-9+/_=-])/g;

/**
 * The spans of PEM blocks of public material, BEGIN to END line, into `out`. Linear: blocks do not nest, so
 * the search goes on after each END; a label without an END has none after a later BEGIN either.
 */
function publicPemBlocks(text: string, out: Array<[number, number]>): void {
  const unterminated = new Set<string>();
  PUBLIC_BEGIN.lastIndex = 0;
  for (let m = PUBLIC_BEGIN.exec(text); m !== null; m = PUBLIC_BEGIN.exec(text)) {
    const label = m[1] as string;
    if (unterminated.has(label)) continue;
    const end = `-----END ${label}-----`;
    const at = text.indexOf(end, m.index + m[0].length);
    if (at < 0) {
      unterminated.add(label);
      continue;
    }
    out.push([m.index, at + end.length]);
    PUBLIC_BEGIN.lastIndex = at + end.length;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Letters (any script), digits, spaces and common punctuation: what prose is made of. */
const PROSE_CHAR = /[\p{L}\p{N}\s.,;:!?'"()-]/gu;

/**
 * Whether a base64 token decodes to prose: UTF-8 with at least two spaces, no control characters but line
 * breaks and tabs, and at least 85 % letters, digits, spaces and common punctuation, with no provider key
 * in it. `user:password` (no spaces) and binary keys are not prose.
 */
export function encodedProse(token: string): boolean {
  let text: string;
  try {
    text = UTF8.decode(Buffer.from(token, 'base64'));
  } catch {
    return false;
  }
  if (text.length < 16 || (text.match(/ /g)?.length ?? 0) < 2) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/.test(text)) return false;
  if ((text.match(PROSE_CHAR)?.length ?? 0) < 0.85 * text.length) return false;
  return !PROVIDER_KEYS.some(([literal, re]) => text.includes(literal) && new RegExp(re.source).test(text));
}

/** Whether a generic token looks random enough to be a secret. */
export function highEntropy(token: string): boolean {
  if (token.length < ENTROPY_MIN_LENGTH) return false;
  if (!/[A-Z]/.test(token) || !/[a-z]/.test(token) || !/\d/.test(token)) return false;
  let wordlike = 0;
  for (const m of token.matchAll(WORDLIKE)) wordlike += m[0].length;
  if (wordlike / token.length >= WORDLIKE_MAX) return false;
  return shannonEntropy(token) >= ENTROPY_THRESHOLD;
}

export function secretDetector(): Detector {
  return {
    entity: 'secret',
    find(text, out) {
      const push = (start: number, end: number) => out.push({ start, end, entity: 'secret' });
      for (const [literal, re] of PROVIDER_KEYS) {
        if (text.includes(literal)) eachMatch(re, text, (m) => push(m.index, m.index + m[0].length));
      }
      const publicBlocks: Array<[number, number]> = [];
      if (text.includes('-----BEGIN')) {
        eachMatch(PEM, text, (m) => push(m.index, m.index + m[0].length));
        publicPemBlocks(text, publicBlocks);
      }
      eachMatch(TOKEN, text, (m) => {
        if (!highEntropy(m[0])) return;
        if (publicBlocks.some(([from, to]) => m.index >= from && m.index < to)) return;
        const before = text.slice(Math.max(0, m.index - 48), m.index);
        if (PUBLIC_BEFORE.test(before)) return;
        if (!BASIC_BEFORE.test(before) && encodedProse(m[0])) return;
        push(m.index, m.index + m[0].length);
      });
    },
    hold(text) {
      // An open PEM block is held until its END line (bounded by the window).
      const begin = text.lastIndexOf('-----BEGIN');
      if (begin >= 0 && text.indexOf('-----END', begin) < 0) return text.length - begin;
      const header = /-{1,5}[A-Z0-9 ]{0,40}$/.exec(text.length > 48 ? text.slice(-48) : text);
      return Math.max(header ? header[0].length : 0, trailingToken(text, 512));
    },
  };
}
