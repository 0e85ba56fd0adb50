/**
 * The Responses stage (after `resolve`, for `/v1/responses` only): chains `previous_response_id` (the
 * stored conversation prepended for translated providers; the id forwarded to OpenAI only when the earlier
 * response lives there), refuses what only a native deployment can run when the route has others (400
 * naming the item), and stores the finished response (`store`, default true) scoped to the caller's key.
 * A failed store write is logged and counted (`llm_dependency_errors_total{dependency="responses_store"}`)
 * and never fails the answer; a failed read of a chained response does (503), since answering without the
 * conversation would be wrong.
 */
import type { Principal } from '../../auth/principal.js';
import type { CanonicalRequest, RequestContext } from '../../core/context.js';
import { BadRequestError, ServiceUnavailableError } from '../../core/errors.js';
import type { Result } from '../../core/result.js';
import type { Next, Stage } from '../../core/stage.js';
import { nativeResponseOf, RESPONSES_API } from '../../providers/openai/responses.js';
import type { ChatCompletion } from '../../providers/types.js';
import type { FeatureDeps } from '../../stores/deps.js';
import { inClientTerms } from './client-param.js';
import { nativeOnlyError } from './native-only.js';
import { fromCompletion, outputAsInput } from './response.js';
import { bindAnswer, RESPONSE_STATE, type ResponseObject, type ResponseState, stateOf } from './state.js';
import type { ResponseStore, StoredResponse } from './store.js';
import { type Item, inputItems, toChatRequest } from './translate-request.js';

/** Who may read a stored response: the API key, else the end user (no keys configured). */
export function scopeOf(principal: Principal | null): string {
  // A rotated key keeps its stored responses: they belong to the rotation chain (decision 0209).
  if (principal?.keyId) return `key:${principal.lineageId ?? principal.keyId}`;
  return `user:${principal?.userId ?? 'anonymous'}`;
}

/** Creates the stage. */
export function responsesStage(store: ResponseStore, deps: Pick<FeatureDeps, 'metrics' | 'clock'>): Stage {
  return {
    name: 'responses',
    // Not async itself: any other endpoint (the common case) goes on without a promise of its own.
    run(ctx, next) {
      const request = ctx.request;
      const state = request ? stateOf(request) : undefined;
      if (ctx.endpoint !== 'responses' || !request || request.kind !== 'chat' || !state) return next(ctx);
      return respond(ctx, next, request, state);
    },
  };

  async function respond(
    ctx: RequestContext,
    next: Next,
    request: Extract<CanonicalRequest, { kind: 'chat' }>,
    state: ResponseState,
  ): Promise<Result> {
    RESPONSE_STATE.set(ctx, state);
    const scope = scopeOf(ctx.principal);
    const previous = await loadPrevious(ctx.log, store, scope, state.body.previous_response_id);
    const history = previous ? conversationOf(previous) : [];
    const expanded = previous ? expand(request, state, previous, history) : request;
    if (expanded !== request) ctx.request = expanded;
    refuseNativeOnly(ctx, state);
    const items = inputItems(state.body.input).map((item, i) => ({
      id: `${state.id}_in${i}`,
      item: normalize(item),
    }));
    const createdAt = new Date(state.createdAt * 1000);
    // Who answered, known once `next` returned (a stream's final response comes later still).
    let servedBy: string | null = null;
    state.onFinal = (response, native) => {
      if (!state.store || response.store === false) return;
      const atOpenAI = native && response.store !== false;
      const record: StoredResponse = {
        id: response.id,
        native: atOpenAI,
        // Where a DELETE must go too: the deployment that stored it (decision 0234).
        deployment: atOpenAI ? servedBy : null,
        previousResponseId: state.body.previous_response_id ?? null,
        inputItems: items,
        history,
        response,
      };
      store.save(scope, record, createdAt).catch((err: unknown) => {
        deps.metrics.dependencyErrors.inc({ dependency: 'responses_store' });
        ctx.log.warn(
          { event: 'responses.store_error', response_id: response.id, err },
          'storing a response failed',
        );
      });
    };
    // Errors about the translated chat request name the field the client sent (`input[0].call_id`).
    const result = await next(ctx).catch((err: unknown) => {
      throw inClientTerms(err, state.origins);
    });
    servedBy = result.outcome.deployment?.id ?? null;
    if (result.kind !== 'json') return result;
    const completion = result.body as ChatCompletion;
    const native = nativeResponseOf(completion) as ResponseObject | undefined;
    const response = native ?? fromCompletion(state, completion, state.body.model);
    state.onFinal(response, native !== undefined);
    // Answered once stored: a client (or another instance) that chains or retrieves it next finds it.
    await store.written(response.id);
    // A copy: a shared (single-flight, cached) answer object must not carry one request's response.
    const body = { ...completion };
    bindAnswer(body, response);
    return { ...result, body };
  }
}

/** The whole conversation up to and including a stored response, as input items. */
export function conversationOf(previous: StoredResponse): Item[] {
  return [
    ...previous.history,
    ...previous.inputItems.map((i) => i.item),
    ...outputAsInput(previous.response.output),
  ];
}

/** The stored response a request chains to (`previous_response_id`), of the caller's scope. */
export async function loadPrevious(
  log: Pick<RequestContext['log'], 'warn'>,
  store: ResponseStore,
  scope: string,
  id: string | null | undefined,
): Promise<StoredResponse | null> {
  if (typeof id !== 'string') return null;
  let found: StoredResponse | null;
  try {
    found = await store.get(scope, id);
  } catch (err) {
    log.warn({ event: 'responses.load_error', err }, 'loading a stored response failed');
    throw new ServiceUnavailableError(
      'Stored responses are unavailable; retry, or send the whole conversation.',
    );
  }
  if (!found) {
    throw new BadRequestError(`Previous response with id '${id}' not found.`, 'not_found', {
      param: 'previous_response_id',
    });
  }
  return found;
}

/** The request with the earlier conversation: prepended for translation; natively only when not at OpenAI. */
function expand(
  request: Extract<CanonicalRequest, { kind: 'chat' }>,
  state: ResponseState,
  previous: StoredResponse,
  history: Item[],
): CanonicalRequest {
  const { chat, nativeOnly, origins } = toChatRequest(state.body, history);
  state.nativeOnly = nativeOnly;
  state.origins = origins;
  let nativeBody: Record<string, unknown> = state.body;
  if (!previous.native) {
    const { previous_response_id: _forwarded, ...rest } = state.body;
    nativeBody = { ...rest, input: [...history.map(withoutId), ...inputItems(state.body.input)] };
  }
  return {
    kind: 'chat',
    model: request.model,
    stream: request.stream,
    body: chat,
    native: { api: RESPONSES_API, body: nativeBody, headers: {} },
  };
}

/** Items the gateway made carry its ids, which OpenAI does not know: sent without. */
function withoutId(item: Item): Item {
  const { id: _id, ...rest } = item;
  return rest;
}

/** Built-in tools and the like run only where the Responses API is native: every deployment must be. */
function refuseNativeOnly(ctx: RequestContext, state: ResponseState): void {
  const what = state.nativeOnly[0];
  if (what === undefined) return;
  const other = ctx.route?.deployments.find((d) => !d.adapter.nativeApis?.includes(RESPONSES_API));
  if (!other) return;
  throw nativeOnlyError(what, state.body.model, other.provider);
}

/** An input item as `input_items` lists it: typed, message content as parts. */
function normalize(item: Item): Item {
  if (item.type !== undefined && item.type !== 'message') return item;
  const role = item.role;
  const content =
    typeof item.content === 'string'
      ? [{ type: role === 'assistant' ? 'output_text' : 'input_text', text: item.content }]
      : item.content;
  return { ...item, type: 'message', content, status: item.status ?? 'completed' };
}
