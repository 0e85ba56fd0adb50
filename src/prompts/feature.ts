/**
 * The prompts feature (DESIGN §12): stored prompts and their admin API, experiments and their report,
 * feedback, and the prompt stage that renders a request's prompt reference. The database is opened on
 * first use (a plain request never touches it: the stage only remembers who made it, for feedback).
 */
import type { FeedbackConfig, PromptsConfig } from '../config/prompts-schema.js';
import { BadRequestError } from '../core/errors.js';
import type { Feature } from '../core/feature.js';
import { type Stage, stage } from '../core/stage.js';
import { FeedbackService } from '../experiments/feedback.js';
import { experimentRoutes } from '../experiments/routes.js';
import { ExperimentStore } from '../experiments/store.js';
import type { ChatRequest } from '../providers/types.js';
import type { FeatureDeps } from '../stores/deps.js';
import { PromptResolver } from './resolver.js';
import { type ModelCheck, promptRoutes } from './routes.js';
import { promptStage } from './stage.js';
import { PromptStore } from './store.js';

/** Recent requests whose owner an instance remembers for feedback (about 100 bytes each). */
const RECENT_REQUESTS = 50_000;

export interface PromptsFeature extends Feature {
  readonly stage: Stage;
  readonly feedback: FeedbackService;
  readonly resolver: PromptResolver;
}

export function createPromptsFeature(
  config: { prompts: PromptsConfig; feedback: FeedbackConfig },
  deps: FeatureDeps,
  validate: (body: unknown) => ChatRequest,
  /** Refuses a version's or a variant's model that nothing serves (a typo), at creation. */
  checkModel?: ModelCheck,
): PromptsFeature {
  const { logger, metrics, clock } = deps;
  const onError = (err: unknown) => {
    metrics.dependencyErrors.inc({ dependency: 'database' });
    logger.warn(
      { event: 'dependency.error', dependency: 'database', feature: 'prompts', err },
      'prompt store read failed',
    );
  };
  const prompts = new PromptStore(deps.database);
  const experiments = new ExperimentStore(deps.database);
  const resolver = new PromptResolver(prompts, experiments, {
    ttlMs: config.prompts.cache_ttl_ms,
    maxCached: config.prompts.max_cached,
    clock,
    onError,
  });
  const feedback = new FeedbackService(experiments, config.feedback.metrics, {
    recent: RECENT_REQUESTS,
    onError,
  });
  // Owners of recent requests are remembered only when feedback can be given (metrics declared).
  const seen = Object.keys(config.feedback.metrics).length > 0 ? feedback.seen.bind(feedback) : undefined;
  const render = promptStage({ resolver, validate, clock, ...(seen ? { seen } : {}) });
  const disabled = stage('prompt', (ctx, next) => {
    if (ctx.request?.kind === 'chat' && ctx.request.prompt) {
      throw new BadRequestError(
        'Prompts are turned off on this gateway (prompts.enabled).',
        'invalid_request',
        {
          param: 'prompt',
        },
      );
    }
    return next(ctx);
  });
  return {
    name: 'prompts',
    stage: config.prompts.enabled ? render : disabled,
    feedback,
    resolver,
    routes: [
      ...promptRoutes(prompts, resolver, clock, validate, checkModel),
      ...experimentRoutes(experiments, prompts, resolver, config.feedback.metrics, checkModel),
    ],
  };
}
