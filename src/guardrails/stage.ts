/**
 * The `guard` stage (DESIGN §17): after admission and before the cache, so the cache and the upstream only
 * ever see the checked request (cache keys are computed over masked text: two prompts that differ only in a
 * masked value share an entry, whose placeholders each request restores with its own values). It wraps
 * `next`: the answer — a cache hit included — is checked on the way out, a stream on a sliding window.
 *
 * Policy levels, outermost first: the global default (`guardrails.default_policy`), then the key's
 * principal's names: its organization's, its team's and its own (`tenancy/principal.ts`).
 */

import { approximatePromptTokens } from '../accounting/tokens.js';
import type { CanonicalRequest, RequestContext } from '../core/context.js';
import { ContentPolicyError, GatewayError } from '../core/errors.js';
import type { Outcome, Result } from '../core/result.js';
import { type Next, type Stage, stage } from '../core/stage.js';
import type { Metrics } from '../telemetry/metrics.js';
import { GUARDRAIL_FINDINGS, noteFinding } from './findings.js';
import { guardRequest } from './input.js';
import { guardAnswer, guardStream } from './output.js';
import { type Direction, type PolicyBook, UnknownPolicyError } from './policy.js';
import { GuardSession } from './session.js';

const NONE: readonly string[] = [];

/** The policy names that apply to a request, per level, outermost first. */
export function policyLevels(
  ctx: RequestContext,
  defaults: readonly string[],
): readonly (readonly string[])[] {
  return [defaults, ctx.principal?.guardrails ?? NONE];
}

export interface GuardStageDeps {
  book: PolicyBook;
  /** The global default policy names (may be empty). */
  defaults: readonly string[];
  metrics: Pick<Metrics, 'guardrailActions'>;
}

export function createGuardStage(deps: GuardStageDeps): Stage {
  // Not async itself: without a policy (the common case) the request goes on without a promise of its own.
  return stage('guard', (ctx, next) => {
    const request = ctx.request;
    if (!request) return next(ctx);
    let policy: ReturnType<PolicyBook['resolve']>;
    try {
      policy = deps.book.resolve(policyLevels(ctx, deps.defaults));
    } catch (err) {
      if (!(err instanceof UnknownPolicyError)) throw err;
      throw new GatewayError(
        `This API key (or its team or organization) names the guardrail policy "${err.policy}", which is not configured on the gateway.`,
        'internal_error',
        500,
        'internal_error',
      );
    }
    if (!policy) return next(ctx);
    return guarded(ctx, next, request, policy);
  });

  async function guarded(
    ctx: RequestContext,
    next: Next,
    request: CanonicalRequest,
    policy: NonNullable<ReturnType<PolicyBook['resolve']>>,
  ): Promise<Result> {
    const session = new GuardSession(policy, (rule, entity, direction) => {
      const labels = { policy: rule.policy, entity, action: rule.action, direction };
      deps.metrics.guardrailActions.inc(labels);
      noteFinding(ctx, labels);
    });
    if (policy.maxInputTokens && approximatePromptTokens(request.body) > policy.maxInputTokens.limit) {
      const { limit, policy: name } = policy.maxInputTokens;
      deps.metrics.guardrailActions.inc({
        policy: name,
        entity: 'max_input_tokens',
        action: 'block',
        direction: 'input',
      });
      noteFinding(ctx, { policy: name, entity: 'max_input_tokens', action: 'block', direction: 'input' });
      throw new ContentPolicyError(
        `The request was blocked by guardrail policy "${name}": the prompt exceeds its max_input_tokens (${limit}).`,
      );
    }
    try {
      ctx.request = guardRequest(request, session);
    } finally {
      logFired(ctx, 'input', session);
    }
    // Answers are checked on the canonical chunks: a passthrough API's own bytes (Anthropic events, Responses
    // events) would go to the client around the check, so a request whose output is checked is translated.
    if (session.outputScanner && ctx.request.kind === 'chat' && ctx.request.native) {
      const { native: _native, ...translated } = ctx.request;
      ctx.request = translated;
    }
    const result: Result = await next(ctx);
    if (!session.outputScanner) return result;
    if (result.kind === 'json') {
      try {
        return guardAnswer(result, session);
      } catch (err) {
        // The provider answered and billed it: the request is charged (and settled against budgets) as the
        // same call without the guardrail would be, though the client gets the 4xx (DESIGN §7).
        ctx.outcome = withheld(result.outcome);
        throw err;
      } finally {
        logFired(ctx, 'output', session);
      }
    }
    const guarded = guardStream(result, session);
    const end = guarded.end.bind(guarded);
    return {
      ...guarded,
      end(how) {
        end(how);
        logFired(ctx, 'output', session);
      },
    };
  }
}

/**
 * The outcome of an answer the client did not get: its reported usage, model and deployment, for the cost
 * step; its text only counted (4 characters a token, when no usage was reported), never kept — a blocked
 * value must not reach the body log.
 */
function withheld(outcome: Outcome): Outcome {
  const { text, overflow } = outcome.output;
  return { ...outcome, output: { text: '', overflow: text.length + overflow } };
}

/**
 * One log line per direction when something fired: entity names, actions and counts, never values. When the
 * request reached its validation bound (decision 0218), the line says so: later phone-shaped candidates
 * were decided on their shape (fail closed), which an operator may want to know.
 */
function logFired(ctx: RequestContext, direction: Direction, session: GuardSession): void {
  const findings = GUARDRAIL_FINDINGS.get(ctx)?.filter((f) => f.direction === direction);
  if (!findings || findings.length === 0) return;
  const bound = session.budget.spent ? { validation_bound_reached: true } : {};
  ctx.log.info({ event: 'guardrail.fired', direction, findings, ...bound }, 'guardrails acted');
}
