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
  /** Legacy Completions (`text_completion`), whole answers and stream chunks alike. */
  textCompletion: ValidateFunction;
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
    textCompletion: load('CreateCompletionResponse.json'),
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

export interface ResponsesSchemas {
  /** `Response` (POST /v1/responses, GET /v1/responses/{id}). */
  response: ValidateFunction;
  /** `ResponseStreamEvent` (each event of a Responses stream). */
  event: ValidateFunction;
  /** `ResponseItemList` (GET /v1/responses/{id}/input_items). */
  itemList: ValidateFunction;
}

/**
 * Compiles the Responses API schemas. As strict as `loadOpenAISchemas`, except `strictRequired` (OpenAI's
 * Responses schemas list, inside `allOf` branches, required properties defined in a sibling branch).
 */
export function loadResponsesSchemas(): ResponsesSchemas {
  const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('unixtime', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 });
  ajv.addFormat('float', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  const load = (file: string) =>
    ajv.compile(JSON.parse(readFileSync(new URL(file, OPENAI_SCHEMA_DIR), 'utf8')) as object);
  return {
    response: load('Response.json'),
    event: load('ResponseStreamEvent.json'),
    itemList: load('ResponseItemList.json'),
  };
}
