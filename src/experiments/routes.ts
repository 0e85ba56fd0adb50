/**
 * The experiment admin API (DESIGN §12; docs/prompts.md), global admin only:
 *
 *   GET  /admin/experiments               every experiment
 *   POST /admin/experiments               {id, variants: [{name, weight, prompt?: {id, version|label}, model?}],
 *                                          sticky_by: "user"|"session", holdout?, status?: "running"|"draft",
 *                                          prompt?: {id, label}} — `prompt` attaches it to a label
 *   GET  /admin/experiments/:id           one experiment
 *   POST /admin/experiments/:id/start     running
 *   POST /admin/experiments/:id/stop      stopped: requests are served as if there were none
 *   GET  /admin/experiments/:id/report    per-variant traffic, feedback with 95 % intervals, P(best)
 */
import { Type as T } from '@sinclair/typebox';
import type { FeedbackMetric } from '../config/prompts-schema.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { type AdminRequest, type AdminRoute, withStatus } from '../core/feature.js';
import { MAX_PROMPT_VERSION, PROMPT_ID_PATTERN } from '../endpoints/prompt-ref.js';
import { DEFAULT_LABEL, type PromptResolver } from '../prompts/resolver.js';
import { adminActor, type ModelCheck, refuseUnknownModel } from '../prompts/routes.js';
import { PromptNotFoundError, type PromptStore } from '../prompts/store.js';
import type { Experiment, Variant } from './assign.js';
import { buildReport } from './report.js';
import {
  ExperimentExistsError,
  ExperimentLabelTakenError,
  ExperimentNotFoundError,
  type ExperimentStore,
} from './store.js';

const Id = T.String({ pattern: PROMPT_ID_PATTERN });
const PromptRef = T.Object(
  {
    id: Id,
    version: T.Optional(T.Integer({ minimum: 1, maximum: MAX_PROMPT_VERSION })),
    label: T.Optional(Id),
  },
  { additionalProperties: false },
);
const VariantSchema = T.Object(
  {
    name: T.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
    weight: T.Number({ minimum: 0, maximum: 1_000_000 }),
    prompt: T.Optional(PromptRef),
    model: T.Optional(T.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);
export const NewExperimentBody = T.Object(
  {
    id: Id,
    variants: T.Array(VariantSchema, { minItems: 1, maxItems: 20 }),
    sticky_by: T.Optional(T.Union([T.Literal('user'), T.Literal('session')])),
    holdout: T.Optional(T.Number({ minimum: 0, exclusiveMaximum: 1 })),
    status: T.Optional(T.Union([T.Literal('running'), T.Literal('draft')])),
    prompt: T.Optional(T.Object({ id: Id, label: Id }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

interface NewExperiment {
  id: string;
  variants: Variant[];
  sticky_by?: 'user' | 'session';
  holdout?: number;
  status?: 'running' | 'draft';
  prompt?: { id: string; label: string };
}

/**
 * Checks variants (unique names, each serving a prompt or a model that exists) and the label the
 * experiment is attached to (the prompt exists, is not archived, the label is set, and every variant's
 * prompt is that prompt: decision 0227). @throws ValidationError
 */
async function checkVariants(
  body: NewExperiment,
  prompts: PromptStore,
  checkModel?: ModelCheck,
): Promise<void> {
  if (body.prompt) await checkVariantPrompt(body.prompt, prompts, 'prompt');
  if (body.variants.every((v) => v.weight === 0)) {
    throw new ValidationError('At least one variant needs a weight above 0.', 'variants');
  }
  const names = new Set<string>();
  for (const [i, v] of body.variants.entries()) {
    if (names.has(v.name))
      throw new ValidationError(`Variant name '${v.name}' is used twice.`, `variants[${i}].name`);
    if (v.name === 'holdout')
      throw new ValidationError("'holdout' names the holdout.", `variants[${i}].name`);
    names.add(v.name);
    if (!v.prompt && !v.model) {
      throw new ValidationError('A variant serves a prompt, a model, or both.', `variants[${i}]`);
    }
    if (v.prompt?.version !== undefined && v.prompt.label !== undefined) {
      throw new ValidationError('Give either version or label, not both.', `variants[${i}].prompt.label`);
    }
    refuseUnknownModel(v.model, `variants[${i}].model`, checkModel);
    if (v.prompt && body.prompt && v.prompt.id !== body.prompt.id) {
      throw new ValidationError(
        `The experiment is attached to prompt '${body.prompt.id}': its variants serve versions of that prompt, not '${v.prompt.id}'.`,
        `variants[${i}].prompt.id`,
      );
    }
    if (v.prompt) await checkVariantPrompt(v.prompt, prompts, `variants[${i}].prompt`);
  }
}

/**
 * A variant's prompt (or the attached label) must be servable now: the prompt exists and is not archived,
 * and its version — or its label (default `production`) — is set. Otherwise that share of users would get
 * 404s, or (attached) requests for a prompt that does not exist would join it.
 */
async function checkVariantPrompt(
  ref: NonNullable<Variant['prompt']>,
  prompts: PromptStore,
  param: string,
): Promise<void> {
  try {
    const label = ref.label ?? DEFAULT_LABEL;
    const found = await prompts.label(ref.id, label);
    if (found.archived) throw new ValidationError(`Prompt '${ref.id}' is archived.`, `${param}.id`);
    if (ref.version !== undefined) await prompts.version(ref.id, ref.version);
    else if (found.version === null) {
      throw new ValidationError(`Prompt '${ref.id}' has no label '${label}'.`, `${param}.label`);
    }
  } catch (err) {
    if (err instanceof PromptNotFoundError) throw new ValidationError(err.message, param);
    throw err;
  }
}

export function experimentRoutes(
  store: ExperimentStore,
  prompts: PromptStore,
  resolver: PromptResolver,
  metrics: Readonly<Record<string, FeedbackMetric>>,
  checkModel?: ModelCheck,
): AdminRoute[] {
  const IdParams = T.Object({ id: Id });
  const find = async (id: string): Promise<Experiment> => {
    try {
      return await store.get(id);
    } catch (err) {
      if (err instanceof ExperimentNotFoundError) throw new NotFoundError(err.message);
      throw err;
    }
  };
  /** The 409 for a label another experiment runs on, naming it. */
  const conflict = (running: Experiment, experiment: Pick<Experiment, 'prompt_id' | 'label'>) =>
    withStatus(409, {
      error: {
        message: `Experiment '${running.id}' is already running on ${experiment.prompt_id}@${experiment.label}; stop it first.`,
        type: 'invalid_request_error',
        code: 'conflict',
        param: 'prompt',
      },
    });
  /**
   * A label serves one running experiment: a second one attached to it would silently take over its
   * traffic (the lowest id wins). Checked here for the 409's message; the database's index (migration
   * 0011) refuses the write when two requests pass this check at once (`raced`).
   */
  const labelTaken = async (experiment: Pick<Experiment, 'id' | 'prompt_id' | 'label'>) => {
    if (!experiment.prompt_id || !experiment.label) return null;
    const running = await store.attached(experiment.prompt_id, experiment.label);
    if (!running || running.id === experiment.id) return null;
    return conflict(running, experiment);
  };
  /** The index refused the write: the 409, naming the experiment that won the race. */
  const raced = async (err: unknown, experiment: Pick<Experiment, 'id' | 'prompt_id' | 'label'>) => {
    if (!(err instanceof ExperimentLabelTakenError)) throw err;
    return (
      (await labelTaken(experiment)) ??
      withStatus(409, {
        error: {
          message: `Another experiment started running on ${experiment.prompt_id}@${experiment.label} at the same time; retry.`,
          type: 'invalid_request_error',
          code: 'conflict',
          param: 'prompt',
        },
      })
    );
  };
  const setStatus = async (request: AdminRequest, status: 'running' | 'stopped') => {
    const id = request.params.id as string;
    const current = await find(id);
    if (status === 'running') {
      const taken = await labelTaken(current);
      if (taken) return taken;
    }
    let experiment: Experiment;
    try {
      experiment = await store.setStatus(id, status, adminActor(request));
    } catch (err) {
      return raced(err, current);
    }
    resolver.forgetExperiment(id);
    return experiment;
  };
  return [
    {
      method: 'GET',
      url: '/admin/experiments',
      summary: 'List experiments',
      responses: { 200: { description: 'The experiments', component: 'AdminList' } },
      handler: async () => ({ object: 'list', data: await store.list() }),
    },
    {
      method: 'POST',
      url: '/admin/experiments',
      summary: 'Create an experiment (running, or stopped with status "draft")',
      responses: { 201: { description: 'The new experiment', component: 'AdminObject' } },
      body: NewExperimentBody,
      handler: async (request) => {
        const body = request.body as NewExperiment;
        await checkVariants(body, prompts, checkModel);
        const experiment: Experiment = {
          id: body.id,
          status: body.status === 'draft' ? 'draft' : 'running',
          variants: body.variants,
          sticky_by: body.sticky_by ?? 'user',
          holdout: body.holdout ?? 0,
          prompt_id: body.prompt?.id ?? null,
          label: body.prompt?.label ?? null,
        };
        if (experiment.status === 'running') {
          const taken = await labelTaken(experiment);
          if (taken) return taken;
        }
        try {
          await store.create(experiment, adminActor(request));
        } catch (err) {
          if (err instanceof ExperimentExistsError) {
            return withStatus(409, {
              error: { message: err.message, type: 'invalid_request_error', code: 'conflict', param: 'id' },
            });
          }
          return raced(err, experiment);
        }
        resolver.forgetExperiment(experiment.id);
        return withStatus(201, experiment);
      },
    },
    {
      method: 'GET',
      url: '/admin/experiments/:id',
      summary: 'One experiment',
      params: IdParams,
      handler: (request) => find(request.params.id as string),
    },
    {
      method: 'POST',
      url: '/admin/experiments/:id/start',
      summary: 'Start (or resume) an experiment',
      params: IdParams,
      emptyBodyIsObject: true,
      handler: (request) => setStatus(request, 'running'),
    },
    {
      method: 'POST',
      url: '/admin/experiments/:id/stop',
      summary: 'Stop an experiment: requests are served as if there were none',
      params: IdParams,
      emptyBodyIsObject: true,
      handler: (request) => setStatus(request, 'stopped'),
    },
    {
      method: 'GET',
      url: '/admin/experiments/:id/report',
      summary: 'Per variant: requests, errors, cost, latency, feedback (95 % intervals, P(best))',
      params: IdParams,
      handler: async (request) => {
        const experiment = await find(request.params.id as string);
        const [traffic, feedback] = await Promise.all([
          store.traffic(experiment.id),
          store.feedback(experiment.id),
        ]);
        return buildReport(experiment, traffic, feedback, metrics);
      },
    },
  ];
}
