/**
 * OpenAI tool call ids for Gemini function calls, carrying the call's thought signature.
 *
 * Thinking models (Gemini 2.5 and 3) put an opaque `thoughtSignature` next to `functionCall` in a part, and
 * Gemini 3 answers 400 when the function calls of the current turn come back without it. OpenAI has no
 * field for it, but clients echo a tool call's `id` verbatim (assistant `tool_calls[].id`, tool message
 * `tool_call_id`), so the id carries it. The id stays one plain string:
 *
 *   call_<24 hex>                          the part had no signature
 *   call_<24 hex>__thought__<signature>    the signature exactly as Gemini sent it
 *
 * The signature is a protobuf `bytes` field, which Gemini's JSON writes as standard base64
 * (`A–Z a–z 0–9 + / =`): no `_`, so it cannot contain the separator, and neither can the prefix. The id
 * is split at the first separator anyway, so even a URL-safe signature (which may hold `_`) survives.
 * Ids from anywhere else (other providers, clients' own) have no separator and carry no signature.
 */
import { randomUUID } from 'node:crypto';

/** Between the random part of a tool call id and the thought signature it carries. */
export const THOUGHT_SIGNATURE_SEPARATOR = '__thought__';

/** A fresh tool call id; with the part's thought signature when it has a non-empty string one. */
export function newToolCallId(thoughtSignature?: unknown): string {
  const id = `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
  if (typeof thoughtSignature !== 'string' || thoughtSignature === '') return id;
  return `${id}${THOUGHT_SIGNATURE_SEPARATOR}${thoughtSignature}`;
}

/** The thought signature a tool call id carries, or `undefined` when it carries none. */
export function thoughtSignatureOf(id: string): string | undefined {
  const at = id.indexOf(THOUGHT_SIGNATURE_SEPARATOR);
  if (at === -1) return undefined;
  const signature = id.slice(at + THOUGHT_SIGNATURE_SEPARATOR.length);
  return signature === '' ? undefined : signature;
}
