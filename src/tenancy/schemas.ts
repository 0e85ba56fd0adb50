/**
 * JSON schemas of the tenancy admin API (DESIGN §7): the limits every level takes, and the bodies of the
 * organization, team and key endpoints. Fastify validates against them (a violation is a 422 naming the
 * field) and they document the endpoints in the OpenAPI page. Ranges follow the storage (key-limits.ts).
 */
import { Type as T } from '@sinclair/typebox';
import { MAX_KEY_BUDGET_USD } from '../auth/key-limits.js';

const Budget = T.Union([T.Number({ minimum: 0, maximum: MAX_KEY_BUDGET_USD }), T.Null()]);
/** Requests per minute: 1 to 10 million. */
const Rpm = T.Union([T.Integer({ minimum: 1, maximum: 10_000_000 }), T.Null()]);
/** Tokens per minute: 1 to 1 billion. */
const Tpm = T.Union([T.Integer({ minimum: 1, maximum: 1_000_000_000 }), T.Null()]);
const Name = T.String({ minLength: 1, maxLength: 200 });
export const LevelId = T.String({ minLength: 1, maxLength: 64, pattern: '^[\\w.:-]+$' });
export const USER_ID_PATTERN = '^[\\w.@:+-]{1,128}$';
const Models = T.Array(T.String({ minLength: 1, maxLength: 200 }), { maxItems: 1000 });
/** Free-form labels: up to 50 string values (OpenAI's metadata shape). */
export const Metadata = T.Record(T.String({ minLength: 1, maxLength: 64 }), T.String({ maxLength: 512 }), {
  maxProperties: 50,
  // A record's key schema becomes a pattern that does not bound the names: they are checked here (a
  // 500 KB name was stored, and reloaded with every key on every instance).
  propertyNames: { minLength: 1, maxLength: 64 },
});

const LimitProps = {
  daily_budget_usd: T.Optional(Budget),
  monthly_budget_usd: T.Optional(Budget),
  total_budget_usd: T.Optional(Budget),
  rpm_limit: T.Optional(Rpm),
  tpm_limit: T.Optional(Tpm),
};

/** The limits each end user gets (null = inherited from the team, org or `tenancy.end_user`). */
export const EndUserLimitsBody = T.Union([T.Object(LimitProps, { additionalProperties: false }), T.Null()]);

const Guardrails = T.Array(T.String({ minLength: 1, maxLength: 64 }), { maxItems: 16 });

const LevelProps = {
  ...LimitProps,
  allowed_models: T.Optional(Models),
  end_user_limits: T.Optional(EndUserLimitsBody),
  /** Guardrail policy names applied to every request of the level's keys (docs/guardrails.md). */
  guardrails: T.Optional(Guardrails),
  metadata: T.Optional(Metadata),
};

export const CreateOrgBody = T.Object({ name: Name, ...LevelProps }, { additionalProperties: false });
export const PatchOrgBody = T.Object(
  { name: T.Optional(Name), ...LevelProps },
  { additionalProperties: false },
);
export const CreateTeamBody = T.Object(
  { name: Name, org_id: T.Optional(T.Union([LevelId, T.Null()])), ...LevelProps },
  { additionalProperties: false },
);
export const PatchTeamBody = T.Object(
  { name: T.Optional(Name), org_id: T.Optional(T.Union([LevelId, T.Null()])), ...LevelProps },
  { additionalProperties: false },
);

const Role = T.Union([T.Literal('user'), T.Literal('team_admin'), T.Literal('org_admin')]);
const Expiry = T.Union([T.String({ format: 'date-time' }), T.Null()]);

const KeyProps = {
  ...LevelProps,
  tier: T.Optional(T.String({ minLength: 1, maxLength: 64 })),
  expires_at: T.Optional(Expiry),
  /** The request's `user` field (or `X-User-ID`) names the end user, held to `end_user_limits`. */
  allow_end_users: T.Optional(T.Boolean()),
  role: T.Optional(Role),
};

/** `POST /admin/keys`: `user_id` unless `team_id` (or `org_id`) places the key. */
export const CreateKeyBody = T.Object(
  {
    name: Name,
    user_id: T.Optional(T.String({ pattern: USER_ID_PATTERN })),
    team_id: T.Optional(T.Union([LevelId, T.Null()])),
    org_id: T.Optional(T.Union([LevelId, T.Null()])),
    ...KeyProps,
  },
  { additionalProperties: false },
);

/** `PATCH /admin/keys/{id}`: every field optional; absent = unchanged, null = cleared. */
export const PatchKeyBody = T.Object(
  {
    name: T.Optional(Name),
    team_id: T.Optional(T.Union([LevelId, T.Null()])),
    ...KeyProps,
  },
  { additionalProperties: false, minProperties: 1 },
);

export type CreateKeyInput = typeof CreateKeyBody.static;
export type PatchKeyInput = typeof PatchKeyBody.static;
