/**
 * The `tenancy` section (DESIGN §7): the limits each end user gets when a key that names end users
 * (`allow_end_users`) has no `end_user_limits` of its own and neither its team nor its organization sets
 * them. Part of `ConfigSchema` (schema.ts).
 */
import { Type as T } from '@sinclair/typebox';

const Usd = T.Union([T.Number({ minimum: 0 }), T.Null()]);
const PerMinute = T.Union([T.Integer({ minimum: 1 }), T.Null()]);

export const TenancySchema = T.Object(
  {
    /** Default limits of one end user (END_USER_DEFAULT_RPM, _TPM, _DAILY_USD, _MONTHLY_USD); null = none. */
    end_user: T.Object(
      {
        daily_budget_usd: Usd,
        monthly_budget_usd: Usd,
        total_budget_usd: Usd,
        rpm_limit: PerMinute,
        tpm_limit: PerMinute,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
