/**
 * Per-request state of a Responses API call, shared by the codec (decode, encode, stream encoder) and the
 * stored-responses stage: the response's id and creation time, the request as the client sent it, and where
 * the finished response goes (the store). `decode` binds it to the canonical request it made; the Responses
 * stage moves it to the request's context (`RESPONSE_STATE`), which the stream encoder reads — later stages
 * may replace `ctx.request` (guardrails mask it, or drop its native body), so the request object does not
 * last. A JSON answer's Response object is bound to the answer the stage hands to `encode`.
 */
import { randomBytes } from 'node:crypto';
import { type CanonicalRequest, Slot } from '../../core/context.js';
import type { MessageOrigin } from './client-param.js';
import type { NativeOnly } from './native-only.js';
import type { Item, ResponsesBody } from './translate-request.js';

/** A Response object (`object: "response"`), in OpenAI's shape. */
export type ResponseObject = Record<string, unknown> & {
  id: string;
  object: 'response';
  status: 'completed' | 'incomplete' | 'failed' | 'in_progress';
  output: Item[];
  model: string;
};

export interface ResponseState {
  /** `resp_` + 32 random hex digits (nothing derived from time, tenant or content). */
  id: string;
  /** Unix seconds. */
  createdAt: number;
  body: ResponsesBody;
  /** Whether the gateway keeps the response (`store`, default true as in OpenAI's API). */
  store: boolean;
  /** What only a native deployment can serve (built-in tools …), from the translation. */
  nativeOnly: NativeOnly[];
  /** Per message of the translated chat request, the item it came from (errors name the client's field). */
  origins: MessageOrigin[];
  /** Called once with the final response (completed, incomplete or failed): the stage stores it. */
  onFinal: ((response: ResponseObject, native: boolean) => void) | null;
}

/** A random item or response id: `prefix_` + 32 hex digits. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('hex')}`;
}

const BY_REQUEST = new WeakMap<CanonicalRequest, ResponseState>();
const BY_ANSWER = new WeakMap<object, ResponseObject>();

/** From `decode` to the Responses stage: the state of the request `decode` made. */
export function bindState(request: CanonicalRequest, state: ResponseState): void {
  BY_REQUEST.set(request, state);
}

export function stateOf(request: CanonicalRequest): ResponseState | undefined {
  return BY_REQUEST.get(request);
}

/** The request's state from the Responses stage on (whatever `ctx.request` becomes). */
export const RESPONSE_STATE = new Slot<ResponseState>('responses.state');

/** The finished Response object the stage made for a JSON answer (`encode` writes it). */
export function bindAnswer(answer: object, response: ResponseObject): void {
  BY_ANSWER.set(answer, response);
}

export function answerOf(answer: object): ResponseObject | undefined {
  return BY_ANSWER.get(answer);
}

/** The input items of a request (a string input is one user message). */
export type { Item };
