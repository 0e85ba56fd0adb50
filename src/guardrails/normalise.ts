/**
 * The view of a text the detectors read (Unicode evasion, audit D F5): a card number written with NBSP
 * (a web page, French number formatting), a zero-width space inside an e-mail address, full-width digits —
 * the same value to a reader and to the model, invisible to ASCII regexes. The view
 *
 * - writes every space separator (NBSP U+00A0, U+1680, U+2000–U+200A, narrow NBSP U+202F, U+205F,
 *   ideographic space U+3000) as a space, and the line and paragraph separators U+2028/U+2029 as `\n`;
 * - writes the full-width forms of ASCII (U+FF01–U+FF5E: `４１１１`, `＠`) as ASCII;
 * - drops invisible format characters: soft hyphen U+00AD, U+180E, zero-width space/non-joiner/joiner
 *   U+200B–U+200D, the direction marks and embeddings U+200E–U+200F and U+202A–U+202E, word joiner and
 *   invisible operators U+2060–U+2064, BOM U+FEFF.
 *
 * Every change is one character for one, or a deletion, so a detection in the view maps back to the
 * original text exactly (`original`): mask and redact replace the original span, invisible characters
 * inside it included. Other compatibility forms (ligatures, mathematical letters, other scripts' digits)
 * are not folded. A text without any of these characters has no view (the common case costs one regex
 * test).
 */

const SPECIAL = /[\u00A0\u00AD\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u3000\uFEFF\uFF01-\uFF5E]/;

/** The replacement of one special character ('' = dropped). */
function replacement(c: number): string {
  if (c >= 0xff01 && c <= 0xff5e) return String.fromCharCode(c - 0xfee0);
  if (c === 0x2028 || c === 0x2029) return '\n';
  if (c === 0x00ad || c === 0x180e || (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e)) return '';
  if ((c >= 0x2060 && c <= 0x2064) || c === 0xfeff) return '';
  return ' ';
}

function isSpecial(c: number): boolean {
  return (
    c === 0x00a0 ||
    c === 0x00ad ||
    c === 0x1680 ||
    c === 0x180e ||
    (c >= 0x2000 && c <= 0x200f) ||
    (c >= 0x2028 && c <= 0x202f) ||
    (c >= 0x205f && c <= 0x2064) ||
    c === 0x3000 ||
    c === 0xfeff ||
    (c >= 0xff01 && c <= 0xff5e)
  );
}

export class NormalView {
  readonly text: string;
  /** The view's index at each dropped character, in order (non-decreasing). */
  readonly #dropped: readonly number[];

  private constructor(text: string, dropped: number[]) {
    this.text = text;
    this.#dropped = dropped;
  }

  /** The view of `text`, or null when it has nothing to fold (the text is its own view). */
  static of(text: string): NormalView | null {
    if (!SPECIAL.test(text)) return null;
    let out = '';
    let from = 0;
    const dropped: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0xa0 || !isSpecial(c)) continue;
      out += text.slice(from, i);
      const r = replacement(c);
      if (r === '') dropped.push(out.length);
      out += r;
      from = i + 1;
    }
    return new NormalView(out + text.slice(from), dropped);
  }

  /** The original index of the view's character at `at`. */
  #start(at: number): number {
    return at + this.#droppedUpTo(at);
  }

  /** How many dropped characters come before the view's character at `at`. */
  #droppedUpTo(at: number): number {
    const d = this.#dropped;
    let lo = 0;
    let hi = d.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((d[mid] as number) <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The original span of the view's `[start, end)` (invisible characters inside it included). */
  original(start: number, end: number): [number, number] {
    if (end <= start) return [this.#start(start), this.#start(start)];
    return [this.#start(start), this.#start(end - 1) + 1];
  }

  /** The original length of the view's last `k` characters (a stream's hold). */
  originalTail(originalLength: number, k: number): number {
    if (k <= 0) return 0;
    return originalLength - this.#start(this.text.length - k);
  }
}
