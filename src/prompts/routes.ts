/**
 * The prompt admin API (DESIGN §12; docs/prompts.md), global admin only:
 *
 *   GET  /admin/prompts                         prompts with their labels and latest version (?all=true: archived too)
 *   POST /admin/prompts                         {id, messages, variables?, model?, params?, note?} → version 1
 *   GET  /admin/prompts/:id                     one prompt (labels, latest version)
 *   GET  /admin/prompts/:id/versions            every version, newest first
 *   POST /admin/prompts/:id/versions            {messages, variables?, model?, params?, note?} → the next version
 *   GET  /admin/prompts/:id/versions/:version   one version
 *   PUT  /admin/prompts/:id/labels/:label       {version} → moves the label (atomic)
 *   GET  /admin/prompts/:id/diff?from=&to=      what changed between two versions
 *   POST /admin/prompts/:id/archive             requests can no longer use it
 *
 * There is no route that changes a version: versions are immutable (decision 0110).
 */
import { Type as T } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { type AdminRequest, type AdminRoute, withStatus } from '../core/feature.js';
import { MAX_PROMPT_VERSION, PROMPT_ID_PATTERN } from '../endpoints/prompt-ref.js';
import { diffVersions } from './diff.js';
import type { PromptResolver } from './resolver.js';
import {
  type NewVersion,
  PromptExistsError,
  PromptNotFoundError,
  type PromptStore,
  type PromptVersion,
} from './store.js';
import { declareVariables, type PromptMessage, VARIABLE_TYPES } from './template.js';

const Id = T.String({ pattern: PROMPT_ID_PATTERN });
const MAX_MESSAGES = 100;
const MAX_CONTENT = 100_000;
/** Fields a version's params may not set: the prompt and the request own them. */
const RESERVED_PARAMS = ['model', 'messages', 'stream', 'prompt', 'experiment'];

const Message = T.Object(
  {
    role: T.Union([T.Literal('system'), T.Literal('developer'), T.Literal('user'), T.Literal('assistant')]),
    content: T.String({ maxLength: MAX_CONTENT }),
  },
  { additionalProperties: false },
);
const VariableSpec = T.Object(
  {
    type: T.Optional(T.Union([...VARIABLE_TYPES, 'array'].map((t) => T.Literal(t)))),
    required: T.Optional(T.Boolean()),
  },
  { additionalProperties: false },
);
const VersionFields = {
  messages: T.Array(Message, { minItems: 1, maxItems: MAX_MESSAGES }),
  variables: T.Optional(
    T.Union([
      T.Array(T.String(), { maxItems: 64 }),
      T.Record(T.String(), VariableSpec, { maxProperties: 64 }),
    ]),
  ),
  model: T.Optional(T.Union([T.String({ minLength: 1, maxLength: 256 }), T.Null()])),
  params: T.Optional(T.Record(T.String(), T.Unknown(), { maxProperties: 64 })),
  note: T.Optional(T.Union([T.String({ maxLength: 2000 }), T.Null()])),
};
export const NewVersionBody = T.Object(VersionFields, { additionalProperties: false });
export const NewPromptBody = T.Object({ id: Id, ...VersionFields }, { additionalProperties: false });
export type NewVersionInput = {
  messages: PromptMessage[];
  variables?: unknown;
  model?: string | null;
  params?: Record<string, unknown>;
  note?: string | null;
};

/** A version as the API shows it. */
export function versionView(v: PromptVersion) {
  return {
    object: 'prompt.version',
    id: v.id,
    version: v.version,
    messages: v.messages,
    variables: v.variables,
    model: v.model,
    params: v.params,
    note: v.note,
    created_at: v.createdAt,
  };
}

/** Rules that depend on what the request adds (its tools, logprobs): not decidable from params alone. */
const REQUEST_DEPENDENT = /^(tool_choice|top_logprobs)(\.|$)/;

/**
 * A version's params must be valid chat request fields (`temperature` 0–2, `max_tokens` an integer …):
 * a version is immutable, so a bad value would fail every request that does not override it, with a
 * `param` the client never sent. @throws ValidationError naming `params.<field>`
 */
export function checkParams(params: Record<string, unknown>, validate: (body: unknown) => unknown): void {
  try {
    validate({ ...params, model: 'prompt-params-check', messages: [{ role: 'user', content: '.' }] });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    if (err.param && REQUEST_DEPENDENT.test(err.param)) return;
    throw new ValidationError(`params: ${err.message}`, err.param ? `params.${err.param}` : 'params');
  }
}

/**
 * Checks a new version's templates and fields (its params too, given the chat request validator).
 * @throws ValidationError naming the field
 */
export function toNewVersion(input: NewVersionInput, validate?: (body: unknown) => unknown): NewVersion {
  const params = input.params ?? {};
  for (const name of RESERVED_PARAMS) {
    if (name in params) throw new ValidationError(`params may not set '${name}'.`, `params.${name}`);
  }
  if (validate) checkParams(params, validate);
  return {
    messages: input.messages,
    variables: declareVariables(input.variables, input.messages),
    model: input.model ?? null,
    params,
    note: input.note ?? null,
  };
}

/** Tells why a model name is served by nothing (null: it is served); see `unknownModelMessage`. */
export type ModelCheck = (model: string) => string | null;

/** @throws ValidationError naming `param` when `check` knows the model names nothing. */
export function refuseUnknownModel(
  model: string | null | undefined,
  param: string,
  check?: ModelCheck,
): void {
  const problem = model && check ? check(model) : null;
  if (problem) throw new ValidationError(problem, param);
}

/** The audit log's actor of an admin request (as for key changes). */
export function adminActor(request: AdminRequest) {
  return { actor: `admin@${request.ip}`, requestId: request.id };
}

function conflict(message: string) {
  return withStatus(409, {
    error: { message, type: 'invalid_request_error', code: 'conflict', param: 'id' },
  });
}

/** Maps the store's errors to the API's. */
async function guard<V>(run: () => Promise<V>): Promise<V> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof PromptNotFoundError) throw new NotFoundError(err.message);
    throw err;
  }
}

export function promptRoutes(
  store: PromptStore,
  resolver: PromptResolver,
  clock: Pick<Clock, 'wallNow'>,
  validate?: (body: unknown) => unknown,
  checkModel?: ModelCheck,
): AdminRoute[] {
  const IdParams = T.Object({ id: Id });
  return [
    {
      method: 'GET',
      url: '/admin/prompts',
      summary: 'List prompts with their labels and latest version',
      responses: { 200: { description: 'The prompts', component: 'AdminList' } },
      querystring: T.Object({ all: T.Optional(T.Union([T.Literal('true'), T.Literal('false')])) }),
      handler: async (request) => ({ object: 'list', data: await store.list(request.query.all === 'true') }),
    },
    {
      method: 'POST',
      url: '/admin/prompts',
      summary: 'Create a prompt (its version 1)',
      responses: { 201: { description: 'The new prompt’s version 1', component: 'AdminObject' } },
      body: NewPromptBody,
      handler: async (request) => {
        const { id, ...input } = request.body as NewVersionInput & { id: string };
        refuseUnknownModel(input.model, 'model', checkModel);
        try {
          return withStatus(
            201,
            versionView(await store.create(id, toNewVersion(input, validate), adminActor(request))),
          );
        } catch (err) {
          if (err instanceof PromptExistsError) return conflict(err.message);
          throw err;
        }
      },
    },
    {
      method: 'GET',
      url: '/admin/prompts/:id',
      summary: 'One prompt: labels and latest version',
      params: IdParams,
      handler: (request) =>
        guard(async () => {
          const summary = await store.get(request.params.id as string);
          const latest = await store.version(summary.id, summary.latest_version);
          return { ...summary, latest: versionView(latest) };
        }),
    },
    {
      method: 'GET',
      url: '/admin/prompts/:id/versions',
      summary: "A prompt's versions, newest first",
      responses: { 200: { description: 'The versions, newest first', component: 'AdminList' } },
      params: IdParams,
      handler: (request) =>
        guard(async () => ({
          object: 'list',
          data: (await store.versions(request.params.id as string)).map(versionView),
        })),
    },
    {
      method: 'POST',
      url: '/admin/prompts/:id/versions',
      summary: 'Add the next version of a prompt (versions are immutable)',
      responses: { 201: { description: 'The new version', component: 'AdminObject' } },
      params: IdParams,
      body: NewVersionBody,
      handler: (request) =>
        guard(async () => {
          const next = toNewVersion(request.body as NewVersionInput, validate);
          refuseUnknownModel(next.model, 'model', checkModel);
          return withStatus(
            201,
            versionView(await store.addVersion(request.params.id as string, next, adminActor(request))),
          );
        }),
    },
    {
      method: 'GET',
      url: '/admin/prompts/:id/versions/:version',
      summary: 'One version of a prompt',
      params: T.Object({ id: Id, version: T.String({ pattern: '^[1-9][0-9]{0,8}$' }) }),
      handler: (request) =>
        guard(async () =>
          versionView(await store.version(request.params.id as string, Number(request.params.version))),
        ),
    },
    {
      method: 'PUT',
      url: '/admin/prompts/:id/labels/:label',
      summary: 'Point a label (production, staging, …) at a version (atomic)',
      params: T.Object({ id: Id, label: Id }),
      body: T.Object(
        { version: T.Integer({ minimum: 1, maximum: MAX_PROMPT_VERSION }) },
        { additionalProperties: false },
      ),
      handler: (request) =>
        guard(async () => {
          const { id, label } = request.params as { id: string; label: string };
          const { version } = request.body as { version: number };
          const previous = await store.setLabel(id, label, version, adminActor(request));
          resolver.forgetPrompt(id);
          return { object: 'prompt.label', id, label, version, previous };
        }),
    },
    {
      method: 'GET',
      url: '/admin/prompts/:id/diff',
      summary: 'What changed between two versions',
      params: IdParams,
      querystring: T.Object(
        { from: T.String({ pattern: '^[1-9][0-9]{0,8}$' }), to: T.String({ pattern: '^[1-9][0-9]{0,8}$' }) },
        { additionalProperties: false },
      ),
      handler: (request) =>
        guard(async () => {
          const id = request.params.id as string;
          const from = await store.version(id, Number(request.query.from));
          const to = await store.version(id, Number(request.query.to));
          return diffVersions(from, to);
        }),
    },
    {
      method: 'POST',
      url: '/admin/prompts/:id/archive',
      summary: 'Archive a prompt: requests can no longer use it (versions stay readable)',
      params: IdParams,
      emptyBodyIsObject: true,
      handler: (request) =>
        guard(async () => {
          const id = request.params.id as string;
          await store.archive(id, new Date(clock.wallNow()), adminActor(request));
          resolver.forgetPrompt(id);
          return store.get(id);
        }),
    },
  ];
}
