/**
 * Schema helpers shared by the request and response schemas.
 */
import { Type as T, type TSchema, type TUnsafe } from '@sinclair/typebox';

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
