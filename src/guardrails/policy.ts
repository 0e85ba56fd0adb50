/**
 * Policies by name and their resolution for one request. A request is checked against the policies of
 * every level that names some — in order global (`default_policy`), then org, team and key as those exist
 * (today: global and key) — merged into one effective policy:
 *
 * - per entity and direction the strictest action wins: block > redact > mask > log_only (a key cannot
 *   weaken the global policy); the metric and the usage record name the policy whose action won;
 * - `restore` only when every applied policy asks for it (a policy that masks without restoring wins);
 * - `max_input_tokens`: the smallest.
 *
 * Effective policies are computed once per distinct list of names and kept (bounded).
 */
import type { CountryCode } from 'libphonenumber-js/core';
import type { GuardrailPolicyConfig, GuardrailsConfig } from '../config/guardrails-schema.js';
import { type Detector, ENTITIES } from './detector.js';
import { denyListDetector, patternDetector } from './detectors/custom.js';
import { emailDetector } from './detectors/email.js';
import {
  italianFiscalCodeDetector,
  ninoDetector,
  spanishIdDetector,
  ssnDetector,
} from './detectors/national-ids.js';
import { ipDetector } from './detectors/network.js';
import { creditCardDetector, ibanDetector } from './detectors/payment.js';
import { phoneDetector } from './detectors/phone.js';
import { secretDetector } from './detectors/secrets.js';
import { Scanner } from './scanner.js';

export type Action = 'mask' | 'redact' | 'block' | 'log_only';
export type Direction = 'input' | 'output';

const STRICTNESS: Record<Action, number> = { log_only: 0, mask: 1, redact: 2, block: 3 };

/** A policy with its defaults applied. */
export type Policy = Required<Omit<GuardrailPolicyConfig, 'max_input_tokens' | 'deny_list'>> &
  Pick<GuardrailPolicyConfig, 'max_input_tokens' | 'deny_list'>;

/** The built-in policy `pii`: mask every entity type in requests and answers, no restore. */
export const BUILTIN_PII: Policy = {
  input: true,
  output: true,
  restore: false,
  entities: { '*': 'mask' },
  patterns: [],
};

/** Applies the documented defaults to a configured policy. */
export function withDefaults(p: GuardrailPolicyConfig): Policy {
  return {
    ...p,
    input: p.input ?? true,
    output: p.output ?? true,
    restore: p.restore ?? false,
    entities: p.entities ?? {},
    patterns: p.patterns ?? [],
  };
}

/** What happens to one entity in one direction, and which policy decided it. */
export interface EntityRule {
  readonly action: Action;
  readonly policy: string;
}

/** The checks of one direction. */
export interface DirectionPlan {
  readonly scanner: Scanner;
  readonly rules: ReadonlyMap<string, EntityRule>;
}

export interface EffectivePolicy {
  readonly input: DirectionPlan | null;
  readonly output: DirectionPlan | null;
  readonly restore: boolean;
  readonly maxInputTokens: { readonly limit: number; readonly policy: string } | null;
}

/** Thrown when a level names a policy that is not configured. */
export class UnknownPolicyError extends Error {
  constructor(readonly policy: string) {
    super(`guardrail policy "${policy}" is not configured`);
    this.name = 'UnknownPolicyError';
  }
}

const MAX_RESOLVED = 256;

/** The configured policies (plus the built-in `pii`), validated and compiled once. */
export class PolicyBook {
  readonly #policies = new Map<string, Policy>();
  readonly #builtins: ReadonlyMap<string, Detector>;
  readonly #custom = new Map<string, Detector[]>();
  readonly #resolved = new Map<string, EffectivePolicy | null>();

  /** @throws Error naming the policy and pattern when a custom regex does not compile. */
  constructor(config: Pick<GuardrailsConfig, 'policies' | 'phone_regions'>) {
    this.#policies.set('pii', BUILTIN_PII);
    for (const [name, policy] of Object.entries(config.policies))
      this.#policies.set(name, withDefaults(policy));
    const regions = config.phone_regions as CountryCode[];
    this.#builtins = new Map<string, Detector>([
      ['email', emailDetector()],
      ['phone', phoneDetector({ regions })],
      ['credit_card', creditCardDetector()],
      ['iban', ibanDetector()],
      ['us_ssn', ssnDetector()],
      ['uk_nino', ninoDetector()],
      ['es_nif', spanishIdDetector()],
      ['it_fiscal_code', italianFiscalCodeDetector()],
      ['ip_address', ipDetector()],
      ['secret', secretDetector()],
    ]);
    for (const [name, policy] of this.#policies) {
      const detectors: Detector[] = [];
      for (const p of policy.patterns) {
        try {
          detectors.push(
            patternDetector({
              entity: p.name,
              regex: p.regex,
              ignoreCase: p.ignore_case ?? false,
              maxLength: p.max_length ?? 64,
            }),
          );
        } catch (err) {
          throw new Error(
            `guardrails.policies.${name}.patterns.${p.name}: invalid regex (${(err as Error).message})`,
          );
        }
      }
      if (policy.deny_list) {
        detectors.push(denyListDetector(policy.deny_list.name ?? 'deny_list', policy.deny_list.terms));
      }
      this.#custom.set(name, detectors);
    }
  }

  has(name: string): boolean {
    return this.#policies.has(name);
  }

  names(): string[] {
    return [...this.#policies.keys()];
  }

  /**
   * The effective policy for the levels' policy names (outermost level first), or null when no level names
   * a policy. @throws UnknownPolicyError
   */
  resolve(levels: readonly (readonly string[])[]): EffectivePolicy | null {
    const names: string[] = [];
    for (const level of levels) for (const n of level) if (!names.includes(n)) names.push(n);
    if (names.length === 0) return null;
    const key = names.join(',');
    const cached = this.#resolved.get(key);
    if (cached !== undefined) return cached;
    const resolved = this.#merge(names);
    if (this.#resolved.size >= MAX_RESOLVED) this.#resolved.clear();
    this.#resolved.set(key, resolved);
    return resolved;
  }

  #merge(names: readonly string[]): EffectivePolicy {
    const rules: Record<Direction, Map<string, EntityRule>> = { input: new Map(), output: new Map() };
    const custom: Record<Direction, Detector[]> = { input: [], output: [] };
    let restore = true;
    let maxInputTokens: EffectivePolicy['maxInputTokens'] = null;
    for (const name of names) {
      const policy = this.#policies.get(name);
      if (!policy) throw new UnknownPolicyError(name);
      restore &&= policy.restore;
      if (
        policy.max_input_tokens !== undefined &&
        (!maxInputTokens || policy.max_input_tokens < maxInputTokens.limit)
      ) {
        maxInputTokens = { limit: policy.max_input_tokens, policy: name };
      }
      const actions = entityActions(policy);
      for (const direction of ['input', 'output'] as const) {
        if (!policy[direction]) continue;
        const into = rules[direction];
        for (const [entity, action] of actions) {
          const current = into.get(entity);
          if (!current || STRICTNESS[action] > STRICTNESS[current.action])
            into.set(entity, { action, policy: name });
        }
        for (const d of this.#custom.get(name) ?? []) {
          if (!custom[direction].some((c) => c === d)) custom[direction].push(d);
        }
      }
    }
    const plan = (direction: Direction): DirectionPlan | null => {
      const into = rules[direction];
      if (into.size === 0) return null;
      const detectors = [
        ...ENTITIES.filter((e) => into.has(e)).map((e) => this.#builtins.get(e) as Detector),
      ];
      detectors.push(...custom[direction]);
      return { scanner: new Scanner(detectors), rules: into };
    };
    return { input: plan('input'), output: plan('output'), restore, maxInputTokens };
  }
}

/** A policy's action per entity: built-ins (explicit, else `*`), custom patterns and the deny-list. */
function entityActions(policy: Policy): Map<string, Action> {
  const out = new Map<string, Action>();
  const entities = policy.entities as Partial<Record<string, Action>>;
  const fallback = entities['*'];
  for (const entity of ENTITIES) {
    const action = entities[entity] ?? fallback;
    if (action) out.set(entity, action);
  }
  for (const p of policy.patterns) out.set(p.name, p.action);
  if (policy.deny_list) out.set(policy.deny_list.name ?? 'deny_list', policy.deny_list.action);
  return out;
}
