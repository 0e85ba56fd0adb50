/**
 * Schema helpers shared by the request and response schemas.
 */
import { Type as T, type TSchema, type TUnsafe } from '@sinclair/typebox';

/**
 * Longest `model` a client may send (docs/decisions/0085-bounded-input.md). Real names are far shorter
 * (the longest in the built-in catalogue is ~45 characters); anything longer is refused with a 422 before
 * it can reach a map, a log line or a metric.
 */
export const MAX_MODEL_LENGTH = 256;
/** Longest other client identifier: `user`, message `name`, tool call ids. */
export const MAX_IDENTIFIER_LENGTH = 256;
/** Longest key of `metadata` (OpenAI's own limit). */
export const MAX_METADATA_KEY_LENGTH = 64;

/**
 * Text without NUL or a lone surrogate (an ajv `pattern`, unicode flag). PostgreSQL refuses both in text and
 * jsonb: a value the gateway keeps or looks up must match it, or the request ends in a database error.
 */
export const STORABLE_TEXT = '^[^\\u0000\\p{Cs}]+$';

/**
 * A model name: 1 to `MAX_MODEL_LENGTH` characters, none of them NUL or a lone surrogate. No provider names a
 * model so, and PostgreSQL refuses both in a usage record (jsonb): a 422 here, not a request that reaches a
 * provider and a record that cannot be written.
 */
export function modelName(description?: string) {
  return T.String({
    minLength: 1,
    maxLength: MAX_MODEL_LENGTH,
    pattern: STORABLE_TEXT,
    ...(description ? { description } : {}),
  });
}

/** An id the gateway looks up in its stores (a stored response's id): 1 to `max` storable characters. */
export function storedId(max = MAX_IDENTIFIER_LENGTH) {
  return T.String({ minLength: 1, maxLength: max, pattern: STORABLE_TEXT });
}

/**
 * Largest count a client may ask for (`max_tokens`, `dimensions`, `top_k` …): a 32-bit integer, as
 * providers parse them. JSON has no integer limit (`1e308` is an integer to the schema); a bound names the
 * field instead of a provider failing on it, or hanging.
 */
export const MAX_COUNT = 2_147_483_647;

/** A count of tokens, dimensions … from `minimum` to `MAX_COUNT`. */
export function tokenCount(minimum = 1, description?: string) {
  return T.Integer({ minimum, maximum: MAX_COUNT, ...(description ? { description } : {}) });
}

/**
 * Largest integer a JSON number keeps exactly once parsed (2^53 − 1, `Number.MAX_SAFE_INTEGER`). Bodies are
 * parsed into doubles and serialised again for the provider, so a larger integer would reach it changed
 * (9007199254740993 becomes …992) with no error: refused instead (decision 0235).
 */
export const MAX_EXACT_INTEGER = Number.MAX_SAFE_INTEGER;

/**
 * An integer forwarded as the client sent it whose API range is wider than a double holds exactly
 * (`seed`, `max_tool_calls`): bounded to ±`MAX_EXACT_INTEGER`, so what the provider gets is what was sent.
 */
export function exactInteger(description?: string) {
  return T.Integer({
    minimum: -MAX_EXACT_INTEGER,
    maximum: MAX_EXACT_INTEGER,
    ...(description ? { description } : {}),
  });
}

/** A client-supplied identifier: 1 to `max` characters. */
export function identifier(max = MAX_IDENTIFIER_LENGTH, description?: string) {
  return T.String({ minLength: 1, maxLength: max, ...(description ? { description } : {}) });
}

/**
 * Accepts the schema's values or `null` (OpenAI's `nullable: true`). Simple types become a type array, so
 * validation errors stay short ("must be number,null").
 */
export function nullable<S extends TSchema>(schema: S): TUnsafe<S['static'] | null> {
  const copy = { ...schema } as Record<string, unknown>;
  if (typeof copy.type === 'string') {
    copy.type = [copy.type, 'null'];
    if (Array.isArray(copy.enum)) copy.enum = [...copy.enum, null];
    return T.Unsafe<S['static'] | null>(copy);
  }
  return T.Unsafe<S['static'] | null>({ anyOf: [schema, { type: 'null' }] });
}

/** OpenAI error body. */
export const ErrorResponseSchema = T.Object(
  {
    error: T.Object({
      message: T.String(),
      type: T.String(),
      param: T.Union([T.String(), T.Null()]),
      code: T.Union([T.String(), T.Null()]),
    }),
  },
  { $id: 'ErrorResponse', description: 'OpenAI-style error body.' },
);

/**
 * TypeBox emits `anyOf`; ajv's discriminator needs `oneOf`, with a `const` or `enum` tag in every branch, so
 * an error names the field of the branch the tag picked. `type: 'object'` is required next to it: ajv's
 * discriminator checks only objects and lets every other value through (`messages: [null]` would pass).
 */
export function oneOf<S extends { anyOf: unknown[] }>(schema: S): S {
  const { anyOf, ...rest } = schema as S & Record<string, unknown>;
  return { type: 'object', ...rest, oneOf: anyOf } as unknown as S;
}
