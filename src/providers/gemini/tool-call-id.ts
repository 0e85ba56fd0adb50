/**
 * OpenAI tool call ids for Gemini function calls, carrying the call's thought signature.
 *
 * Thinking models (Gemini 2.5 and 3) put an opaque `thoughtSignature` next to `functionCall` in a part, and
 * Gemini 3 answers 400 when the function calls of the current turn come back without it. OpenAI has no
 * field for it, but clients echo a tool call's `id` verbatim (assistant `tool_calls[].id`, tool message
 * `tool_call_id`, Anthropic `tool_use.id` / `tool_result.tool_use_id`), so the id carries it. The id stays
 * one plain string of `[A-Za-z0-9_-]`, the only characters Anthropic accepts in a `tool_use.id`, so a
 * conversation can move on to a Claude deployment unchanged:
 *
 *   call_<24 hex>                          the part had no signature
 *   call_<24 hex>__thought__<signature>    the signature in base64url without padding
 *
 * The signature is a protobuf `bytes` field, which Gemini's JSON writes as standard base64
 * (`A–Z a–z 0–9 + / =`); the id holds the same bytes in the URL-safe alphabet (`-` for `+`, `_` for `/`, no
 * `=`), and the request translation turns it back into standard base64. Ids made before that change hold the
 * standard alphabet: one with `+`, `/` or `=` is read as it is. The id is split at the first separator (the
 * prefix cannot hold one), so a signature holding `__thought__` survives. A signature that is not base64 is
 * not carried (Gemini's always are). Ids from anywhere else (other providers, clients' own) have no
 * separator and carry no signature.
 */
import { randomUUID } from 'node:crypto';

/** Between the random part of a tool call id and the thought signature it carries. */
export const THOUGHT_SIGNATURE_SEPARATOR = '__thought__';

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const STANDARD_ONLY = /[+/=]/;

/** A fresh tool call id; with the part's thought signature when it has a non-empty base64 string one. */
export function newToolCallId(thoughtSignature?: unknown): string {
  const id = `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
  if (typeof thoughtSignature !== 'string' || !BASE64.test(thoughtSignature)) return id;
  const urlSafe = thoughtSignature.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
  return `${id}${THOUGHT_SIGNATURE_SEPARATOR}${urlSafe}`;
}

/** The thought signature (standard base64) a tool call id carries, or `undefined` when it carries none. */
export function thoughtSignatureOf(id: string): string | undefined {
  const at = id.indexOf(THOUGHT_SIGNATURE_SEPARATOR);
  if (at === -1) return undefined;
  const signature = id.slice(at + THOUGHT_SIGNATURE_SEPARATOR.length);
  if (signature === '') return undefined;
  if (STANDARD_ONLY.test(signature)) return signature;
  const standard = signature.replaceAll('-', '+').replaceAll('_', '/');
  return standard.padEnd(Math.ceil(standard.length / 4) * 4, '=');
}
