/**
 * The key administration API (DESIGN §7). Every route is open to org and team admin keys too
 * (`access: 'tenant'`), limited to their subtree (`scope.ts`); every change goes to the audit log with
 * the actor, and works on every instance within `auth.refresh_interval_ms` (at once on this one).
 *
 *   POST   /admin/keys                 create (the key is in the answer, once); user_id, or team_id/org_id
 *   GET    /admin/keys                 list: ?user_id ?team_id ?org_id ?role ?include_revoked ?limit ?cursor
 *   GET    /admin/keys/:id             one key
 *   PATCH  /admin/keys/:id             change name, limits, budgets, models, expiry, metadata, team, role
 *   DELETE /admin/keys/:id             revoke (also POST /admin/keys/:id/revoke)
 *   POST   /admin/keys/:id/rotate      new key; the old one stays valid for grace_period_seconds
 *   GET    /admin/audit                audit entries, newest first: ?action ?actor ?limit ?cursor
 */
import { Type as T } from '@sinclair/typebox';
import { expiryProblem, MAX_GRACE_SECONDS } from '../auth/key-limits.js';
import { type ApiKeyRow, type KeyRole, roleOf } from '../auth/keys.js';
import { ForbiddenError, ValidationError } from '../core/errors.js';
import type { AdminActor, AdminRequest, AdminRoute } from '../core/feature.js';
import { withStatus } from '../core/feature.js';
import type { TenancyAdmin } from './admin-context.js';
import { patchKey } from './key-patch.js';
import { limitsOf } from './limits.js';
import { PageParams, pageOf } from './pagination.js';
import type { TeamRow } from './repository.js';
import { CreateKeyBody, type CreateKeyInput, LevelId, PatchKeyBody, type PatchKeyInput } from './schemas.js';
import {
  assertKeyInScope,
  assertOrgInScope,
  assertRoleGrant,
  assertTeamInScope,
  auditActor,
} from './scope.js';

/** Default grace period of a rotated key. */
export const DEFAULT_GRACE_SECONDS = 86_400;

const Id = T.Object({ id: T.String({ minLength: 1, maxLength: 64 }) });
const RotateBody = T.Object(
  { grace_period_seconds: T.Optional(T.Integer({ minimum: 0, maximum: MAX_GRACE_SECONDS })) },
  { additionalProperties: false },
);

export interface KeyRouteChecks {
  /** 422 unless the tier exists; 403 when it allows more than the acting tenant admin's own tier. */
  tier(tier: string | undefined, actor: AdminActor): void;
  /** 422 unless every guardrail policy exists. */
  guardrails(names: readonly string[] | undefined): void;
}

export function keyRoutes(admin: TenancyAdmin, checks: KeyRouteChecks): AdminRoute[] {
  const { withRepos } = admin;

  /** The key row, 404 when absent, 403 outside the actor's subtree. */
  const scopedRow = (actor: AdminActor, id: string) =>
    withRepos(async ({ keys }) => {
      const row = await keys.row(id);
      if (!row) return keys.get(id).then(() => undefined as never); // KeyNotFoundError → 404
      assertKeyInScope(actor, row);
      return row;
    });

  /** The team (404 when absent, 403 outside the actor's subtree) and so the key's organization. */
  const teamFor = (actor: AdminActor, teamId: string) =>
    withRepos(async ({ levels }) => {
      const team = (await levels.row('team', teamId)) as TeamRow;
      assertTeamInScope(actor, team);
      return team;
    });

  function checkCommon(body: CreateKeyInput | PatchKeyInput, actor: AdminActor): void {
    checks.tier(body.tier, actor);
    checks.guardrails(body.guardrails);
    const expiry = body.expires_at ? expiryProblem(body.expires_at) : null;
    if (expiry) throw new ValidationError(`expires_at ${expiry}.`, 'expires_at');
  }

  /** Where a new key goes: its team and organization, defaulting to the acting admin's own. */
  async function placeOf(
    actor: AdminActor,
    body: CreateKeyInput,
  ): Promise<{ teamId: string | null; orgId: string | null }> {
    const teamId = body.team_id ?? (actor.role === 'team_admin' ? actor.teamId : null);
    if (teamId) {
      const team = await teamFor(actor, teamId);
      if (body.org_id && body.org_id !== team.org_id) {
        throw new ValidationError(`team ${teamId} is not in organization ${body.org_id}.`, 'org_id');
      }
      return { teamId, orgId: team.org_id };
    }
    const orgId = body.org_id ?? (actor.role === 'org_admin' ? actor.orgId : null);
    if (orgId) {
      assertOrgInScope(actor, orgId);
      if (actor.role === 'team_admin')
        throw new ForbiddenError('A team admin key creates keys in its own team only.');
      await withRepos(({ levels }) => levels.row('org', orgId));
    }
    return { teamId: null, orgId };
  }

  function checkRolePlace(role: KeyRole, place: { teamId: string | null; orgId: string | null }): void {
    if (role === 'team_admin' && !place.teamId)
      throw new ValidationError('a team_admin key needs a team_id.', 'role');
    if (role === 'org_admin' && !place.orgId)
      throw new ValidationError('an org_admin key needs an org_id.', 'role');
  }

  /** 403 unless the actor outranks the key's role (or it is the actor's own key): no lateral takeover. */
  const assertOutranks = (actor: AdminActor, row: ApiKeyRow) => {
    if (actor.role !== 'admin' && row.id !== actor.keyId) assertRoleGrant(actor, roleOf(row));
  };

  const revoke = async (request: AdminRequest) => {
    const { id } = request.params as { id: string };
    assertOutranks(request.actor, await scopedRow(request.actor, id));
    return withRepos(async ({ keys }) => {
      const view = await keys.revoke(id, auditActor(request));
      await admin.applyKey(id);
      return view;
    });
  };

  return [
    {
      method: 'POST',
      url: '/admin/keys',
      summary: 'Create an API key (user_id, or team_id / org_id; role user, team_admin or org_admin)',
      responses: {
        201: { description: 'The new key, with its secret (shown once)', component: 'CreatedApiKey' },
      },
      access: 'tenant',
      body: CreateKeyBody,
      async handler(request) {
        const body = request.body as CreateKeyInput;
        checkCommon(body, request.actor);
        const role = body.role ?? 'user';
        assertRoleGrant(request.actor, role);
        const place = await placeOf(request.actor, body);
        checkRolePlace(role, place);
        if (!body.user_id && !place.teamId && !place.orgId) {
          throw new ValidationError('user_id is required for a key without team_id or org_id.', 'user_id');
        }
        const created = await withRepos(async ({ keys }) => {
          const result = await keys.create(
            {
              name: body.name,
              userId: body.user_id ?? null,
              ...place,
              role,
              tier: body.tier ?? 'free',
              allowedModels: body.allowed_models ?? [],
              dailyBudgetUsd: body.daily_budget_usd ?? null,
              monthlyBudgetUsd: body.monthly_budget_usd ?? null,
              totalBudgetUsd: body.total_budget_usd ?? null,
              rpmLimit: body.rpm_limit ?? null,
              tpmLimit: body.tpm_limit ?? null,
              allowEndUsers: body.allow_end_users ?? false,
              endUserLimits: body.end_user_limits ? limitsOf(body.end_user_limits) : null,
              metadata: body.metadata ?? {},
              expiresAt: body.expires_at ? new Date(body.expires_at) : null,
              guardrails: body.guardrails ?? [],
            },
            auditActor(request),
          );
          await admin.applyKey(result.view.id);
          return result;
        });
        return withStatus(201, { ...created.view, key: created.key });
      },
    },
    {
      method: 'GET',
      url: '/admin/keys',
      summary: 'List API keys (never the secret), filtered and paginated',
      responses: { 200: { description: 'A page of keys (`next_cursor`)', component: 'AdminList' } },
      access: 'tenant',
      querystring: T.Object(
        {
          user_id: T.Optional(T.String({ minLength: 1, maxLength: 128 })),
          team_id: T.Optional(LevelId),
          org_id: T.Optional(LevelId),
          role: T.Optional(T.Union([T.Literal('user'), T.Literal('team_admin'), T.Literal('org_admin')])),
          include_revoked: T.Optional(T.Union([T.Literal('true'), T.Literal('false')])),
          ...PageParams,
        },
        { additionalProperties: false },
      ),
      async handler(request) {
        const q = request.query as {
          user_id?: string;
          team_id?: string;
          org_id?: string;
          role?: KeyRole;
          include_revoked?: string;
          limit?: string;
          cursor?: string;
        };
        const actor = request.actor;
        if (q.team_id) await teamFor(actor, q.team_id);
        if (q.org_id) assertOrgInScope(actor, q.org_id);
        if (actor.role === 'team_admin' && q.org_id)
          throw new ForbiddenError('A team admin key lists its own team only.');
        // An admin's own team/org filter is never dropped (an empty id matches nothing, not everything).
        const filter = {
          userId: q.user_id,
          teamId: actor.role === 'team_admin' ? (actor.teamId ?? '') : q.team_id,
          orgId: actor.role === 'org_admin' ? (actor.orgId ?? '') : q.org_id,
          role: q.role,
          includeRevoked: q.include_revoked === 'true',
        };
        const page = pageOf(q);
        return { object: 'list', ...(await withRepos(({ keys }) => keys.list(filter, page))) };
      },
    },
    {
      method: 'GET',
      url: '/admin/keys/:id',
      summary: 'One API key',
      responses: { 200: { description: 'The key', component: 'ApiKey' } },
      access: 'tenant',
      params: Id,
      async handler(request) {
        const { id } = request.params as { id: string };
        await scopedRow(request.actor, id);
        return withRepos(({ keys }) => keys.get(id));
      },
    },
    {
      method: 'PATCH',
      url: '/admin/keys/:id',
      summary: 'Change an API key: name, limits, budgets, models, expiry, metadata, team, role',
      responses: { 200: { description: 'The changed key', component: 'ApiKey' } },
      access: 'tenant',
      params: Id,
      body: PatchKeyBody,
      async handler(request) {
        const { id } = request.params as { id: string };
        const body = request.body as PatchKeyInput;
        const actor = request.actor;
        const before: ApiKeyRow = await scopedRow(actor, id);
        checkCommon(body, request.actor);
        if (body.role !== undefined) assertRoleGrant(actor, body.role);
        // An admin cannot change a key of its own rank or above (no self-promotion, no lateral takeover).
        if (actor.role !== 'admin') assertRoleGrant(actor, roleOf(before));
        let place: { orgId: string | null } | null = null;
        if (body.team_id !== undefined) {
          if (body.team_id === null) {
            if (actor.role === 'team_admin')
              throw new ForbiddenError('A team admin key cannot move keys out of its team.');
            place = { orgId: before.org_id ?? null };
          } else {
            place = { orgId: (await teamFor(actor, body.team_id)).org_id };
          }
        }
        const role = body.role ?? roleOf(before);
        checkRolePlace(role, {
          teamId: body.team_id !== undefined ? body.team_id : (before.team_id ?? null),
          orgId: place ? place.orgId : (before.org_id ?? null),
        });
        return withRepos(async ({ keys, db }) => {
          await patchKey(db, id, body, place, auditActor(request));
          await admin.applyKey(id);
          return keys.get(id);
        });
      },
    },
    {
      method: 'DELETE',
      url: '/admin/keys/:id',
      summary: 'Revoke an API key',
      responses: { 200: { description: 'The revoked key', component: 'ApiKey' } },
      access: 'tenant',
      params: Id,
      handler: revoke,
    },
    {
      method: 'POST',
      url: '/admin/keys/:id/revoke',
      summary: 'Revoke an API key',
      responses: { 200: { description: 'The revoked key', component: 'ApiKey' } },
      access: 'tenant',
      params: Id,
      handler: revoke,
    },
    {
      method: 'POST',
      url: '/admin/keys/:id/rotate',
      summary: 'Rotate an API key (old one valid for a grace period)',
      responses: {
        201: {
          description: 'The new key, with its secret (shown once), and `previous`',
          component: 'CreatedApiKey',
        },
      },
      access: 'tenant',
      params: Id,
      body: RotateBody,
      emptyBodyIsObject: true,
      async handler(request) {
        const { id } = request.params as { id: string };
        assertOutranks(request.actor, await scopedRow(request.actor, id));
        const body = (request.body ?? {}) as typeof RotateBody.static;
        const grace = body.grace_period_seconds ?? DEFAULT_GRACE_SECONDS;
        const rotated = await withRepos(async ({ keys }) => {
          const result = await keys.rotate(id, grace, auditActor(request));
          await admin.applyKey(id);
          await admin.applyKey(result.view.id);
          return result;
        });
        return withStatus(201, { ...rotated.view, key: rotated.key, previous: rotated.old });
      },
    },
    {
      method: 'GET',
      url: '/admin/audit',
      summary: 'Admin actions, newest first (org and team admins see their own subtree)',
      responses: { 200: { description: 'A page of admin actions (`next_cursor`)', component: 'AdminList' } },
      access: 'tenant',
      querystring: T.Object(
        {
          action: T.Optional(T.String({ minLength: 1, maxLength: 64 })),
          actor: T.Optional(T.String({ minLength: 1, maxLength: 200 })),
          ...PageParams,
        },
        { additionalProperties: false },
      ),
      async handler(request) {
        const q = request.query as { action?: string; actor?: string; limit?: string; cursor?: string };
        const actor = request.actor;
        // A made-up cursor is a 422 (`timeCursorOf` in the repository), not a database error (503).
        const page = pageOf(q);
        const filter = {
          action: q.action,
          actor: q.actor,
          ...(actor.role === 'org_admin' ? { orgId: actor.orgId ?? '' } : {}),
          ...(actor.role === 'team_admin' ? { teamId: actor.teamId ?? '' } : {}),
        };
        return { object: 'list', ...(await withRepos(({ keys }) => keys.auditLog(page, filter))) };
      },
    },
  ];
}
