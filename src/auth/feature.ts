/**
 * The auth feature: picks the authenticator for `auth.mode` and serves the key, organization, team and
 * audit administration API (DESIGN §7; routes in `tenancy/key-routes.ts` and `tenancy/level-routes.ts`).
 * Every route is under `/admin/`: the global admin key, or an org or team admin key limited to its subtree
 * (server/admin-auth.ts); every change is written to `audit_log` with the actor — never a secret.
 */
import type { Config, RateLimitConfig } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { ForbiddenError, ValidationError } from '../core/errors.js';
import type { AdminActor, Feature } from '../core/feature.js';
import { type Stage, stage } from '../core/stage.js';
import { tierWithin } from '../ratelimit/tiers.js';
import type { FeatureDeps } from '../stores/deps.js';
import { createTenancyAdmin } from '../tenancy/admin-context.js';
import { DEFAULT_GRACE_SECONDS, keyRoutes } from '../tenancy/key-routes.js';
import { levelRoutes } from '../tenancy/level-routes.js';
import type { EndUserLimits } from '../tenancy/limits.js';
import { CreateKeyBody } from '../tenancy/schemas.js';
import { KeyStore } from './key-store.js';
import { type Authenticator, authorizationOf, createOpenAuthenticator } from './principal.js';

export { CreateKeyBody, DEFAULT_GRACE_SECONDS };

export interface AuthFeature extends Feature {
  readonly authenticator: Authenticator;
  readonly keys: KeyStore;
  /** The pipeline's first stage: sets `ctx.principal` (401 / 503 otherwise). */
  readonly authenticate: Stage;
}

/** What the auth feature reads of the configuration. */
export interface AuthConfigSlice {
  auth: Readonly<Config['auth']>;
  /** The rate-limit tiers a key may name. */
  tiers: readonly string[];
  /** The tiers' limits: an org or team admin grants tiers up to its own key's (absent = not checked). */
  rateLimit?: RateLimitConfig;
  /** Guardrail policy names a key may name (absent = not checked). */
  guardrailPolicies?: readonly string[];
  /** Limits of each end user a key names when neither it, its team nor its org sets them. */
  endUserDefaults?: EndUserLimits | null;
}

/** @example const auth = createAuthFeature(slice, deps); createPipeline({ authenticate: auth.authenticate, … }) */
export function createAuthFeature(slice: AuthConfigSlice, deps: FeatureDeps): AuthFeature {
  const { logger, metrics, clock } = deps;
  for (const k of slice.auth.keys) {
    const unknown = (k.guardrails ?? []).find(
      (n) => slice.guardrailPolicies && !slice.guardrailPolicies.includes(n),
    );
    if (unknown !== undefined) {
      throw new Error(`auth.keys (${k.name}).guardrails: no guardrail policy named "${unknown}"`);
    }
  }
  const keys = new KeyStore({
    auth: slice.auth,
    logger,
    metrics,
    clock,
    database: () => deps.database(),
    endUserDefaults: slice.endUserDefaults ?? null,
  });
  // Warm the database keys at start when they are the only source; with config keys the database opens
  // at the first key the config does not know (keeps embedded setups light).
  if (slice.auth.mode === 'keys' && slice.auth.keys.length === 0) void keys.start().catch(() => undefined);
  const authenticator = slice.auth.mode === 'keys' ? keys : createOpenAuthenticator();

  const tiers = slice.tiers;
  function checkTier(tier: string | undefined, actor: AdminActor): void {
    if (tier === undefined) return;
    if (!tiers.includes(tier)) {
      throw new ValidationError(`tier must be one of ${tiers.join(', ')}; got "${tier}".`, 'tier');
    }
    // No escalation through tiers: a tenant admin's keys get at most what the admin's own key has.
    const own = actor.tier ?? 'default';
    if (actor.role !== 'admin' && slice.rateLimit && !tierWithin(slice.rateLimit, tier, own)) {
      throw new ForbiddenError(
        `A ${actor.role} key grants rate-limit tiers up to its own ("${own}"); "${tier}" allows more.`,
      );
    }
  }

  function checkGuardrails(names: readonly string[] | undefined): void {
    const known = slice.guardrailPolicies;
    const unknown = names?.find((n) => known && !known.includes(n));
    if (unknown !== undefined) {
      throw new ValidationError(
        `guardrails: no policy named "${unknown}"; configured: ${known?.join(', ')}.`,
        'guardrails',
      );
    }
  }

  const admin = createTenancyAdmin(keys, deps, slice.auth.lookup_timeout_ms);
  const routes = [
    ...keyRoutes(admin, { tier: checkTier, guardrails: checkGuardrails }),
    ...levelRoutes(admin, { guardrails: checkGuardrails }),
  ];

  const authenticate = authenticateStage(authenticator, clock);

  return {
    name: 'auth',
    authenticator,
    keys,
    authenticate,
    routes,
    close: () => keys.close(),
  };
}

/** Authenticates the caller from `Authorization` or `x-api-key` (and `X-User-ID`); timed for Server-Timing. */
export function authenticateStage(authenticator: Authenticator, clock: Clock): Stage {
  // Not async: a key found in memory (the common case) goes on to `next` without a promise of its own.
  return stage('authenticate', (ctx, next) => {
    const started = clock.now();
    const userId = ctx.headers['x-user-id'];
    let principal: ReturnType<Authenticator['authenticate']>;
    try {
      principal = authenticator.authenticate({
        authorization: authorizationOf(ctx.headers),
        userIdHeader: typeof userId === 'string' ? userId : undefined,
        source: ctx.clientIp,
      });
    } finally {
      ctx.timings.auth = clock.now() - started;
    }
    if (!(principal instanceof Promise)) {
      ctx.principal = principal;
      return next(ctx);
    }
    return principal.then(
      (found) => {
        ctx.timings.auth = clock.now() - started;
        ctx.principal = found;
        return next(ctx);
      },
      (err: unknown) => {
        ctx.timings.auth = clock.now() - started;
        throw err;
      },
    );
  });
}
