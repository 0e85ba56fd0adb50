/**
 * Feedback (`POST /v1/feedback {request_id, metric, value, comment?}`, DESIGN §12): an application scores
 * an answer by the gateway's request id (`X-Gateway-Request-ID`). Metrics are declared in config
 * (`feedback.metrics`: boolean or numeric, with a direction); anything else is a 422 naming the field.
 *
 * Ownership: feedback is stored under the caller's scope (its key's rotation chain, else its end user) and
 * joins a request only when the request's scope is the same. A request known to belong to another caller is
 * answered exactly as an unknown id is (200, `request_known: false`) and nothing is stored: the answer never
 * tells that the id exists (decision 0113, amended by 0211). Usage records are written in batches, so the
 * request may not be in the database yet: this instance remembers the owners of its recent requests
 * (bounded), and feedback for a request no one knows yet (another instance's, not flushed) is stored and
 * joins once the record is written — it can never count on another key's request, since the join compares
 * scopes. Storing is an upsert per (request, metric, scope): sending the same feedback twice leaves one row;
 * a new value replaces the old.
 */
import { type Principal, principalScope } from '../auth/principal.js';
import type { FeedbackMetric } from '../config/prompts-schema.js';
import type { RequestContext } from '../core/context.js';
import { GatewayError, ServiceUnavailableError, ValidationError } from '../core/errors.js';
import { Lru } from '../prompts/lru.js';
import { type ExperimentStore, MAX_FEEDBACK_MAGNITUDE } from './store.js';

export { MAX_FEEDBACK_MAGNITUDE };

export interface FeedbackInput {
  request_id: string;
  metric: string;
  value: unknown;
  comment?: string | null;
}

export interface FeedbackAnswer {
  object: 'feedback';
  request_id: string;
  metric: string;
  value: number;
  comment: string | null;
  /** Whether the request was found (false: stored, joins once its usage record is written). */
  request_known: boolean;
}

export const MAX_COMMENT_LENGTH = 2000;

/** Feedback as stored: the caller's scope (`requestScope`), the request, the metric and its number. */
export type FeedbackListener = (feedback: {
  scope: string;
  request_id: string;
  metric: string;
  value: number;
}) => void;

export class FeedbackService {
  readonly #store: ExperimentStore;
  readonly #metrics: Readonly<Record<string, FeedbackMetric>>;
  /** Request id → owner scope, for this instance's recent requests. */
  readonly #recent: Lru<string, string>;
  readonly #onError: (err: unknown) => void;
  readonly #listeners: FeedbackListener[] = [];

  constructor(
    store: ExperimentStore,
    metrics: Readonly<Record<string, FeedbackMetric>>,
    options: { recent: number; onError(err: unknown): void },
  ) {
    this.#store = store;
    this.#metrics = metrics;
    this.#recent = new Lru(options.recent);
    this.#onError = options.onError;
  }

  get recentSize(): number {
    return this.#recent.size;
  }

  /**
   * Calls `listener` with every piece of feedback stored from now on (the semantic cache reads its metric:
   * decision 0174). A listener must not throw; what it does is not awaited.
   */
  observe(listener: FeedbackListener): void {
    this.#listeners.push(listener);
  }

  /** Remembers who made a request (called by the prompt stage for every request). */
  seen(ctx: RequestContext): void {
    if (ctx.principal) this.#recent.set(ctx.requestId, principalScope(ctx.principal));
  }

  /** Stores one piece of feedback. @throws ValidationError (422), 503 */
  async submit(principal: Principal, input: FeedbackInput): Promise<FeedbackAnswer> {
    const metric = this.#metrics[input.metric];
    if (!metric) {
      const declared = Object.keys(this.#metrics);
      throw new ValidationError(
        `Unknown metric '${input.metric}'; declared: ${declared.length ? declared.join(', ') : 'none (feedback.metrics)'}.`,
        'metric',
      );
    }
    const value = storedValue(metric, input.value);
    const comment = input.comment ?? null;
    if (comment !== null && comment.length > MAX_COMMENT_LENGTH) {
      throw new ValidationError(`comment is at most ${MAX_COMMENT_LENGTH} characters.`, 'comment');
    }
    const scope = principalScope(principal);
    try {
      const owner =
        this.#recent.stale(input.request_id) ?? (await this.#store.requestOwner(input.request_id));
      const answer: FeedbackAnswer = {
        object: 'feedback',
        request_id: input.request_id,
        metric: input.metric,
        value,
        comment,
        request_known: owner === scope,
      };
      // Another caller's request is answered as an unknown id is (`request_known: false`; decision 0113,
      // amended by 0211): the answer must not tell that the id exists. Nothing is stored for it.
      if (owner !== null && owner !== scope) return answer;
      await this.#store.putFeedback({
        request_id: input.request_id,
        metric: input.metric,
        scope,
        value,
        comment,
      });
      for (const listener of this.#listeners)
        listener({ scope, request_id: input.request_id, metric: input.metric, value });
      return answer;
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      this.#onError(err);
      throw new ServiceUnavailableError('Feedback cannot be stored right now (database); retry later.');
    }
  }
}

/**
 * The stored number of a value: booleans as 1/0; numbers checked against the metric's range, and within
 * ±`MAX_FEEDBACK_MAGNITUDE` whatever the range.
 */
function storedValue(metric: FeedbackMetric, value: unknown): number {
  if (metric.type === 'boolean') {
    if (value === true || value === 1) return 1;
    if (value === false || value === 0) return 0;
    throw new ValidationError('This metric is boolean: value must be true or false (or 1/0).', 'value');
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValidationError('This metric is numeric: value must be a finite number.', 'value');
  }
  const min = Math.max(metric.min ?? -MAX_FEEDBACK_MAGNITUDE, -MAX_FEEDBACK_MAGNITUDE);
  const max = Math.min(metric.max ?? MAX_FEEDBACK_MAGNITUDE, MAX_FEEDBACK_MAGNITUDE);
  if (value < min || value > max) {
    const show = (x: number) => (Math.abs(x) === MAX_FEEDBACK_MAGNITUDE ? `${Math.sign(x) * 1}e15` : `${x}`);
    throw new ValidationError(`value must be between ${show(min)} and ${show(max)}.`, 'value');
  }
  return value;
}
