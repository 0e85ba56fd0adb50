/**
 * What the demo's simulated upstream answers: a made-up reply that says it is one, its token counts, the
 * pieces a stream sends, and how long each takes (a first-token delay and a per-piece delay, faster for
 * small models). Deterministic given the clock's `random()`.
 */
import type { Clock } from '../core/clock.js';

export interface SimulatedAnswer {
  id: string;
  model: string;
  text: string;
  /** The text in stream pieces (joined: `text`). */
  pieces: string[];
  promptTokens: number;
  completionTokens: number;
  /** Milliseconds before the first token, and between pieces. */
  firstTokenMs: number;
  pieceMs: number;
}

const SENTENCES = [
  'The gateway routed this request, priced it and recorded its usage.',
  'Open the console to see it in the request log and the spend explorer.',
  'Send the same request again to see the response cache answer it for free.',
  'Streams arrive piece by piece, the way a real provider sends them.',
  'Every number here is simulated; the request path is the real one.',
  'Retries, fallback and circuit breakers work the same against real providers.',
  'Set a provider key and drop the demo to talk to a real model.',
];

/** Small, fast models answer sooner (by their catalogue names' usual markers). */
const FAST = /(mini|nano|flash|haiku|instant|8b|lite)/i;

/** Roughly 4 characters a token, as the gateway estimates too. */
export function tokensOf(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export function simulateAnswer(
  model: string,
  prompt: string,
  promptChars: number,
  clock: Pick<Clock, 'random'>,
  maxTokens?: number,
  /** A scripted reply (the evaluation mode, demo/eval-answers.ts) instead of the made-up one. */
  scripted?: string | null,
): SimulatedAnswer {
  const count = 1 + Math.floor(clock.random() * 3);
  const start = Math.floor(clock.random() * SENTENCES.length);
  const said = prompt.trim().replace(/\s+/g, ' ').slice(0, 80);
  const parts = [`(Simulated answer from ${model}${said ? ` to “${said}”` : ''}.)`];
  for (let i = 0; i < count; i++) parts.push(SENTENCES[(start + i) % SENTENCES.length] ?? '');
  let text = scripted ?? parts.join(' ');
  if (maxTokens !== undefined && tokensOf(text) > maxTokens) text = text.slice(0, Math.max(1, maxTokens * 4));
  const pieces = text.match(/\S+\s*/g) ?? [text];
  const fast = FAST.test(model);
  return {
    id: Math.floor(clock.random() * 2 ** 48).toString(36),
    model,
    text,
    pieces,
    promptTokens: Math.max(1, Math.ceil(promptChars / 4)),
    completionTokens: tokensOf(text),
    firstTokenMs: Math.round((fast ? 150 : 350) + clock.random() * (fast ? 250 : 650)),
    pieceMs: Math.round((fast ? 8 : 18) + clock.random() * (fast ? 12 : 25)),
  };
}

/** A deterministic unit vector for a text (embeddings), `dims` long. */
export function vectorOf(text: string, dims: number): number[] {
  let seed = 2166136261;
  for (let i = 0; i < text.length; i++) seed = Math.imul(seed ^ text.charCodeAt(i), 16777619) >>> 0;
  const values: number[] = [];
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const v = seed / 2 ** 32 - 0.5;
    values.push(v);
    norm += v * v;
  }
  const scale = 1 / Math.sqrt(norm || 1);
  return values.map((v) => Math.round(v * scale * 1e6) / 1e6);
}
