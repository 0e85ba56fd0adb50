/**
 * Anthropic Messages SSE events → OpenAI `chat.completion.chunk`s.
 */
import type {
  RawContentBlockDeltaEvent,
  RawContentBlockStartEvent,
  RawContentBlockStopEvent,
  RawMessageDeltaEvent,
  RawMessageStartEvent,
} from '@anthropic-ai/sdk/resources/messages';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { GatewayError, ProviderUnavailableError } from '../../core/errors.js';
import { keepPartialUsage } from '../../core/partial-usage.js';
import {
  type EventSourceMessage,
  type EventTranslator,
  parseEventJson,
  streamCutOff,
  translateEvents,
} from '../sse.js';
import { type AnthropicTokens, type FinishReason, toFinishReason, toUsage } from './mapping.js';
import type { TranslateOptions } from './response.js';

type Delta = ChatCompletionChunk.Choice.Delta;

/** What a content block index carries: client tool calls get their own 0-based OpenAI tool index. */
type BlockKind =
  | { kind: 'text' }
  | { kind: 'json'; empty: boolean }
  | { kind: 'tool'; toolIndex: number; empty: boolean }
  | { kind: 'other' };

interface StreamErrorEvent {
  type: 'error';
  error?: { type?: string; message?: string };
}

/**
 * Translates an Anthropic event stream (for `sseItems`). Ends with a usage chunk after `message_stop`; an
 * `error` event or a stream that ends before `message_stop` throws `ProviderUnavailableError`.
 */
export function anthropicChunks(
  provider: string,
  options: TranslateOptions,
): EventTranslator<ChatCompletionChunk> {
  const translator = new ChunkTranslator(provider, options);
  return {
    event(event, out) {
      if (event.event === 'ping') return false;
      const chunks = translator.handleEvent(event);
      for (let i = 0; i < chunks.length; i++) out.push(chunks[i] as ChatCompletionChunk);
      return translator.done;
    },
    end() {
      throw streamCutOff(provider);
    },
  };
}

/** `anthropicChunks` over events from any source (recorded or synthetic). */
export function toChunkStream(
  provider: string,
  events: AsyncIterable<EventSourceMessage>,
  options: TranslateOptions,
): AsyncGenerator<ChatCompletionChunk> {
  return translateEvents(events, anthropicChunks(provider, options));
}

/** Translates Anthropic stream events one at a time (also used by the native passthrough, native.ts). */
export class ChunkTranslator {
  done = false;
  private id = '';
  private model = '';
  private started = false;
  private readonly created: number;
  private readonly blocks = new Map<number, BlockKind>();
  private toolCount = 0;
  private tokens: AnthropicTokens = {};
  /** The latest `message_delta` stop reason; undefined until one arrives. */
  private stopReason: string | null | undefined;

  constructor(
    private readonly provider: string,
    private readonly options: TranslateOptions,
  ) {
    this.created = options.created;
  }

  /** Parses and translates one SSE event; malformed data is the provider's failure. */
  handleEvent(event: EventSourceMessage): ChatCompletionChunk[] {
    const data = parseEventJson<unknown>(this.provider, event.data);
    try {
      return this.handle(data);
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw new ProviderUnavailableError(`${this.provider} sent a malformed stream event.`, this.provider, {
        cause: err,
      });
    }
  }

  /** The chunks one event turns into. Unknown event types are skipped (forward compatibility). */
  handle(data: unknown): ChatCompletionChunk[] {
    const type = (data as { type?: unknown } | null)?.type;
    switch (type) {
      case 'message_start':
        return this.start(data as RawMessageStartEvent);
      case 'content_block_start':
        return this.blockStart(data as RawContentBlockStartEvent);
      case 'content_block_delta':
        return this.blockDelta(data as RawContentBlockDeltaEvent);
      case 'content_block_stop':
        return this.blockStop((data as RawContentBlockStopEvent).index);
      case 'message_delta':
        return this.messageDelta(data as RawMessageDeltaEvent);
      case 'message_stop':
        return this.stop();
      case 'error':
        throw this.streamError(data as StreamErrorEvent);
      default:
        return [];
    }
  }

  private start(event: RawMessageStartEvent): ChatCompletionChunk[] {
    this.started = true;
    this.id = event.message.id;
    this.model = event.message.model;
    this.tokens = { ...event.message.usage };
    const opening = this.chunk({ role: 'assistant', content: '' });
    // The real input counts, for the bill of a stream cut off before its final usage.
    keepPartialUsage(opening, toUsage(this.tokens));
    return [opening];
  }

  private blockStart(event: RawContentBlockStartEvent): ChatCompletionChunk[] {
    const block = event.content_block;
    if (block.type === 'text') {
      this.blocks.set(event.index, { kind: 'text' });
      return block.text ? [this.chunk({ content: block.text })] : [];
    }
    if (block.type === 'tool_use' && block.name === this.options.jsonTool) {
      this.blocks.set(event.index, { kind: 'json', empty: true });
      return [];
    }
    if (block.type === 'tool_use') {
      const toolIndex = this.toolCount++;
      this.blocks.set(event.index, { kind: 'tool', toolIndex, empty: true });
      const call = { index: toolIndex, id: block.id, type: 'function' as const };
      return [this.chunk({ tool_calls: [{ ...call, function: { name: block.name, arguments: '' } }] })];
    }
    this.blocks.set(event.index, { kind: 'other' });
    return [];
  }

  private blockDelta(event: RawContentBlockDeltaEvent): ChatCompletionChunk[] {
    const block = this.blocks.get(event.index);
    const delta = event.delta;
    if (delta.type === 'text_delta' && block?.kind === 'text') return [this.chunk({ content: delta.text })];
    if (delta.type !== 'input_json_delta' || delta.partial_json === '') return [];
    if (block?.kind === 'json' || block?.kind === 'tool') block.empty = false;
    return this.jsonChunks(block, delta.partial_json);
  }

  /**
   * A tool block that got no input JSON (Anthropic streams a tool without parameters as one empty
   * `partial_json`) still needs its arguments: `{}`, as in the non-streamed translation.
   */
  private blockStop(index: number): ChatCompletionChunk[] {
    const block = this.blocks.get(index);
    this.blocks.delete(index);
    return (block?.kind === 'json' || block?.kind === 'tool') && block.empty
      ? this.jsonChunks(block, '{}')
      : [];
  }

  private jsonChunks(block: BlockKind | undefined, json: string): ChatCompletionChunk[] {
    if (block?.kind === 'json') return [this.chunk({ content: json })];
    if (block?.kind === 'tool') {
      return [this.chunk({ tool_calls: [{ index: block.toolIndex, function: { arguments: json } }] })];
    }
    return [];
  }

  /**
   * Anthropic may send several `message_delta` events (server tools do); the finish chunk waits for
   * `message_stop`, so the client gets exactly one, with the last stop reason.
   */
  private messageDelta(event: RawMessageDeltaEvent): ChatCompletionChunk[] {
    // message_delta usage is cumulative; its input counts, when present, supersede message_start's.
    for (const [key, value] of Object.entries(event.usage ?? {})) {
      if (typeof value === 'number') this.tokens = { ...this.tokens, [key]: value };
    }
    if (event.delta.stop_reason != null) this.stopReason = event.delta.stop_reason;
    return [];
  }

  private stop(): ChatCompletionChunk[] {
    // Blocks left open (no content_block_stop) are closed first, so their arguments are complete.
    const open = [...this.blocks.keys()].flatMap((index) => this.blockStop(index));
    const finish = this.chunk({}, toFinishReason(this.stopReason, this.toolCount > 0));
    this.done = true;
    return [...open, finish, { ...this.base(), choices: [], usage: toUsage(this.tokens) }];
  }

  private streamError(event: StreamErrorEvent): ProviderUnavailableError {
    const kind = event.error?.type ?? 'error';
    const message = (event.error?.message ?? '').slice(0, 500);
    return new ProviderUnavailableError(
      `${this.provider} failed mid-stream (${kind})${message ? `: ${message}` : '.'}`,
      this.provider,
      // Anthropic's in-stream form of its HTTP 529: the Messages endpoint reports it as overloaded_error.
      kind === 'overloaded_error' ? { upstreamStatus: 529 } : {},
    );
  }

  /** Whether `message_start` arrived (chunks can be made). */
  get opened(): boolean {
    return this.started;
  }

  /** A chunk that carries nothing (no choices, no usage): a vehicle for events without a translation. */
  carrier(): ChatCompletionChunk {
    return { ...this.base(), choices: [] };
  }

  private chunk(delta: Delta, finishReason: FinishReason | null = null): ChatCompletionChunk {
    return { ...this.base(), choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] };
  }

  private base(): Omit<ChatCompletionChunk, 'choices'> {
    if (!this.started) {
      throw new ProviderUnavailableError(
        `${this.provider} sent stream events before message_start.`,
        this.provider,
      );
    }
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model };
  }
}
