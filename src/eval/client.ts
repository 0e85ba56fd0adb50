/**
 * The evaluation's HTTP client for the gateway's own API (so keys, limits, budgets, caching and accounting
 * apply, DESIGN §12). Target calls stream (the time to the first content token is measured); judge calls
 * are plain JSON. A 429 or 503 is retried after its `Retry-After` (else a doubling backoff), up to
 * `maxRetries` times; any other failure is returned as the call's error, never thrown.
 *
 * Cost: the gateway sends `X-Cost` as a header on JSON answers and on cached streams, and as a final SSE
 * comment (`: X-Cost: 0.000525`) on other streams (docs/cost-tracking.md).
 */
import type { Clock } from '../core/clock.js';

export interface GatewayClientOptions {
  baseUrl: string;
  apiKey: string | null;
  clock: Clock;
  /** `X-Cache-Bypass: true` on target calls (`--no-cache`). */
  bypassCache: boolean;
  maxRetries?: number;
  /** Bound on one call (ms). */
  timeoutMs?: number;
}

export interface CallOutcome {
  ok: boolean;
  status: number;
  text: string;
  /** Milliseconds to the first content token (streams only). */
  ttftMs: number | null;
  totalMs: number;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  cache: string | null;
  requestId: string | null;
  /** The prompt version that served a prompt target (`X-Gateway-Prompt-Version`: `support@3`). */
  promptVersion: string | null;
  error: string | null;
  retries: number;
}

const RETRYABLE = new Set([429, 503]);

export class GatewayClient {
  readonly #o: GatewayClientOptions;
  constructor(options: GatewayClientOptions) {
    this.#o = options;
  }

  /** Streams a completion (`body.stream` must be true) and measures it. */
  async stream(path: string, body: Record<string, unknown>, signal: AbortSignal): Promise<CallOutcome> {
    return this.#withRetries(path, body, signal, true);
  }

  /** A JSON completion (the judge). */
  async complete(path: string, body: Record<string, unknown>, signal: AbortSignal): Promise<CallOutcome> {
    return this.#withRetries(path, { ...body, stream: false }, signal, false);
  }

  async #withRetries(
    path: string,
    body: Record<string, unknown>,
    signal: AbortSignal,
    stream: boolean,
  ): Promise<CallOutcome> {
    const max = this.#o.maxRetries ?? 6;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#once(path, body, signal, stream);
      outcome.retries = attempt;
      if (outcome.ok || !RETRYABLE.has(outcome.status) || attempt >= max || signal.aborted) return outcome;
      const wait = outcome.retryAfterMs ?? Math.min(30_000, 500 * 2 ** attempt);
      await this.#o.clock.sleep(wait, signal).catch(() => undefined);
    }
  }

  async #once(
    path: string,
    body: Record<string, unknown>,
    outer: AbortSignal,
    stream: boolean,
  ): Promise<CallOutcome & { retryAfterMs?: number }> {
    const { clock } = this.#o;
    const started = clock.now();
    const outcome: CallOutcome & { retryAfterMs?: number } = {
      ok: false,
      status: 0,
      text: '',
      ttftMs: null,
      totalMs: 0,
      inputTokens: null,
      outputTokens: null,
      costUsd: null,
      cache: null,
      requestId: null,
      promptVersion: null,
      error: null,
      retries: 0,
    };
    const signal = AbortSignal.any([outer, AbortSignal.timeout(this.#o.timeoutMs ?? 120_000)]);
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.#o.apiKey) headers.authorization = `Bearer ${this.#o.apiKey}`;
      if (stream && this.#o.bypassCache) headers['x-cache-bypass'] = 'true';
      const response = await fetch(new URL(path, this.#o.baseUrl), {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal,
      });
      outcome.status = response.status;
      outcome.requestId = response.headers.get('x-gateway-request-id');
      outcome.cache = response.headers.get('x-cache-status');
      outcome.promptVersion = response.headers.get('x-gateway-prompt-version');
      outcome.costUsd = numberOrNull(response.headers.get('x-cost'));
      if (!response.ok) {
        const text = await response.text();
        outcome.error = `HTTP ${response.status}: ${errorMessage(text)}`;
        outcome.retryAfterMs = retryAfterMs(response.headers.get('retry-after'), clock);
        return outcome;
      }
      if (stream) await readStream(response, outcome, clock, started);
      else readJson(await response.json(), outcome);
      outcome.ok = outcome.error === null;
    } catch (err) {
      outcome.error = signal.aborted && !outer.aborted ? 'timed out' : (err as Error).message;
    } finally {
      outcome.totalMs = clock.now() - started;
    }
    return outcome;
  }
}

interface ChunkShape {
  choices?: Array<{ delta?: { content?: unknown }; message?: { content?: unknown } }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string };
}

async function readStream(response: Response, out: CallOutcome, clock: Clock, started: number) {
  if (!response.body) throw new Error('the gateway sent no body');
  const decoder = new TextDecoder();
  let buffer = '';
  const parts: string[] = [];
  let done = false;
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let cut = buffer.indexOf('\n');
    while (cut >= 0) {
      const line = buffer.slice(0, cut).replace(/\r$/, '');
      buffer = buffer.slice(cut + 1);
      cut = buffer.indexOf('\n');
      if (line.startsWith(':')) {
        const cost = /^:\s*X-Cost:\s*([\d.]+)/i.exec(line);
        if (cost) out.costUsd = Number(cost[1]);
        continue;
      }
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      let frame: ChunkShape;
      try {
        frame = JSON.parse(data) as ChunkShape;
      } catch {
        continue;
      }
      if (frame.error) out.error = `stream error: ${frame.error.message ?? 'unknown'}`;
      const content = frame.choices?.[0]?.delta?.content;
      if (typeof content === 'string' && content.length > 0) {
        if (out.ttftMs === null) out.ttftMs = clock.now() - started;
        parts.push(content);
      }
      if (frame.usage) readUsage(frame.usage, out);
    }
  }
  out.text = parts.join('');
  if (!done && out.error === null) out.error = 'the stream ended without [DONE]';
}

function readJson(body: unknown, out: CallOutcome): void {
  const b = body as ChunkShape;
  const content = b.choices?.[0]?.message?.content;
  out.text = typeof content === 'string' ? content : '';
  if (b.usage) readUsage(b.usage, out);
}

function readUsage(usage: NonNullable<ChunkShape['usage']>, out: CallOutcome): void {
  if (typeof usage.prompt_tokens === 'number') out.inputTokens = usage.prompt_tokens;
  if (typeof usage.completion_tokens === 'number') out.outputTokens = usage.completion_tokens;
}

function numberOrNull(text: string | null): number | null {
  if (text === null || text.trim() === '') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 300);
}

/** `Retry-After` in seconds or as an HTTP date; undefined when absent or unreadable. Capped at 2 minutes. */
export function retryAfterMs(value: string | null, clock: Pick<Clock, 'wallNow'>): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(120_000, seconds * 1000);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.min(120_000, Math.max(0, at - clock.wallNow()));
}
