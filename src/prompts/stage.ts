/**
 * The prompt stage (after `decode`, before `resolve`; DESIGN §12). For a chat request that references a
 * prompt or an experiment:
 *
 * 1. the experiment — named by `experiment`, or attached to the prompt label asked for — assigns a variant
 *    by a deterministic hash of the sticky key (`experiments/assign.ts`); the holdout keeps the request's
 *    own reference. A request that names a prompt is served that prompt only: the prompt must exist (404),
 *    and an experiment serving another prompt is a 422 naming `experiment` (decision 0227);
 * 2. the variant's prompt (else the request's: `version`, else `label`, default `production`) is rendered
 *    with the request's variables (422 naming a missing, undeclared or mistyped one) and the messages are
 *    prepended to the request's own;
 * 3. the model is the variant's, else the version's, else the request's; the version's parameters apply
 *    where the request sets none (`withVersionParams`); the result is validated as a plain chat body would
 *    be.
 *
 * The request then continues as a plain one: resolve checks the key may use the model, guardrails and the
 * cache see the rendered messages. `X-Gateway-Variant` names the variant; the usage record gets the
 * prompt, version, experiment and variant (`PROMPT_SERVED`). Any other request passes straight through.
 */
import type { Clock } from '../core/clock.js';
import type { CanonicalRequest, PromptReference, RequestContext } from '../core/context.js';
import { ValidationError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import { type Next, type Stage, stage } from '../core/stage.js';
import {
  assignVariant,
  type Experiment,
  HOLDOUT,
  promptsOf,
  stickyKey,
  type Variant,
} from '../experiments/assign.js';
import type { ChatRequest } from '../providers/types.js';
import { DEFAULT_LABEL, type PromptResolver } from './resolver.js';
import { PROMPT_SERVED } from './served.js';
import type { RenderedMessage } from './template.js';

export const VARIANT_HEADER = 'x-gateway-variant';
export const PROMPT_VERSION_HEADER = 'x-gateway-prompt-version';

export interface PromptStageDeps {
  resolver: PromptResolver;
  /** Validates the rendered chat body (schema and cross-field rules). */
  validate(body: unknown): ChatRequest;
  clock: Pick<Clock, 'now'>;
  /** Called for every request that reaches the stage (feedback ownership of requests not yet recorded). */
  seen?(ctx: RequestContext): void;
}

interface Target {
  readonly id: string;
  readonly version: number | null;
  readonly label: string | null;
}

function header(ctx: RequestContext, name: string): string | undefined {
  const value = ctx.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Request fields that are one setting under two names: a request that sets either has set it, so the
 * version's value under the other name does not apply (a request's `max_tokens: 300` beats a version's
 * `max_completion_tokens: 5`, which providers would otherwise prefer).
 */
const ONE_SETTING: ReadonlyArray<readonly string[]> = [['max_tokens', 'max_completion_tokens']];

/**
 * The request body with the version's parameters where the request sets none (decision 0228). A field
 * the request sends as `null` is not set (OpenAI's schema: null means the default), so the version's value
 * applies and the null is not forwarded.
 */
export function withVersionParams(
  params: Readonly<Record<string, unknown>>,
  body: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...body };
  const isSet = (field: string) => body[field] !== undefined && body[field] !== null;
  for (const [field, value] of Object.entries(params)) {
    const names = ONE_SETTING.find((group) => group.includes(field)) ?? [field];
    if (names.some(isSet)) continue;
    for (const name of names) if (merged[name] === null) delete merged[name];
    merged[field] = value;
  }
  return merged;
}

/** Where the request gave its variables: the body's `variables` on `/v1/prompts/{id}/completions`. */
const variablesParam = (ctx: RequestContext): string =>
  ctx.endpoint === 'prompts' ? 'variables' : 'prompt.variables';

/**
 * The experiment a reference joins: named, or attached to the label asked for; null when none runs. The
 * prompt the request names must exist (404) — and its label, when an attached experiment would serve it —
 * and be the one the experiment serves.
 */
async function experimentOf(deps: PromptStageDeps, ref: PromptReference): Promise<Experiment | null> {
  if (ref.experiment) {
    if (ref.id) await deps.resolver.available(ref.id);
    const experiment = await deps.resolver.experiment(ref.experiment);
    // Refused whether the experiment runs or not: the request is wrong either way.
    refuseOtherPrompt(ref, experiment);
    return experiment.status === 'running' ? experiment : null;
  }
  if (!ref.id || ref.version !== null) return null;
  const label = ref.label ?? DEFAULT_LABEL;
  await deps.resolver.labelVersion(ref.id, label);
  const attached = await deps.resolver.attached(ref.id, label);
  if (attached) refuseOtherPrompt(ref, attached);
  return attached;
}

/**
 * A request that names a prompt gets that prompt: an experiment serving another one (by a variant, or
 * attached to another prompt) is a 422, not a silent swap (decision 0227). A request that names only the
 * experiment gets whatever its variants serve.
 */
function refuseOtherPrompt(ref: PromptReference, experiment: Experiment): void {
  const served = promptsOf(experiment);
  if (!ref.id || served.every((id) => id === ref.id)) return;
  const list = served.map((id) => `'${id}'`).join(', ');
  throw new ValidationError(
    `Experiment '${experiment.id}' serves prompt ${list}, not the requested prompt '${ref.id}'.`,
    'experiment',
  );
}

/** The prompt a request is served: the variant's, else the request's, else (holdout) the attached label's. */
function targetOf(
  ref: PromptReference,
  variant: Variant | null,
  experiment: Experiment | null,
): Target | null {
  if (variant?.prompt) {
    const p = variant.prompt;
    return { id: p.id, version: p.version ?? null, label: p.label ?? null };
  }
  if (ref.id) return { id: ref.id, version: ref.version, label: ref.label };
  if (experiment?.prompt_id) return { id: experiment.prompt_id, version: null, label: experiment.label };
  return null;
}

/** Creates the stage. */
export function promptStage(deps: PromptStageDeps): Stage {
  // Not async itself: a request without a prompt reference (the common case) goes on without a promise.
  return stage('prompt', (ctx, next) => {
    deps.seen?.(ctx);
    const request = ctx.request;
    if (request?.kind !== 'chat' || !request.prompt) return next(ctx);
    return render(ctx, next, request, request.prompt);
  });

  async function render(
    ctx: RequestContext,
    next: Next,
    request: Extract<CanonicalRequest, { kind: 'chat' }>,
    ref: PromptReference,
  ): Promise<Result> {
    const experiment = await experimentOf(deps, ref);
    let variant: Variant | null = null;
    if (experiment) {
      const key = stickyKey(experiment.sticky_by, {
        user: request.body.user,
        userHeader: header(ctx, 'x-user-id'),
        sessionHeader: header(ctx, 'x-session-id'),
        key: ctx.principal?.keyId ?? ctx.principal?.userId ?? 'anonymous',
      });
      variant = assignVariant(experiment, key);
    }

    const target = targetOf(ref, variant, experiment);
    let rendered: RenderedMessage[] = [];
    let served: { id: string; version: number } | null = null;
    let versionModel: string | null = null;
    let params: Readonly<Record<string, unknown>> = {};
    if (target) {
      const number =
        target.version ?? (await deps.resolver.labelVersion(target.id, target.label ?? DEFAULT_LABEL));
      const { version, compiled } = await deps.resolver.compiled(target.id, number);
      rendered = compiled.render(ref.variables, variablesParam(ctx));
      served = { id: target.id, version: number };
      versionModel = version.model;
      params = version.params;
    } else if (Object.keys(ref.variables).length > 0) {
      throw new ValidationError(
        'variables were given but no prompt is served to render them.',
        variablesParam(ctx),
      );
    }

    const model = variant?.model ?? versionModel ?? (request.model || null);
    if (!model) {
      throw new ValidationError(
        'No model: neither the request, the prompt version nor the variant names one.',
        'model',
      );
    }
    const body = deps.validate({
      ...withVersionParams(params, request.body as unknown as Record<string, unknown>),
      model,
      messages: [...rendered, ...request.body.messages],
    });
    ctx.request = { kind: 'chat', model, stream: body.stream === true, body, tags: request.tags };

    const variantName = experiment ? (variant?.name ?? HOLDOUT) : null;
    PROMPT_SERVED.set(ctx, {
      promptId: served?.id ?? null,
      promptVersion: served?.version ?? null,
      experimentId: experiment?.id ?? null,
      variant: variantName,
    });
    if (variantName !== null) ctx.responseHeaders[VARIANT_HEADER] = variantName;
    if (served) ctx.responseHeaders[PROMPT_VERSION_HEADER] = `${served.id}@${served.version}`;
    return next(ctx);
  }
}
