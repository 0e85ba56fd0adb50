/**
 * The input side over the canonical request, whatever endpoint codec produced it: chat message contents
 * (strings and the `text` of content parts, every role), the predicted output (`prediction.content`), the
 * end-user ids (`user`, `safety_identifier`, `prompt_cache_key`), and embeddings input (a string or strings; token arrays cannot
 * be read and pass as they are). Copy-on-write: the body is only copied when a text changed.
 *
 * Two passes over the same texts: the first reserves the placeholder numbers the request already holds
 * (`<EMAIL_2>` sent back in a conversation's history), so a value masked in the second never gets a number
 * that names something else in the same request.
 */
import type { CanonicalRequest } from '../core/context.js';
import type { ChatRequest, EmbeddingRequest } from '../providers/types.js';
import type { GuardSession } from './session.js';

type TextMap = (text: string) => string;

/**
 * Chat fields that name the end user (OpenAI's `user` and its successor `safety_identifier`), and the
 * provider's cache routing key, which apps often derive from the user too (`prompt_cache_key`).
 */
const END_USER_FIELDS = ['user', 'safety_identifier', 'prompt_cache_key'] as const;

/** The request with its texts checked (the same object when nothing changed). @throws ContentPolicyError */
export function guardRequest(request: CanonicalRequest, session: GuardSession): CanonicalRequest {
  mapTexts(request, (text) => {
    session.reserve(text);
    return text;
  });
  return mapTexts(request, (text) => session.input(text));
}

/** The request with `map` applied to each text it sends (the same object when no text changed). */
function mapTexts(request: CanonicalRequest, map: TextMap): CanonicalRequest {
  if (request.kind === 'embeddings') {
    const input = request.body.input as unknown;
    let next: unknown = input;
    if (typeof input === 'string') next = map(input);
    else if (Array.isArray(input) && input.every((i) => typeof i === 'string')) {
      const mapped = (input as string[]).map(map);
      if (mapped.some((t, i) => t !== input[i])) next = mapped;
    }
    const user = request.body.user;
    const checkedUser = typeof user === 'string' ? map(user) : user;
    if (next === input && checkedUser === user) return request;
    const body = { ...request.body, input: next } as EmbeddingRequest;
    if (checkedUser !== user) body.user = checkedUser as string;
    return { ...request, body };
  }
  const body = request.body as unknown as Record<string, unknown>;
  let copy: Record<string, unknown> | null = null;
  const set = (field: string, value: unknown) => {
    copy ??= { ...body };
    copy[field] = value;
  };
  const messages = body.messages as unknown[];
  let changed = false;
  const checked = messages.map((message) => {
    const m = message as { content?: unknown };
    const content = mapContent(m.content, map);
    if (content === m.content) return message;
    changed = true;
    return { ...m, content };
  });
  if (changed) set('messages', checked);
  // Predicted Outputs: typically the whole file being edited, sent to the model as text.
  const prediction = body.prediction as { content?: unknown } | null | undefined;
  if (prediction && typeof prediction === 'object') {
    const content = mapContent(prediction.content, map);
    if (content !== prediction.content) set('prediction', { ...prediction, content });
  }
  // End-user ids (Messages' metadata.user_id decodes to `user`): opaque to the model, but an app may put
  // the user's e-mail there, and it reaches the provider (decision 0219).
  for (const field of END_USER_FIELDS) {
    const id = body[field];
    if (typeof id !== 'string') continue;
    const next = map(id);
    if (next !== id) set(field, next);
  }
  if (copy === null) return request;
  // The client's native body (a passthrough API) still holds the raw values: drop it, so the provider is
  // sent the checked canonical body instead (translation over leaking).
  const { native: _native, ...rest } = request;
  return { ...rest, body: copy as unknown as ChatRequest };
}

function mapContent(content: unknown, map: TextMap): unknown {
  if (typeof content === 'string') return map(content);
  if (!Array.isArray(content)) return content;
  let changed = false;
  const parts = content.map((part) => {
    const p = part as { type?: unknown; text?: unknown };
    if (p?.type !== 'text' || typeof p.text !== 'string') return part;
    const text = map(p.text);
    if (text === p.text) return part;
    changed = true;
    return { ...p, text };
  });
  return changed ? parts : content;
}
