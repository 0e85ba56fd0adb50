/**
 * Writes a streamed answer as Anthropic's event sequence:
 *
 *   message_start, ping, (content_block_start, content_block_delta*, content_block_stop)*, message_delta,
 *   message_stop — or, when the stream fails after it began, an `error` event and nothing after it.
 *
 * Chunks that carry Anthropic's own events (native passthrough from an Anthropic deployment) are written as
 * those events, byte for byte. Every other chunk (OpenAI-compatible and Gemini upstreams, cache replays) is
 * translated: text deltas become a text block's `text_delta`s, each tool call a `tool_use` block whose
 * arguments stream as `input_json_delta`s; a refusal (`delta.refusal`) streams as text and stops with
 * `refusal`. Blocks are opened and closed strictly in order: parallel calls whose argument deltas
 * interleave are ordered as the Responses stream orders them (`../call-order.ts`) — the streaming call is
 * finished early when its arguments are whole JSON, else a later call is held back and written whole. The stop reason and usage arrive at the end of
 * the canonical stream, so `message_delta` is written by `end()`.
 */
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import type { StreamEncoder } from '../../core/endpoint.js';
import { ProviderError } from '../../core/errors.js';
import { anthropicEventsOf } from '../../providers/anthropic/native.js';
import type { ChatCompletionChunk, Usage } from '../../providers/types.js';
import { first, isCompleteJson } from '../call-order.js';
import { anthropicErrorType } from './errors.js';
import { messageId, toAnthropicUsage, toStopReason } from './to-message.js';

type Open = { kind: 'text' } | { kind: 'tool' } | null;

/** A tool call not finished yet: `block` is its content block index, -1 while it is held back. */
interface Call {
  id: string | undefined;
  name: string;
  args: string;
  block: number;
}

function event(data: RawMessageStreamEvent | { type: 'ping' } | { type: 'error'; error: unknown }): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * One answer's encoder (stateful: the open block, the stop reason and usage seen so far).
 * `estimatedInputTokens`: the prompt's size by the 4-characters rule, sent as `message_start`'s `input_tokens`
 * on translated streams, whose upstream reports usage only at the end (clients that track context from
 * `message_start` — Claude Code does — would otherwise read 0); `message_delta` carries the counted value.
 */
export function anthropicStreamEncoder(estimatedInputTokens = 0): StreamEncoder {
  let native = false;
  let started = false;
  let index = -1;
  let open: Open = null;
  /** The calls not finished yet, by chat `index`, in the order they appeared; the first one is streaming. */
  const calls = new Map<number, Call>();
  /** Chat indexes of calls finished early, while others were streaming (a stray delta for one is dropped). */
  const doneCalls = new Set<number>();
  let finish: string | null = null;
  /** The upstream declined (`delta.refusal`): its text is a text block, the stop reason `refusal`. */
  let refused = false;
  let usage: Usage | null = null;
  let id: string | undefined;
  let model = '';

  const start = (): string => {
    started = true;
    const usage0 = toAnthropicUsage(null);
    return (
      event({
        type: 'message_start',
        message: {
          id: messageId(id),
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...usage0, input_tokens: estimatedInputTokens, output_tokens: 0 },
        },
      }) + event({ type: 'ping' })
    );
  };

  const close = (): string => {
    if (open === null) return '';
    open = null;
    return event({ type: 'content_block_stop', index });
  };

  const text = (piece: string): string => {
    let out = '';
    if (open?.kind !== 'text') {
      out += finishCalls();
      out += close();
      open = { kind: 'text' };
      index++;
      out += event({
        type: 'content_block_start',
        index,
        content_block: { type: 'text', text: '', citations: null },
      });
    }
    return out + event({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } });
  };

  /** Opens a call's `tool_use` block and sends the arguments it holds as one delta. */
  const startCall = (call: Call): string => {
    let out = close();
    index++;
    call.block = index;
    open = { kind: 'tool' };
    out += event({
      type: 'content_block_start',
      index,
      content_block: { type: 'tool_use', id: call.id ?? `toolu_${index}`, name: call.name, input: {} },
    });
    return out + argsDelta(call, call.args);
  };

  const argsDelta = (call: Call, json: string): string =>
    json === ''
      ? ''
      : event({
          type: 'content_block_delta',
          index: call.block,
          delta: { type: 'input_json_delta', partial_json: json },
        });

  /** Writes a call whole if it was held back, and closes its block. */
  const finishCall = (at: number, call: Call): string => {
    let out = call.block < 0 ? startCall(call) : '';
    out += close();
    calls.delete(at);
    doneCalls.add(at);
    return out;
  };

  const finishCalls = (): string => {
    let out = '';
    for (const [at, call] of calls) out += finishCall(at, call);
    // After text, a call is a new one whatever its index.
    doneCalls.clear();
    return out;
  };

  const tool = (delta: ChatCompletionChunk.Choice.Delta.ToolCall): string => {
    const at = typeof delta.index === 'number' ? delta.index : 0;
    const fn = delta.function;
    // A stray delta for a call finished early (only whitespace can validly follow); an id starts a new call.
    if (doneCalls.has(at) && !delta.id) return '';
    doneCalls.delete(at);
    let out = open?.kind === 'text' ? close() : '';
    let call = calls.get(at);
    // A server that numbers every call alike: a new id at the same index is the next call.
    if (call && delta.id && call.id && delta.id !== call.id) {
      out += finishCall(at, call);
      doneCalls.delete(at);
      call = undefined;
    }
    if (!call) {
      call = { id: delta.id || undefined, name: fn?.name ?? '', args: '', block: -1 };
      calls.set(at, call);
      if (calls.size === 1) out += startCall(call);
    }
    const args = fn?.arguments;
    if (args) {
      call.args += args;
      if (call.block >= 0) out += argsDelta(call, args);
    }
    return out + advance();
  };

  /** Finishes the streaming call while its arguments are complete and another call waits behind it. */
  const advance = (): string => {
    let out = '';
    for (
      let head = first(calls);
      head && calls.size > 1 && isCompleteJson(head[1].args);
      head = first(calls)
    ) {
      out += finishCall(...head);
      const next = first(calls);
      if (next && next[1].block < 0) out += startCall(next[1]);
    }
    return out;
  };

  return {
    chunk(chunk) {
      const raw = anthropicEventsOf(chunk);
      if (raw !== undefined) {
        native = true;
        return raw;
      }
      if (native) return null; // the translated twin of events already written
      let out = '';
      if (!started) {
        id = chunk.id;
        model = chunk.model;
        out += start();
      }
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (choice) {
        const delta = choice.delta as ChatCompletionChunk.Choice.Delta | undefined;
        if (delta?.content) out += text(delta.content);
        if (delta?.refusal) {
          refused = true;
          out += text(delta.refusal);
        }
        for (const call of delta?.tool_calls ?? []) out += tool(call);
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      return out === '' ? null : out;
    },

    end() {
      if (native) return '';
      let out = started ? '' : start();
      out += finishCalls();
      out += close();
      const final = toAnthropicUsage(usage);
      out += event({
        type: 'message_delta',
        delta: { stop_reason: refused ? 'refusal' : toStopReason(finish), stop_sequence: null },
        usage: {
          input_tokens: final.input_tokens,
          output_tokens: final.output_tokens,
          cache_creation_input_tokens: final.cache_creation_input_tokens,
          cache_read_input_tokens: final.cache_read_input_tokens,
          server_tool_use: null,
        },
      });
      return out + event({ type: 'message_stop' });
    },

    error(body, err) {
      const error = (body as { error?: { type?: unknown; message?: unknown } } | null)?.error;
      const message = typeof error?.message === 'string' ? error.message : 'The stream failed.';
      // The upstream status says overloaded (Anthropic's 529, or its overloaded_error event mid-stream).
      const upstream = err instanceof ProviderError ? err.upstreamStatus : undefined;
      const type = anthropicErrorType(error?.type, null, upstream);
      return event({ type: 'error', error: { type, message } });
    },
  };
}
