/**
 * Runs a set of detectors over a text and resolves overlaps: sorted by start, the longer of two matches at
 * the same start wins, and a match that starts inside an earlier one is dropped (an IBAN's digits are not
 * also a phone number). `hold` is the streaming window: the most any detector needs held back.
 */
import type { ValidationBudget } from './budget.js';
import type { Detection, Detector } from './detector.js';
import { NormalView } from './normalise.js';

export class Scanner {
  readonly detectors: readonly Detector[];

  constructor(detectors: readonly Detector[]) {
    this.detectors = detectors;
  }

  /**
   * Non-overlapping detections in text order (`budget`: the request's, see `budget.ts`). The detectors read
   * the text's normal view (`normalise.ts`); the spans returned are the original text's.
   */
  scan(text: string, budget?: ValidationBudget): Detection[] {
    const found: Detection[] = [];
    const view = NormalView.of(text);
    for (const detector of this.detectors) detector.find(view ? view.text : text, found, budget);
    if (view) {
      for (const d of found) [d.start, d.end] = view.original(d.start, d.end);
    }
    if (found.length < 2) return found;
    found.sort((a, b) => a.start - b.start || b.end - a.end);
    const kept: Detection[] = [];
    let end = -1;
    for (const d of found) {
      if (d.start < end) continue;
      kept.push(d);
      end = d.end;
    }
    return kept;
  }

  /** Characters at the end of `text` that may still become (part of) a match. */
  hold(text: string): number {
    const view = NormalView.of(text);
    const seen = view ? view.text : text;
    let most = 0;
    for (const detector of this.detectors) {
      const n = detector.hold(seen);
      if (n > most) most = n;
    }
    return view ? view.originalTail(text.length, most) : most;
  }
}
