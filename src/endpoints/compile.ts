/**
 * One Ajv instance for the endpoint schemas, with the options Fastify used for them before the codecs
 * validated bodies themselves (no coercion, no defaults, no removal; discriminators; formats).
 */
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { fromValidation } from './validation.js';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

/** A validator that throws the gateway's 422 (naming the field) for a body that does not match. */
export type BodyValidator<T> = (value: unknown) => T;

/** Compiles schemas once, at start-up. */
export function createSchemaCompiler(): <T>(schema: TSchema) => BodyValidator<T> {
  const ajv = new Ajv({
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    allErrors: false,
    discriminator: true,
    strict: false,
  });
  addFormats(ajv);
  return <T>(schema: TSchema) => {
    const validate: ValidateFunction = ajv.compile(schema);
    return (value: unknown): T => {
      if (!validate(value)) throw fromValidation(validate.errors ?? []);
      return value as T;
    };
  };
}
