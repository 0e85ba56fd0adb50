/**
 * The stored form of a cached answer, and its conversions: a completion (or a completed stream) → entry,
 * entry → completion or → a replayed chunk stream.
 */
import { randomBytes } from 'node:crypto';
import type { RequestContext } from '../core/context.js';
import type { OpenedStream } from '../core/result.js';
import type { ChatCompletion, ChatCompletionChunk, Usage } from '../providers/types.js';
import type { Deployment } from '../routing/resolver.js';

/** A cached answer: the trimmed completion plus who served it. Compact JSON, short field names. */
export interface CacheEntry {
  /** Format version; entries of another version are treated as corrupt (miss, deleted). */
  v: 1;
  /** Requested model (the route name): `DELETE /admin/cache?model=` matches on it. */
  model: string;
  /** Provider and upstream model of the deployment that served. */
  provider: string;
  deployment_model: string;
  /** Upstream model that answered (the completion's `model`). */
  served_model: string;
  created: number;
  system_fingerprint?: string | null;
  choices: ChatCompletion['choices'];
  usage: Usage | null;
  /** Epoch ms when stored. */
  stored_at: number;
}

export function newCompletionId(): string {
  return `chatcmpl-${randomBytes(12).toString('base64url')}`;
}

/** Checks the shape of a decoded entry (a corrupt or foreign value must never be served). */
export function isCacheEntry(value: unknown): value is CacheEntry {
  if (value === null || typeof value !== 'object') return false;
  const e = value as Partial<CacheEntry>;
  return (
    e.v === 1 &&
    typeof e.model === 'string' &&
    typeof e.provider === 'string' &&
    typeof e.deployment_model === 'string' &&
    typeof e.served_model === 'string' &&
    typeof e.created === 'number' &&
    Array.isArray(e.choices) &&
    e.choices.length > 0 &&
    e.choices.every((c) => c && typeof c === 'object' && typeof c.message === 'object' && c.message !== null)
  );
}

/**
 * A complete completion as an entry; null when it must not be cached: no choices, an unfinished one, a
 * refusal — a choice the provider's content filter cut (`finish_reason: content_filter`) or the model
 * declined (`message.refusal`), which a later call may answer — a tool call of another type than
 * `function` (custom tools), which a replayed stream could not carry (decision 0177), or spoken audio,
 * whose id the upstream forgets at `expires_at` while a later turn may name it (decision 0183).
 */
export function entryFromCompletion(
  completion: ChatCompletion,
  served: { model: string; provider: string; deploymentModel: string; now: number },
): CacheEntry | null {
  if (!Array.isArray(completion.choices) || completion.choices.length === 0) return null;
  if (completion.choices.some((c) => !c.finish_reason || !c.message || isRefusal(c) || !replayable(c)))
    return null;
  return {
    v: 1,
    model: served.model,
    provider: served.provider,
    deployment_model: served.deploymentModel,
    served_model: typeof completion.model === 'string' ? completion.model : served.deploymentModel,
    created: completion.created,
    ...(completion.system_fingerprint ? { system_fingerprint: completion.system_fingerprint } : {}),
    choices: completion.choices.map((c) => ({
      index: c.index,
      message: c.message,
      finish_reason: c.finish_reason,
      logprobs: c.logprobs ?? null,
    })),
    usage: completion.usage ?? null,
    stored_at: served.now,
  };
}

function isRefusal(choice: ChatCompletion['choices'][number]): boolean {
  const refusal = (choice.message as { refusal?: unknown }).refusal;
  return choice.finish_reason === 'content_filter' || (typeof refusal === 'string' && refusal !== '');
}

function replayable(choice: ChatCompletion['choices'][number]): boolean {
  const audio = (choice.message as { audio?: unknown }).audio;
  return (
    (audio === undefined || audio === null) &&
    (choice.message.tool_calls ?? []).every((t) => t.type === 'function')
  );
}

/** A chunk delta as OpenAI streams it: the SDK's type leaves out `annotations` and `audio`. */
type Delta = ChatCompletionChunk['choices'][number]['delta'] & { annotations?: unknown; audio?: unknown };

interface ToolCallAcc {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/**
 * Rebuilds the completion a stream delivered (content, refusal, tool calls, citations, finish reason,
 * usage). Null when the stream did not finish every choice — a truncated answer is never cached — or
 * carried what an entry does not keep (a custom tool call, audio: see `entryFromCompletion`).
 */
export function completionFromChunks(chunks: readonly ChatCompletionChunk[]): ChatCompletion | null {
  const first = chunks[0];
  if (!first) return null;
  const choices = new Map<
    number,
    {
      content: string | null;
      refusal: string | null;
      tools: Map<number, ToolCallAcc>;
      annotations: unknown[];
      finish: string | null;
      logprobs: unknown;
    }
  >();
  let usage: Usage | null = null;
  let fingerprint: string | null = null;
  for (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage;
    if (chunk.system_fingerprint) fingerprint = chunk.system_fingerprint;
    for (const c of chunk.choices) {
      let acc = choices.get(c.index);
      if (!acc) {
        acc = {
          content: null,
          refusal: null,
          tools: new Map(),
          annotations: [],
          finish: null,
          logprobs: null,
        };
        choices.set(c.index, acc);
      }
      const delta: Delta = c.delta ?? {};
      if (delta.audio !== undefined && delta.audio !== null) return null;
      if (Array.isArray(delta.annotations)) acc.annotations.push(...delta.annotations);
      if (typeof delta.content === 'string') acc.content = (acc.content ?? '') + delta.content;
      if (typeof delta.refusal === 'string') acc.refusal = (acc.refusal ?? '') + delta.refusal;
      for (const call of delta.tool_calls ?? []) {
        // Another kind of tool call (custom tools): not rebuilt, so the answer is not cached.
        if ((call.type ?? 'function') !== 'function' || 'custom' in call) return null;
        let tool = acc.tools.get(call.index);
        if (!tool) {
          tool = { id: '', type: 'function', function: { name: '', arguments: '' } };
          acc.tools.set(call.index, tool);
        }
        if (call.id) tool.id = call.id;
        if (call.function?.name) tool.function.name += call.function.name;
        if (call.function?.arguments) tool.function.arguments += call.function.arguments;
      }
      if (c.finish_reason) acc.finish = c.finish_reason;
      if (c.logprobs) acc.logprobs = appendLogprobs(acc.logprobs, c.logprobs);
    }
  }
  if (choices.size === 0 || [...choices.values()].some((c) => !c.finish)) return null;
  return {
    id: first.id,
    object: 'chat.completion',
    created: first.created,
    model: first.model,
    ...(fingerprint ? { system_fingerprint: fingerprint } : {}),
    choices: [...choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => ({
        index,
        message: {
          role: 'assistant',
          // A tool-call answer's content is null, as in a completion (streams open with `content: ""`).
          content: c.tools.size > 0 && !c.content ? null : (c.content ?? ''),
          refusal: c.refusal,
          ...(c.tools.size > 0 ? { tool_calls: [...c.tools.values()] } : {}),
          ...(c.annotations.length > 0 ? { annotations: c.annotations } : {}),
        },
        finish_reason: c.finish as ChatCompletion['choices'][number]['finish_reason'],
        logprobs: (c.logprobs ?? null) as ChatCompletion['choices'][number]['logprobs'],
      })),
    ...(usage ? { usage } : {}),
  } as ChatCompletion;
}

type Logprobs = { content?: unknown[] | null; refusal?: unknown[] | null };

/**
 * A stream sends each chunk's token logprobs with that chunk: the answer's are all of them, in order
 * (`content` and `refusal` token lists appended).
 */
function appendLogprobs(sofar: unknown, next: unknown): unknown {
  if (sofar === null || typeof sofar !== 'object') return next;
  const a = sofar as Logprobs;
  const b = next as Logprobs;
  const join = (x: unknown[] | null | undefined, y: unknown[] | null | undefined) =>
    x || y ? [...(x ?? []), ...(y ?? [])] : (y ?? x ?? null);
  return { ...a, ...b, content: join(a.content, b.content), refusal: join(a.refusal, b.refusal) };
}

/** The entry as a fresh completion (new id; the original `created` and model). */
export function completionFromEntry(entry: CacheEntry): ChatCompletion {
  return {
    id: newCompletionId(),
    object: 'chat.completion',
    created: entry.created,
    model: entry.served_model,
    ...(entry.system_fingerprint ? { system_fingerprint: entry.system_fingerprint } : {}),
    choices: structuredClone(entry.choices),
    ...(entry.usage ? { usage: { ...entry.usage } } : {}),
  } as ChatCompletion;
}

/**
 * The entry as the chunks a stream would have delivered: a role chunk, the content (and tool calls and
 * citations, with the token logprobs) in one chunk per choice, a finish chunk, then a usage chunk
 * (`choices: []`) that the SSE writer drops unless the client asked for usage. `service_tier` is not
 * replayed, here or in `completionFromEntry`: a cached answer was not processed at any tier (decision 0183).
 */
export function chunksFromEntry(entry: CacheEntry): ChatCompletionChunk[] {
  const base = {
    id: newCompletionId(),
    object: 'chat.completion.chunk' as const,
    created: entry.created,
    model: entry.served_model,
    ...(entry.system_fingerprint ? { system_fingerprint: entry.system_fingerprint } : {}),
  };
  const chunks: ChatCompletionChunk[] = [];
  for (const c of entry.choices) {
    const m = c.message;
    chunks.push({
      ...base,
      choices: [
        { index: c.index, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null },
      ],
    });
    const delta: Delta = {};
    if (typeof m.content === 'string' && m.content !== '') delta.content = m.content;
    // Citations (web search) ride with the content, as OpenAI streams them.
    if (Array.isArray(m.annotations) && m.annotations.length > 0) delta.annotations = m.annotations;
    if (typeof m.refusal === 'string' && m.refusal !== '') delta.refusal = m.refusal;
    const calls = (m.tool_calls ?? []).flatMap((t, index) =>
      t.type === 'function'
        ? [{ index, id: t.id, type: 'function' as const, function: { ...t.function } }]
        : [],
    );
    if (calls.length > 0) delta.tool_calls = calls;
    // The token logprobs ride with the content chunk (with the finish chunk when there is no content).
    const logprobs = c.logprobs ?? null;
    const hasDelta = Object.keys(delta).length > 0;
    if (hasDelta)
      chunks.push({ ...base, choices: [{ index: c.index, delta, finish_reason: null, logprobs }] });
    chunks.push({
      ...base,
      choices: [
        { index: c.index, delta: {}, finish_reason: c.finish_reason, logprobs: hasDelta ? null : logprobs },
      ],
    });
  }
  if (entry.usage) chunks.push({ ...base, choices: [], usage: { ...entry.usage } });
  return chunks;
}

/** A cached answer as an opened stream (nothing to close upstream). */
export function replay(entry: CacheEntry): OpenedStream {
  const chunks = chunksFromEntry(entry);
  const head = chunks.slice(0, 1);
  const rest = chunks.slice(1)[Symbol.iterator]();
  return {
    head,
    rest: {
      next: async () => rest.next(),
    },
    close: () => undefined,
  };
}

/** The deployment of the route that served the cached answer (for X-Provider), else the route's first. */
export function servedBy(ctx: RequestContext, entry: CacheEntry): Deployment | null {
  const deployments = ctx.route?.deployments ?? [];
  return (
    deployments.find((d) => d.provider === entry.provider && d.model === entry.deployment_model) ??
    deployments[0] ??
    null
  );
}
