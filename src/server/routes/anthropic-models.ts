/**
 * Anthropic's Models API shapes for `GET /v1/models` and `GET /v1/models/{id}` when the client speaks
 * Anthropic's API (it sends `anthropic-version`, as the Anthropic SDK always does): `ModelInfo` objects
 * (`type: "model"`, `id`, `display_name`, `created_at` as RFC 3339) in pages of `limit` (1–1000, default 20)
 * with `has_more`, `first_id` and `last_id`, paged by `after_id` / `before_id`; errors in Anthropic's body.
 */
import { Type as T } from '@sinclair/typebox';

export const AnthropicModelSchema = T.Object({
  type: T.Literal('model'),
  id: T.String(),
  display_name: T.String(),
  created_at: T.String(),
});

export const AnthropicModelPageSchema = T.Object({
  data: T.Array(AnthropicModelSchema),
  has_more: T.Boolean(),
  first_id: T.Union([T.String(), T.Null()]),
  last_id: T.Union([T.String(), T.Null()]),
});

/** Anthropic's error body (as the Messages endpoints send it). */
export const AnthropicModelErrorSchema = T.Object({
  type: T.Literal('error'),
  error: T.Object({ type: T.String(), message: T.String() }),
});

type ModelInfo = (typeof AnthropicModelSchema)['static'];
type Page = (typeof AnthropicModelPageSchema)['static'];
type ErrorBody = (typeof AnthropicModelErrorSchema)['static'];

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;

/** Whether a request speaks Anthropic's API. */
export function isAnthropicRequest(headers: Readonly<Record<string, unknown>>): boolean {
  return headers['anthropic-version'] !== undefined;
}

/** The routable models as Anthropic `ModelInfo`s, with paging over them. */
export function anthropicModels(ids: readonly string[], createdAtSeconds: number) {
  const createdAt = new Date(createdAtSeconds * 1000).toISOString();
  const infos: ModelInfo[] = ids.map((id) => ({
    type: 'model',
    id,
    display_name: id,
    created_at: createdAt,
  }));
  const byId = new Map(infos.map((m) => [m.id, m]));
  const invalid = (message: string): { error: ErrorBody } => ({
    error: { type: 'error', error: { type: 'invalid_request_error', message } },
  });
  return {
    get: (id: string): ModelInfo | undefined => byId.get(id),
    notFound: (id: string): ErrorBody => ({
      type: 'error',
      error: { type: 'not_found_error', message: `model: ${id}` },
    }),
    /** One page of the models `allowed` lets the caller see (all when unset). */
    page(query: unknown, allowed?: ReadonlySet<string> | null): { body: Page } | { error: ErrorBody } {
      const q = (query ?? {}) as Record<string, unknown>;
      const limit = q.limit === undefined ? DEFAULT_LIMIT : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
        return invalid(`limit: must be an integer from 1 to ${MAX_LIMIT}`);
      }
      const visible = allowed ? infos.filter((m) => allowed.has(m.id)) : infos;
      let from = 0;
      let to = visible.length;
      for (const [name, value] of [
        ['after_id', q.after_id],
        ['before_id', q.before_id],
      ] as const) {
        if (value === undefined) continue;
        const at = typeof value === 'string' ? visible.findIndex((m) => m.id === value) : -1;
        if (at < 0) return invalid(`${name}: no model with this id`);
        if (name === 'after_id') from = at + 1;
        else to = at;
      }
      // before_id pages backwards: the `limit` models just before it.
      const data =
        q.before_id !== undefined && q.after_id === undefined
          ? visible.slice(Math.max(from, to - limit), to)
          : visible.slice(from, Math.min(to, from + limit));
      const first = data[0]?.id ?? null;
      const last = data.at(-1)?.id ?? null;
      const hasMore =
        q.before_id !== undefined && q.after_id === undefined ? to - limit > from : from + limit < to;
      return { body: { data, has_more: hasMore, first_id: first, last_id: last } };
    },
  };
}
