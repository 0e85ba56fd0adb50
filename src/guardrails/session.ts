/**
 * One request's guardrail state: the vault of masked values (a value gets one placeholder per request,
 * `<EMAIL_1>`, the same every time it appears), and what fired. Raw values live only here, in memory, for
 * the request's lifetime; they are never logged, traced or stored (findings carry entity names and counts).
 */
import { ContentPolicyError } from '../core/errors.js';
import { ValidationBudget } from './budget.js';
import type { Detection, Detector } from './detector.js';
import type { Direction, DirectionPlan, EffectivePolicy, EntityRule } from './policy.js';
import { Scanner } from './scanner.js';

/** Receives every action taken (the stage counts the metric and keeps the tally for the usage record). */
export type FiredSink = (rule: EntityRule, entity: string, direction: Direction) => void;

const PLACEHOLDER = /<([A-Z][A-Z0-9_]{0,40})_(\d{1,6})>/g;
const RESTORE = '\u0000restore';

/** Finds placeholders of values masked in this request's input (only those are restored). */
function placeholderDetector(): Detector {
  return {
    entity: RESTORE,
    find(text, out) {
      if (!text.includes('<')) return;
      PLACEHOLDER.lastIndex = 0;
      for (let m = PLACEHOLDER.exec(text); m !== null; m = PLACEHOLDER.exec(text)) {
        out.push({ start: m.index, end: m.index + m[0].length, entity: RESTORE });
      }
    },
    hold(text) {
      const m = /<[A-Z0-9_]{0,48}$/.exec(text.length > 50 ? text.slice(-50) : text);
      return m ? m[0].length : 0;
    },
  };
}

export class GuardSession {
  readonly policy: EffectivePolicy;
  readonly #fired: FiredSink;
  readonly #placeholders = new Map<string, string>();
  readonly #restorable = new Map<string, string>();
  readonly #counters = new Map<string, number>();
  /** Placeholders the request already held (numbers a new value must not take). */
  readonly #reserved = new Set<string>();
  /** The output scanner (with placeholder restoration when the policy restores), or null. */
  readonly outputScanner: Scanner | null;
  /** Whether the input changed (the native request of a passthrough API is then stale). */
  inputChanged = false;
  /** The request's bound on costly validation, shared by both directions. */
  readonly budget = new ValidationBudget();

  constructor(policy: EffectivePolicy, fired: FiredSink) {
    this.policy = policy;
    this.#fired = fired;
    const detectors = [...(policy.output?.scanner.detectors ?? [])];
    if (policy.restore) detectors.push(placeholderDetector());
    this.outputScanner = detectors.length > 0 ? new Scanner(detectors) : null;
  }

  /**
   * Notes the placeholders a request text already holds (a conversation sent back with `<EMAIL_2>` in it):
   * call for every text before `input`, so a masked value never takes a number in use.
   */
  reserve(text: string): void {
    if (!text.includes('<')) return;
    PLACEHOLDER.lastIndex = 0;
    for (let m = PLACEHOLDER.exec(text); m !== null; m = PLACEHOLDER.exec(text)) this.#reserved.add(m[0]);
  }

  /** Applies the input checks to one text. @throws ContentPolicyError on a `block` */
  input(text: string): string {
    const plan = this.policy.input;
    if (!plan || text.length === 0) return text;
    const out = this.apply(text, plan.scanner.scan(text, this.budget), 0, text.length, 'input');
    if (out !== text) this.inputChanged = true;
    return out;
  }

  /** Applies the output checks (and restoration) to a whole text. */
  output(text: string): string {
    if (!this.outputScanner || text.length === 0) return text;
    return this.apply(text, this.outputScanner.scan(text, this.budget), 0, text.length, 'output');
  }

  /**
   * `text` with the request values restored into it masked again: the outcome's captured text (body logs)
   * must never hold a raw value, though the client receives them back.
   */
  unrestored(text: string): string {
    if (!this.policy.restore || this.#restorable.size === 0) return text;
    let out = text;
    for (const [placeholder, value] of this.#restorable) out = out.replaceAll(value, placeholder);
    return out;
  }

  /**
   * `text[from, to)` with the detections inside it replaced by their action. Detections must be sorted and
   * non-overlapping (the scanner's); those outside the range are ignored.
   */
  apply(text: string, found: readonly Detection[], from: number, to: number, direction: Direction): string {
    let out = '';
    let at = from;
    for (const d of found) {
      if (d.start < from || d.end > to) continue;
      const replacement = this.#replacement(text.slice(d.start, d.end), d.entity, direction);
      if (replacement === null) continue;
      out += text.slice(at, d.start) + replacement;
      at = d.end;
    }
    return at === from ? text.slice(from, to) : out + text.slice(at, to);
  }

  #replacement(value: string, entity: string, direction: Direction): string | null {
    if (entity === RESTORE) return this.#restorable.get(value) ?? null;
    const plan = direction === 'input' ? this.policy.input : this.policy.output;
    const rule = plan?.rules.get(entity);
    if (!rule) return null;
    this.#fired(rule, entity, direction);
    switch (rule.action) {
      case 'log_only':
        return null;
      case 'block':
        throw new ContentPolicyError(
          direction === 'input'
            ? `The request was blocked by guardrail policy "${rule.policy}": it contains a value of type "${entity}".`
            : `The answer was blocked by guardrail policy "${rule.policy}": it contains a value of type "${entity}".`,
        );
      case 'redact':
        return `[REDACTED_${entity.toUpperCase()}]`;
      case 'mask':
        return this.#mask(value, entity, direction);
    }
  }

  #mask(value: string, entity: string, direction: Direction): string {
    const known = this.#placeholders.get(value);
    if (known !== undefined) return known;
    const label = entity.toUpperCase();
    let n = (this.#counters.get(label) ?? 0) + 1;
    let placeholder = `<${label}_${n}>`;
    while (this.#reserved.has(placeholder)) placeholder = `<${label}_${++n}>`;
    this.#counters.set(label, n);
    this.#placeholders.set(value, placeholder);
    if (direction === 'input') this.#restorable.set(placeholder, value);
    return placeholder;
  }
}

/** Re-exported for the stream window. */
export type { DirectionPlan };
