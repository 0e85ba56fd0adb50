/**
 * Experiment assignment (DESIGN §12): a deterministic hash of the experiment id and the sticky key picks
 * the variant, so the same end user (or session) always gets the same variant on every instance, with no
 * state kept. The hash is SHA-256; its first 48 bits, as a fraction in [0, 1), fall first in the holdout
 * (the lowest `holdout` share) and otherwise in the variants by their weights (decision 0112).
 *
 * @example
 * assignVariant(experiment, 'user:alice'); // the same variant every time for alice
 */
import { createHash } from 'node:crypto';

/** What a variant serves: a prompt version (or label) and/or a model. */
export interface Variant {
  readonly name: string;
  readonly weight: number;
  readonly prompt?: { readonly id: string; readonly version?: number; readonly label?: string };
  readonly model?: string;
}

export interface Experiment {
  readonly id: string;
  readonly status: 'running' | 'draft' | 'stopped';
  readonly variants: readonly Variant[];
  readonly sticky_by: 'user' | 'session';
  /** Share of traffic (0 to 1) kept out of the experiment: served as if there were none, recorded as `holdout`. */
  readonly holdout: number;
  /** The prompt label the experiment is attached to (requests naming it join); null = join by id only. */
  readonly prompt_id: string | null;
  readonly label: string | null;
}

/** The prompts an experiment serves: the one it is attached to and its variants' (each once, in order). */
export function promptsOf(experiment: Pick<Experiment, 'prompt_id' | 'variants'>): string[] {
  const ids = new Set<string>();
  if (experiment.prompt_id) ids.add(experiment.prompt_id);
  for (const v of experiment.variants) if (v.prompt) ids.add(v.prompt.id);
  return [...ids];
}

/** The name recorded for requests in the holdout. */
export const HOLDOUT = 'holdout';

/** A fraction in [0, 1) from the experiment id and the sticky key (48 bits of SHA-256). */
export function bucketOf(experimentId: string, stickyKey: string): number {
  const digest = createHash('sha256').update(experimentId).update('\u0000').update(stickyKey).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** The variant for a sticky key, or null for the holdout. */
export function assignVariant(
  experiment: Pick<Experiment, 'id' | 'variants' | 'holdout'>,
  stickyKey: string,
): Variant | null {
  const u = bucketOf(experiment.id, stickyKey);
  if (u < experiment.holdout) return null;
  const total = experiment.variants.reduce((sum, v) => sum + v.weight, 0);
  // Spread what is left after the holdout over the variants' weights.
  let point = ((u - experiment.holdout) / (1 - experiment.holdout)) * total;
  for (const variant of experiment.variants) {
    if (point < variant.weight) return variant;
    point -= variant.weight;
  }
  return experiment.variants[experiment.variants.length - 1] ?? null;
}

/** What the sticky key is read from (the caller's request). */
export interface StickySources {
  /** The body's `user` field. */
  readonly user: string | undefined;
  /** `X-User-ID`. */
  readonly userHeader: string | undefined;
  /** `X-Session-ID`. */
  readonly sessionHeader: string | undefined;
  /** The API key id (else the principal's user id). */
  readonly key: string;
}

/**
 * The sticky key: by `user`, the body's `user`, else `X-User-ID`, else the key; by `session`,
 * `X-Session-ID`, else the user key (a request without a session still gets a stable variant).
 */
export function stickyKey(by: Experiment['sticky_by'], s: StickySources): string {
  if (by === 'session' && s.sessionHeader) return `session:${s.sessionHeader}`;
  if (s.user) return `user:${s.user}`;
  if (s.userHeader) return `user:${s.userHeader}`;
  return `key:${s.key}`;
}
