/**
 * The input side over the canonical request, whatever endpoint codec produced it: chat message contents
 * (strings and the `text` of content parts, every role) and embeddings input (a string or strings; token
 * arrays cannot be read and pass as they are). Copy-on-write: the body is only copied when a text changed.
 */
import type { CanonicalRequest } from '../core/context.js';
import type { ChatRequest, EmbeddingRequest } from '../providers/types.js';
import type { GuardSession } from './session.js';

/** The request with its texts checked (the same object when nothing changed). @throws ContentPolicyError */
export function guardRequest(request: CanonicalRequest, session: GuardSession): CanonicalRequest {
  if (request.kind === 'embeddings') {
    const input = request.body.input as unknown;
    let next: unknown = input;
    if (typeof input === 'string') next = session.input(input);
    else if (Array.isArray(input) && input.every((i) => typeof i === 'string')) {
      const mapped = (input as string[]).map((t) => session.input(t));
      if (mapped.some((t, i) => t !== input[i])) next = mapped;
    }
    if (next === input) return request;
    return { ...request, body: { ...request.body, input: next } as EmbeddingRequest };
  }
  const messages = request.body.messages as unknown[];
  let changed = false;
  const checked = messages.map((message) => {
    const m = message as { content?: unknown };
    const content = checkContent(m.content, session);
    if (content === m.content) return message;
    changed = true;
    return { ...m, content };
  });
  if (!changed) return request;
  const body = { ...request.body, messages: checked } as ChatRequest;
  // The client's native body (a passthrough API) still holds the raw values: drop it, so the provider is
  // sent the checked canonical body instead (translation over leaking).
  const { native: _native, ...rest } = request;
  return { ...rest, body };
}

function checkContent(content: unknown, session: GuardSession): unknown {
  if (typeof content === 'string') return session.input(content);
  if (!Array.isArray(content)) return content;
  let changed = false;
  const parts = content.map((part) => {
    const p = part as { type?: unknown; text?: unknown };
    if (p?.type !== 'text' || typeof p.text !== 'string') return part;
    const text = session.input(p.text);
    if (text === p.text) return part;
    changed = true;
    return { ...p, text };
  });
  return changed ? parts : content;
}
