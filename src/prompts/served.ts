/**
 * What the prompt stage served a request with: read by the usage record (`prompt_id`, `prompt_version`,
 * `experiment_id`, `variant`). Unset for a request without a prompt or experiment.
 */
import { Slot } from '../core/context.js';

export interface PromptServed {
  readonly promptId: string | null;
  readonly promptVersion: number | null;
  readonly experimentId: string | null;
  /** The variant's name, `holdout`, or null outside an experiment. */
  readonly variant: string | null;
}

export const PROMPT_SERVED = new Slot<PromptServed>('prompts.served');
