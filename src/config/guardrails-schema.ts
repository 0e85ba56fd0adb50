/**
 * The `guardrails` config section (DESIGN §17; docs/guardrails.md): named policies, the default policy
 * applied to every request (GUARDRAILS_DEFAULT_POLICY), and the regions whose national phone format is
 * recognised.
 */
import { type Static, Type as T } from '@sinclair/typebox';

const Action = T.Union([T.Literal('mask'), T.Literal('redact'), T.Literal('block'), T.Literal('log_only')]);

/** Entity → action. `*` = every built-in entity not named. */
const Entities = T.Partial(
  T.Object(
    {
      '*': Action,
      email: Action,
      phone: Action,
      credit_card: Action,
      iban: Action,
      us_ssn: Action,
      uk_nino: Action,
      es_nif: Action,
      it_fiscal_code: Action,
      ip_address: Action,
      secret: Action,
    },
    { additionalProperties: false },
  ),
  { default: {} },
);

const EntityName = T.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' });

export const GuardrailPolicySchema = T.Object(
  {
    // Optional with documented defaults (applied by the policy book: config defaults do not reach into
    // the values of a record).
    /** Check requests (prompts, embeddings input). Default true. */
    input: T.Optional(T.Boolean()),
    /** Check answers (JSON and streams). Default true. */
    output: T.Optional(T.Boolean()),
    /** Put the values masked in the request back into the answer. Default false. */
    restore: T.Optional(T.Boolean()),
    entities: T.Optional(Entities),
    /** Custom regexes (JavaScript syntax), each its own entity. */
    patterns: T.Optional(
      T.Array(
        T.Object(
          {
            name: EntityName,
            regex: T.String({ minLength: 1, maxLength: 1000 }),
            action: Action,
            /** Default false. */
            ignore_case: T.Optional(T.Boolean()),
            /** Longest text the regex can match (streams hold back this many characters). Default 64. */
            max_length: T.Optional(T.Integer({ minimum: 1, maximum: 4096 })),
          },
          { additionalProperties: false },
        ),
        { maxItems: 100 },
      ),
    ),
    /** Terms matched case-insensitively on word boundaries. */
    deny_list: T.Optional(
      T.Object(
        {
          name: T.Optional(EntityName),
          terms: T.Array(T.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 10_000 }),
          action: Action,
        },
        { additionalProperties: false },
      ),
    ),
    /** Refuse requests whose prompt exceeds this many tokens (4 characters a token). */
    max_input_tokens: T.Optional(T.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export const GuardrailsSchema = T.Object(
  {
    /** Policy name(s), comma-separated, applied to every request (GUARDRAILS_DEFAULT_POLICY); null = none. */
    default_policy: T.Union([T.String({ minLength: 1 }), T.Null()], { default: null }),
    /** ISO countries whose national phone format (without `+`) is recognised. */
    phone_regions: T.Array(T.String({ pattern: '^[A-Z]{2}$' }), { default: ['US', 'GB'], maxItems: 50 }),
    policies: T.Record(T.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }), GuardrailPolicySchema, {
      default: {},
    }),
  },
  { additionalProperties: false, default: {} },
);

export type GuardrailsConfig = Static<typeof GuardrailsSchema>;
export type GuardrailPolicyConfig = Static<typeof GuardrailPolicySchema>;
