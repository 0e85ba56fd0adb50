/**
 * The prompt extension fields of a chat body (DESIGN §12): `"prompt": {"id", "version" | "label",
 * "variables"}` and `"experiment": "<id>"`. Taken out of the body here, at decode, so they never reach a
 * provider; the prompt stage renders them (docs/prompts.md).
 */
import { Type as T } from '@sinclair/typebox';
import type { PromptReference } from '../core/context.js';
import { ValidationError } from '../core/errors.js';

/** Prompt, label and experiment ids: what the admin API accepts. */
export const PROMPT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const ID = new RegExp(PROMPT_ID_PATTERN);
/** The highest version number a reference may name (nine digits, as in the admin paths; the column is an int4). */
export const MAX_PROMPT_VERSION = 999_999_999;
const MAX_VARIABLES = 64;

/** OpenAPI: the `prompt` extension field. */
export const PromptFieldSchema = T.Object(
  {
    id: T.String({ pattern: PROMPT_ID_PATTERN, description: 'Prompt id' }),
    version: T.Optional(
      T.Union(
        [T.Integer({ minimum: 1, maximum: MAX_PROMPT_VERSION }), T.String({ pattern: '^[1-9][0-9]{0,8}$' })],
        {
          description: 'A version number (or `label`)',
        },
      ),
    ),
    label: T.Optional(T.String({ pattern: PROMPT_ID_PATTERN, description: 'A label; default `production`' })),
    variables: T.Optional(T.Record(T.String(), T.Unknown(), { description: 'Values of the variables' })),
  },
  {
    additionalProperties: false,
    description: 'Gateway extension: render a stored prompt (docs/prompts.md).',
  },
);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks `{id?, version?, label?, variables?}` (`param`: where it came from). @throws ValidationError */
export function promptReference(
  value: Record<string, unknown>,
  experiment: unknown,
  param: string,
  prefix = `${param}.`,
): PromptReference {
  for (const key of Object.keys(value)) {
    if (!['id', 'version', 'label', 'variables'].includes(key)) {
      throw new ValidationError(
        `Unknown field '${key}' (expected id, version, label, variables).`,
        `${prefix}${key}`,
      );
    }
  }
  const { id, label, variables } = value;
  // OpenAI's Responses API sends versions as strings ("2"): accept a whole number either way.
  const version =
    typeof value.version === 'string' && /^[1-9][0-9]{0,8}$/.test(value.version)
      ? Number(value.version)
      : value.version;
  if (id !== undefined && (typeof id !== 'string' || !ID.test(id))) {
    throw new ValidationError('A prompt id is 1 to 64 letters, digits, ".", "_" or "-".', `${prefix}id`);
  }
  if (
    version !== undefined &&
    (!Number.isSafeInteger(version) || (version as number) < 1 || (version as number) > MAX_PROMPT_VERSION)
  ) {
    throw new ValidationError(
      `version must be an integer from 1 to ${MAX_PROMPT_VERSION}.`,
      `${prefix}version`,
    );
  }
  if (label !== undefined && (typeof label !== 'string' || !ID.test(label))) {
    throw new ValidationError('A label is 1 to 64 letters, digits, ".", "_" or "-".', `${prefix}label`);
  }
  if (version !== undefined && label !== undefined) {
    throw new ValidationError('Give either version or label, not both.', `${prefix}label`);
  }
  if (variables !== undefined && !isObject(variables)) {
    throw new ValidationError('variables must be an object of name → value.', `${prefix}variables`);
  }
  if (variables && Object.keys(variables).length > MAX_VARIABLES) {
    throw new ValidationError(`At most ${MAX_VARIABLES} variables.`, `${prefix}variables`);
  }
  if (experiment !== undefined && (typeof experiment !== 'string' || !ID.test(experiment))) {
    throw new ValidationError('experiment is an experiment id.', 'experiment');
  }
  if (id === undefined && (experiment === undefined || version !== undefined || label !== undefined)) {
    throw new ValidationError('prompt.id is required (only an experiment may leave it out).', `${prefix}id`);
  }
  return {
    id: (id as string | undefined) ?? null,
    version: (version as number | undefined) ?? null,
    label: (label as string | undefined) ?? null,
    variables: (variables as Record<string, unknown> | undefined) ?? {},
    experiment: (experiment as string | undefined) ?? null,
  };
}

/**
 * Takes `prompt` and `experiment` out of a parsed chat body (mutating it). Null when it has neither (the
 * plain path: two property checks). @throws ValidationError naming the field
 */
export function takePromptReference(body: unknown): PromptReference | null {
  if (!isObject(body) || (body.prompt === undefined && body.experiment === undefined)) return null;
  const { prompt, experiment } = body;
  delete body.prompt;
  delete body.experiment;
  if (prompt !== undefined && !isObject(prompt)) {
    throw new ValidationError('prompt must be an object {id, version | label, variables}.', 'prompt');
  }
  return promptReference(prompt ?? {}, experiment, 'prompt');
}
