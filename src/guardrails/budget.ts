/**
 * A request's bound on the costly part of detection: validating a candidate with a library
 * (libphonenumber: 10–20 µs each, synchronous, on the event loop). The regexes that find candidates are
 * linear and cheap; the validation is not, and one 5 MB prompt of phone-shaped text held 350,000 of them —
 * 7 s during which every other request waited (decision 0218). So each request validates at most
 * `MAX_VALIDATIONS` distinct candidates (both directions together; a candidate seen again is remembered,
 * for this request only); past that, the detector decides on the candidate's shape alone.
 */

/** Distinct candidates validated per request (≈ 10–40 ms of library work at most). */
export const MAX_VALIDATIONS = 1000;

export class ValidationBudget {
  #left: number;
  /** Results by candidate, for this request only (raw values: never logged, gone with the request). */
  readonly #seen = new Map<string, boolean>();

  constructor(limit = MAX_VALIDATIONS) {
    this.#left = limit;
  }

  /** Whether the bound was reached (a later candidate was, or would have been, decided on its shape). */
  get spent(): boolean {
    return this.#left <= 0;
  }

  /**
   * `check(candidate)`, remembered under `key` (a detector's prefix and the candidate); null when the bound
   * is spent and the candidate was not checked before.
   */
  check(key: string, candidate: string, check: (candidate: string) => boolean): boolean | null {
    const known = this.#seen.get(key);
    if (known !== undefined) return known;
    if (this.#left <= 0) return null;
    this.#left--;
    const valid = check(candidate);
    this.#seen.set(key, valid);
    return valid;
  }
}
