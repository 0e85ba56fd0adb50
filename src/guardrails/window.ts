/**
 * The sliding window over a streamed answer (one per choice). Each delta is appended to the text not yet
 * sent; everything before the point where a match could still be growing is checked and sent, the rest is
 * held. The hold is what the detectors say they need (`Detector.hold`): the trailing word for e-mails,
 * keys and ids, the trailing digit group run for phone and card numbers, an open PEM block — so prose is
 * delayed by about one word, and a value split across chunks is caught whole. A short tail of text already
 * sent is kept as context (the `version` rule for IPs) without being re-checked.
 */
import type { Scanner } from './scanner.js';
import type { GuardSession } from './session.js';

/** Context kept from the text already sent. */
const TAIL = 32;
/** Most characters held at once; beyond it the oldest part is checked and sent (bounds memory and delay). */
export const MAX_HOLD = 8192;

export class StreamWindow {
  readonly #session: GuardSession;
  readonly #scanner: Scanner;
  #tail = '';
  #pending = '';

  constructor(session: GuardSession, scanner: Scanner) {
    this.#session = session;
    this.#scanner = scanner;
  }

  /** Appends a delta; returns the text that may be sent now (possibly ''). @throws ContentPolicyError */
  push(delta: string): string {
    const full = this.#tail + this.#pending + delta;
    const from = this.#tail.length;
    let cut = Math.max(from, full.length - this.#scanner.hold(full));
    // Nothing can go out yet (a word in progress): no need to scan until it can.
    if (cut === from && full.length - from <= MAX_HOLD) {
      this.#pending = full.slice(from);
      return '';
    }
    const found = this.#scanner.scan(full, this.#session.budget);
    for (const d of found) {
      if (d.start >= from && d.end > cut - 1 && d.start < cut) cut = d.start;
    }
    if (full.length - cut > MAX_HOLD) {
      cut = full.length - MAX_HOLD;
      for (const d of found) if (d.start < cut && d.end > cut) cut = d.end;
    }
    return this.#emit(full, found, from, cut);
  }

  /** The end of the answer: everything held is checked and returned. */
  flush(): string {
    if (this.#pending.length === 0) return '';
    const full = this.#tail + this.#pending;
    return this.#emit(full, this.#scanner.scan(full, this.#session.budget), this.#tail.length, full.length);
  }

  #emit(full: string, found: ReturnType<Scanner['scan']>, from: number, cut: number): string {
    const out = cut > from ? this.#session.apply(full, found, from, cut, 'output') : '';
    this.#pending = full.slice(cut);
    const sent = full.slice(0, cut);
    this.#tail = sent.length > TAIL ? sent.slice(-TAIL) : sent;
    return out;
  }
}
