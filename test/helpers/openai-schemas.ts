/**
 * OpenAI's own JSON Schemas (draft 2020-12, extracted from the official OpenAPI document, MIT) vendored in
 * `test/fixtures/openai-openapi/` (source, version and licence in its README), compiled with Ajv in strict
 * mode. Tests assert gateway bodies with them.
 *
 * @example
 * const schemas = loadOpenAISchemas();
 * assertSchema(schemas.chunk, chunk, 'stream chunk');
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/** Folder of the vendored schemas, relative to this file (test/helpers → test/fixtures/openai-openapi). */
export const OPENAI_SCHEMA_DIR = new URL('../fixtures/openai-openapi/', import.meta.url);

export interface OpenAISchemas {
  completion: ValidateFunction;
  chunk: ValidateFunction;
  models: ValidateFunction;
  error: ValidateFunction;
  embeddings: ValidateFunction;
}

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/** Compiles the schemas the API answers with. */
export function loadOpenAISchemas(): OpenAISchemas {
  // Strict, so an unresolved $ref or unknown keyword is a compile error; strictTypes is off only because
  // OpenAI's `Model` uses `required` without `type: object` (a schema-authoring lint, not a looser check).
  const ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
  addFormats(ajv);
  // OpenAI-specific formats, as defined by the schemas' README.
  ajv.addFormat('unixtime', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 });
  ajv.addFormat('float', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  const load = (file: string) => {
    const url = new URL(file, OPENAI_SCHEMA_DIR);
    assert.ok(
      existsSync(url),
      `OpenAI schema missing: ${url.pathname} (see test/fixtures/openai-openapi/README.md)`,
    );
    return ajv.compile(JSON.parse(readFileSync(url, 'utf8')) as object);
  };
  return {
    completion: load('CreateChatCompletionResponse.json'),
    chunk: load('CreateChatCompletionStreamResponse.json'),
    models: load('ListModelsResponse.json'),
    error: load('ErrorResponse.json'),
    embeddings: load('CreateEmbeddingResponse.json'),
  };
}

/** Fails with Ajv's errors (and the value) when `value` does not match. */
export function assertSchema(validate: ValidateFunction, value: unknown, what: string): void {
  const ok = validate(value);
  assert.ok(
    ok,
    `${what} does not match OpenAI's schema: ${JSON.stringify(validate.errors, null, 1)}\nvalue: ${JSON.stringify(value)}`,
  );
}
