/**
 * The auth feature: picks the authenticator for `auth.mode` and serves the key administration API
 * (DESIGN §7). Every route here is under `/admin/`, so it needs `GATEWAY_ADMIN_KEY` (server/admin-auth.ts);
 * every change is written to `audit_log` with the admin's address and the request id — never a secret.
 *
 *   POST   /admin/keys                 create (the key is in the answer, once)
 *   GET    /admin/keys                 list (?user_id, ?include_revoked)
 *   GET    /admin/keys/:id             one key
 *   DELETE /admin/keys/:id             revoke (also POST /admin/keys/:id/revoke)
 *   POST   /admin/keys/:id/rotate      new key; the old one stays valid for grace_period_seconds
 *   GET    /admin/audit                latest audit entries (?limit)
 */
import { Type as T } from '@sinclair/typebox';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import {
  BadRequestError,
  GatewayError,
  NotFoundError,
  ServiceUnavailableError,
  ValidationError,
} from '../core/errors.js';
import { type AdminRequest, type AdminRoute, type Feature, withStatus } from '../core/feature.js';
import { type Stage, stage } from '../core/stage.js';
import type { FeatureDeps } from '../stores/deps.js';
import { expiryProblem, MAX_GRACE_SECONDS, MAX_KEY_BUDGET_USD } from './key-limits.js';
import { KeyStore } from './key-store.js';
import { type Actor, KeyNotFoundError, type KeyRepository, KeyRevokedError } from './keys.js';
import { type Authenticator, authorizationOf, createOpenAuthenticator } from './principal.js';

const USER_ID_PATTERN = '^[\\w.@:+-]{1,128}$';
const Id = T.Object({ id: T.String({ minLength: 1, maxLength: 64 }) });
const Budget = T.Union([T.Number({ minimum: 0, maximum: MAX_KEY_BUDGET_USD }), T.Null()]);

export const CreateKeyBody = T.Object(
  {
    name: T.String({ minLength: 1, maxLength: 200 }),
    user_id: T.String({ pattern: USER_ID_PATTERN }),
    tier: T.Optional(T.String({ minLength: 1, maxLength: 64 })),
    allowed_models: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 200 }), { maxItems: 1000 })),
    daily_budget_usd: T.Optional(Budget),
    monthly_budget_usd: T.Optional(Budget),
    expires_at: T.Optional(T.Union([T.String({ format: 'date-time' }), T.Null()])),
    /** Guardrail policy names applied to the key's requests (docs/guardrails.md). */
    guardrails: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 64 }), { maxItems: 16 })),
  },
  { additionalProperties: false },
);

const RotateBody = T.Object(
  { grace_period_seconds: T.Optional(T.Integer({ minimum: 0, maximum: MAX_GRACE_SECONDS })) },
  { additionalProperties: false },
);

/** Default grace period of a rotated key. */
export const DEFAULT_GRACE_SECONDS = 86_400;

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
  /** Guardrail policy names a key may name (absent = not checked). */
  guardrailPolicies?: readonly string[];
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
  const keys = new KeyStore({ auth: slice.auth, logger, metrics, clock, database: () => deps.database() });
  // Warm the database keys at start when they are the only source; with config keys the database opens
  // at the first key the config does not know (keeps embedded setups light).
  if (slice.auth.mode === 'keys' && slice.auth.keys.length === 0) void keys.start().catch(() => undefined);
  const authenticator = slice.auth.mode === 'keys' ? keys : createOpenAuthenticator();

  const tiers = slice.tiers;
  function checkTier(tier: string | undefined): void {
    if (tier !== undefined && !tiers.includes(tier)) {
      throw new ValidationError(`tier must be one of ${tiers.join(', ')}; got "${tier}".`, 'tier');
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

  function actor(request: AdminRequest): Actor {
    return { actor: `admin@${request.ip}`, requestId: request.id };
  }

  /** Runs a repository call; a database failure becomes 503, a missing key 404. */
  async function withRepo<R>(call: (repo: KeyRepository) => Promise<R>): Promise<R> {
    const database = deps.database();
    try {
      await Promise.race([
        database.ready,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('database not ready')), slice.auth.lookup_timeout_ms).unref(),
        ),
      ]);
      return await call(keys.repository());
    } catch (err) {
      if (err instanceof KeyNotFoundError) throw new NotFoundError(err.message);
      if (err instanceof KeyRevokedError) throw new BadRequestError(err.message);
      if (err instanceof GatewayError) throw err;
      metrics.dependencyErrors.inc({ dependency: 'database' });
      logger.warn(
        {
          event: 'dependency.error',
          dependency: 'database',
          operation: 'keys.admin',
          error: (err as Error).message,
        },
        'key administration failed',
      );
      throw new ServiceUnavailableError('The key database is not available; retry shortly.');
    }
  }

  /** Makes this instance see a change at once (others see it at their next refresh). */
  async function applyLocally(repo: KeyRepository, id: string): Promise<void> {
    const row = await repo.row(id);
    if (row) keys.apply(row);
  }

  const revoke = async (request: AdminRequest) => {
    const { id } = request.params as { id: string };
    return withRepo(async (repo) => {
      const view = await repo.revoke(id, actor(request));
      await applyLocally(repo, id);
      return view;
    });
  };
  const routes: AdminRoute[] = [
    {
      method: 'POST',
      url: '/admin/keys',
      summary: 'Create an API key',
      body: CreateKeyBody,
      async handler(request) {
        const body = request.body as typeof CreateKeyBody.static;
        checkTier(body.tier);
        const expiry = body.expires_at ? expiryProblem(body.expires_at) : null;
        if (expiry) throw new ValidationError(`expires_at ${expiry}.`, 'expires_at');
        checkGuardrails(body.guardrails);
        const created = await withRepo(async (repo) => {
          const result = await repo.create(
            {
              name: body.name,
              userId: body.user_id,
              tier: body.tier ?? 'free',
              allowedModels: body.allowed_models ?? [],
              dailyBudgetUsd: body.daily_budget_usd ?? null,
              monthlyBudgetUsd: body.monthly_budget_usd ?? null,
              expiresAt: body.expires_at ? new Date(body.expires_at) : null,
              guardrails: body.guardrails ?? [],
            },
            actor(request),
          );
          await applyLocally(repo, result.view.id);
          return result;
        });
        return withStatus(201, { ...created.view, key: created.key });
      },
    },
    {
      method: 'GET',
      url: '/admin/keys',
      summary: 'List API keys (never the secret)',
      querystring: T.Object(
        {
          user_id: T.Optional(T.String({ minLength: 1, maxLength: 128 })),
          include_revoked: T.Optional(T.Union([T.Literal('true'), T.Literal('false')])),
        },
        { additionalProperties: false },
      ),
      async handler(request) {
        const q = request.query as { user_id?: string; include_revoked?: string };
        const includeRevoked = q.include_revoked === 'true';
        const data = await withRepo((repo) => repo.list({ userId: q.user_id, includeRevoked }));
        return { object: 'list', data };
      },
    },
    {
      method: 'GET',
      url: '/admin/keys/:id',
      summary: 'One API key',
      params: Id,
      handler: (request) => withRepo((repo) => repo.get((request.params as { id: string }).id)),
    },
    { method: 'DELETE', url: '/admin/keys/:id', summary: 'Revoke an API key', params: Id, handler: revoke },
    {
      method: 'POST',
      url: '/admin/keys/:id/revoke',
      summary: 'Revoke an API key',
      params: Id,
      handler: revoke,
    },
    {
      method: 'POST',
      url: '/admin/keys/:id/rotate',
      summary: 'Rotate an API key (old one valid for a grace period)',
      params: Id,
      body: RotateBody,
      emptyBodyIsObject: true,
      async handler(request) {
        const { id } = request.params as { id: string };
        const body = (request.body ?? {}) as typeof RotateBody.static;
        const grace = body.grace_period_seconds ?? DEFAULT_GRACE_SECONDS;
        const rotated = await withRepo(async (repo) => {
          const result = await repo.rotate(id, grace, actor(request));
          await applyLocally(repo, id);
          await applyLocally(repo, result.view.id);
          return result;
        });
        return withStatus(201, { ...rotated.view, key: rotated.key, previous: rotated.old });
      },
    },
    {
      method: 'GET',
      url: '/admin/audit',
      summary: 'Latest admin actions',
      querystring: T.Object(
        { limit: T.Optional(T.String({ pattern: '^[1-9][0-9]{0,2}$|^1000$' })) },
        { additionalProperties: false },
      ),
      async handler(request) {
        const { limit } = request.query as { limit?: string };
        const n = limit === undefined ? 100 : Number(limit);
        return { object: 'list', data: await withRepo((repo) => repo.auditLog(n)) };
      },
    },
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
  return stage('authenticate', async (ctx, next) => {
    const started = clock.now();
    const userId = ctx.headers['x-user-id'];
    try {
      const principal = authenticator.authenticate({
        authorization: authorizationOf(ctx.headers),
        userIdHeader: typeof userId === 'string' ? userId : undefined,
        source: ctx.clientIp,
      });
      ctx.principal = principal instanceof Promise ? await principal : principal;
    } finally {
      ctx.timings.auth = clock.now() - started;
    }
    return next(ctx);
  });
}
