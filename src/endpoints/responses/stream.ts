/**
 * The Responses stream encoder: canonical chat chunks → the typed events of the Responses API, each with a
 * `sequence_number`: `response.created`, `response.in_progress`, then per output item
 * `response.output_item.added` … (`response.content_part.added`, `response.output_text.delta`/`.done`,
 * `response.content_part.done` for a message; `response.refusal.delta`/`.done` instead of the text's for a
 * refusal; `response.function_call_arguments.delta`/`.done` for a function call) …
 * `response.output_item.done`, and always a final `response.completed`,
 * `response.incomplete` (max tokens, content filter) or `response.failed` (an error mid-stream).
 *
 * As at OpenAI, one output item is open at a time: an item is done before the next is added. Chat streams
 * may interleave the argument deltas of parallel tool calls by `index`, so a call whose index appears while
 * another is streaming is held back: the streaming call is finished first when its arguments already form
 * a complete JSON value (nothing valid can follow), else the new call's deltas are buffered and it is
 * written whole (added, one delta, done) after the earlier calls, at the end of the calls.
 *
 * A stream from an OpenAI deployment that answered natively carries the upstream's own events: they pass
 * through as sent (same ids and sequence numbers); only a failure is written by the gateway.
 */
import type { StreamEncoder } from '../../core/endpoint.js';
import { nativeEventOf } from '../../providers/openai/responses.js';
import type { ChatCompletionChunk } from '../../providers/types.js';
import { first, isCompleteJson } from '../call-order.js';
import {
  finish,
  functionCallItem,
  messageItem,
  messagePart,
  type PartKind,
  responseUsage,
  skeleton,
} from './response.js';
import { newId, type ResponseObject, type ResponseState } from './state.js';
import type { Item } from './translate-request.js';

interface OpenText {
  id: string;
  index: number;
  text: string;
  /** The answer's text, or the model's refusal (`delta.refusal`: `response.refusal.*` events). */
  kind: PartKind;
}
interface OpenCall {
  id: string;
  /** Its `output_index`; -1 while it is held back (not added yet). */
  index: number;
  callId: string;
  name: string;
  args: string;
}

/** Opens the encoder of one streamed answer. */
export function openResponsesStream(state: ResponseState): StreamEncoder {
  let seq = 0;
  let response: ResponseObject | null = null;
  let native = false;
  let nativeFinal = false;
  let text: OpenText | null = null;
  /** The calls not done yet, by chat `index`, in the order they appeared; the first one is streaming. */
  const calls = new Map<number, OpenCall>();
  /** Chat indexes of calls finished early, while others were streaming (a stray delta for one is dropped). */
  const doneCalls = new Set<number>();
  let finishReason: string | null = null;
  let usage: ChatCompletionChunk['usage'] = null;

  const event = (type: string, fields: Record<string, unknown>): string =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...fields, sequence_number: seq++ })}\n\n`;

  const start = (model: string): string => {
    if (response) return '';
    response = skeleton(state, model);
    return event('response.created', { response }) + event('response.in_progress', { response });
  };

  const closeText = (): string => {
    if (!text || !response) return '';
    const { id, index, kind } = text;
    const part = messagePart(kind, text.text);
    const item = messageItem(id, text.text, 'completed', kind);
    response.output[index] = item;
    const at = { item_id: id, output_index: index, content_index: 0 };
    text = null;
    return (
      (kind === 'refusal'
        ? event('response.refusal.done', { ...at, refusal: part.refusal })
        : event('response.output_text.done', { ...at, text: part.text, logprobs: [] })) +
      event('response.content_part.done', { ...at, part }) +
      event('response.output_item.done', { output_index: index, item })
    );
  };

  /** Adds a call's item (`output_item.added`) and sends what it holds back as one delta. */
  const addCall = (r: ResponseObject, call: OpenCall): string => {
    call.index = r.output.length;
    const item = functionCallItem(call.id, call.callId, call.name, '', 'in_progress');
    r.output.push(item);
    return (
      event('response.output_item.added', { output_index: call.index, item }) + argsDelta(call, call.args)
    );
  };

  const argsDelta = (call: OpenCall, delta: string): string =>
    delta === ''
      ? ''
      : event('response.function_call_arguments.delta', {
          item_id: call.id,
          output_index: call.index,
          delta,
        });

  const closeCall = (r: ResponseObject, at: number, call: OpenCall): string => {
    // No arguments at all: the empty object (as in the JSON answer, `callArguments`), sent as the call's
    // last delta so that the deltas add up to `.done`'s arguments.
    const fill = call.args.trim() === '' ? '{}' : '';
    call.args += fill;
    const out = call.index < 0 ? addCall(r, call) : argsDelta(call, fill);
    const item = functionCallItem(call.id, call.callId, call.name, call.args, 'completed');
    r.output[call.index] = item;
    calls.delete(at);
    doneCalls.add(at);
    return (
      out +
      event('response.function_call_arguments.done', {
        item_id: call.id,
        output_index: call.index,
        name: call.name,
        arguments: call.args,
      }) +
      event('response.output_item.done', { output_index: call.index, item })
    );
  };

  const closeCalls = (): string => {
    let out = '';
    if (!response) return out;
    for (const [at, call] of calls) out += closeCall(response, at, call);
    // After text, a call is a new one whatever its index.
    doneCalls.clear();
    return out;
  };

  const onText = (r: ResponseObject, delta: string, kind: PartKind): string => {
    let out = '';
    if (text && text.kind !== kind) out += closeText();
    if (!text) {
      out += closeCalls();
      text = { id: newId('msg'), index: r.output.length, text: '', kind };
      const item = messageItem(text.id, '', 'in_progress', kind);
      item.content = [];
      r.output.push(item);
      out += event('response.output_item.added', { output_index: text.index, item });
      out += event('response.content_part.added', {
        item_id: text.id,
        output_index: text.index,
        content_index: 0,
        part: messagePart(kind, ''),
      });
    }
    text.text += delta;
    const { id, index } = text;
    if (kind === 'refusal') {
      return (
        out + event('response.refusal.delta', { item_id: id, output_index: index, content_index: 0, delta })
      );
    }
    return (
      out +
      event('response.output_text.delta', {
        item_id: id,
        output_index: index,
        content_index: 0,
        delta,
        logprobs: [],
      })
    );
  };

  const onToolCall = (r: ResponseObject, delta: Record<string, unknown>): string => {
    const at = typeof delta.index === 'number' ? delta.index : 0;
    const fn = (delta.function ?? {}) as { name?: string; arguments?: string };
    // A stray delta for a call finished early (only whitespace can validly follow); an id starts a new call.
    if (doneCalls.has(at) && typeof delta.id !== 'string') return '';
    doneCalls.delete(at);
    let out = '';
    let call = calls.get(at);
    if (!call) {
      out += closeText();
      call = {
        id: newId('fc'),
        index: -1,
        callId: typeof delta.id === 'string' ? delta.id : newId('call'),
        name: fn.name ?? '',
        args: '',
      };
      calls.set(at, call);
      if (calls.size === 1) out += addCall(r, call);
    }
    if (fn.arguments) {
      call.args += fn.arguments;
      if (call.index >= 0) out += argsDelta(call, fn.arguments);
    }
    return out + advance(r);
  };

  /** Finishes the streaming call while its arguments are complete and another call waits behind it. */
  const advance = (r: ResponseObject): string => {
    let out = '';
    for (
      let head = first(calls);
      head && calls.size > 1 && isCompleteJson(head[1].args);
      head = first(calls)
    ) {
      out += closeCall(r, ...head);
      const next = first(calls);
      if (next && next[1].index < 0) out += addCall(r, next[1]);
    }
    return out;
  };

  const onNative = (type: string, data: string, parsed: Record<string, unknown>): string => {
    native = true;
    if (typeof parsed.sequence_number === 'number') seq = parsed.sequence_number + 1;
    const snapshot = parsed.response as ResponseObject | undefined;
    if (snapshot && typeof snapshot.id === 'string') response = snapshot;
    if (type === 'response.completed' || type === 'response.incomplete') {
      nativeFinal = true;
      if (snapshot) state.onFinal?.(snapshot, true);
    }
    return `event: ${type}\ndata: ${data}\n\n`;
  };

  return {
    chunk(chunk) {
      const raw = nativeEventOf(chunk);
      if (raw) return onNative(raw.type, raw.data, raw.parsed);
      let out = start(typeof chunk.model === 'string' ? chunk.model : state.body.model);
      const r = response as unknown as ResponseObject;
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (choice) {
        const delta = (choice.delta ?? {}) as {
          content?: string | null;
          refusal?: string | null;
          tool_calls?: Record<string, unknown>[];
        };
        if (delta.content) out += onText(r, delta.content, 'output_text');
        if (delta.refusal) out += onText(r, delta.refusal, 'refusal');
        for (const call of delta.tool_calls ?? []) out += onToolCall(r, call);
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
      return out === '' ? null : out;
    },
    end() {
      if (native)
        return nativeFinal ? '' : failed({ message: 'The upstream stream ended without a final event.' });
      let out = start(state.body.model);
      out += closeText() + closeCalls();
      const r = response as unknown as ResponseObject;
      const used = responseUsage(usage ?? null);
      if (used) r.usage = used;
      finish(r, finishReason);
      state.onFinal?.(r, false);
      return (
        out + event(r.status === 'completed' ? 'response.completed' : 'response.incomplete', { response: r })
      );
    },
    error(body) {
      const error = (body as { error?: { message?: unknown; code?: unknown } } | null)?.error ?? {};
      return failed(error);
    },
  };

  function failed(error: { message?: unknown; code?: unknown }): string {
    let out = response ? '' : start(state.body.model);
    const r = response as unknown as ResponseObject;
    for (const item of r.output as Item[]) if (item.status === 'in_progress') item.status = 'incomplete';
    r.status = 'failed';
    const rateLimited = error.code === 'rate_limit_exceeded' || error.code === 'upstream_rate_limited';
    r.error = {
      code: rateLimited ? 'rate_limit_exceeded' : 'server_error',
      message: typeof error.message === 'string' ? error.message : 'The response failed.',
    };
    const used = native ? null : responseUsage(usage ?? null);
    if (used) r.usage = used;
    state.onFinal?.(r, native);
    out += event('response.failed', { response: r });
    return out;
  }
}
