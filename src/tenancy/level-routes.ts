/**
 * Organizations and teams (DESIGN §7):
 *
 *   POST   /admin/orgs          create (global admin)           GET /admin/orgs       list (?name ?limit ?cursor)
 *   GET    /admin/orgs/:id      one                              PATCH / DELETE        global admin
 *   POST   /admin/teams         create (global, or an org admin in its organization)
 *   GET    /admin/teams         list (?org_id ?name ?limit ?cursor)   GET /admin/teams/:id
 *   PATCH  /admin/teams/:id     change (global, or its org's admin)   DELETE: same; refused (409) with active keys
 *
 * Org and team admins see only their own organization and team. A change applies on this instance at
 * once and on the others within `auth.refresh_interval_ms`.
 */
import { Type as T } from '@sinclair/typebox';
import { ForbiddenError } from '../core/errors.js';
import type { AdminRoute } from '../core/feature.js';
import { withStatus } from '../core/feature.js';
import type { TenancyAdmin } from './admin-context.js';
import { PageParams, pageOf } from './pagination.js';
import type { LevelInput, LevelKind, TeamRow } from './repository.js';
import { CreateOrgBody, CreateTeamBody, LevelId, PatchOrgBody, PatchTeamBody } from './schemas.js';
import { assertOrgInScope, assertTeamInScope, auditActor } from './scope.js';

const Id = T.Object({ id: LevelId });

/** Checks of values the configuration defines (a 422 naming the field). */
export interface LevelChecks {
  guardrails(names: readonly string[] | undefined): void;
}

export function levelRoutes(admin: TenancyAdmin, checks: LevelChecks): AdminRoute[] {
  const { withRepos, keys } = admin;

  /** Applies a level changed (or deleted) here to this instance's keys at once. */
  async function applyLevel(kind: LevelKind, id: string, deleted = false): Promise<void> {
    const row = deleted ? null : await withRepos(({ levels }) => levels.row(kind, id));
    keys.applyLevel(kind, id, row);
  }

  const team = (id: string) => withRepos(({ levels }) => levels.row('team', id) as Promise<TeamRow>);

  const orgs: AdminRoute[] = [
    {
      method: 'POST',
      url: '/admin/orgs',
      summary: 'Create an organization with its limits',
      responses: { 201: { description: 'The new organization', component: 'Level' } },
      body: CreateOrgBody,
      async handler(request) {
        const body = request.body as LevelInput & { name: string };
        checks.guardrails(body.guardrails);
        const view = await withRepos(({ levels }) => levels.create('org', body, auditActor(request)));
        await applyLevel('org', view.id);
        return withStatus(201, view);
      },
    },
    {
      method: 'GET',
      url: '/admin/orgs',
      summary: 'List organizations (an org or team admin sees its own)',
      responses: { 200: { description: 'A page of organizations', component: 'AdminList' } },
      access: 'tenant',
      querystring: T.Object(
        { name: T.Optional(T.String({ minLength: 1, maxLength: 200 })), ...PageParams },
        { additionalProperties: false },
      ),
      async handler(request) {
        const q = request.query as { name?: string; limit?: string; cursor?: string };
        const actor = request.actor;
        const filter = { name: q.name, ...(actor.role === 'admin' ? {} : { id: actor.orgId ?? '' }) };
        return {
          object: 'list',
          ...(await withRepos(({ levels }) => levels.list('org', filter, pageOf(q)))),
        };
      },
    },
    {
      method: 'GET',
      url: '/admin/orgs/:id',
      summary: 'One organization',
      responses: { 200: { description: 'The organization', component: 'Level' } },
      access: 'tenant',
      params: Id,
      async handler(request) {
        const { id } = request.params as { id: string };
        assertOrgInScope(request.actor, id);
        return withRepos(({ levels }) => levels.get('org', id));
      },
    },
    {
      method: 'PATCH',
      url: '/admin/orgs/:id',
      summary: "Change an organization's name, limits, models or metadata",
      responses: { 200: { description: 'The changed organization', component: 'Level' } },
      params: Id,
      body: PatchOrgBody,
      async handler(request) {
        const { id } = request.params as { id: string };
        const body = request.body as LevelInput;
        checks.guardrails(body.guardrails);
        const view = await withRepos(({ levels }) => levels.update('org', id, body, auditActor(request)));
        await applyLevel('org', id);
        return view;
      },
    },
    {
      method: 'DELETE',
      url: '/admin/orgs/:id',
      summary: 'Delete an organization without teams or active keys',
      responses: { 200: { description: 'The deleted organization (`deleted: true`)', component: 'Level' } },
      params: Id,
      async handler(request) {
        const { id } = request.params as { id: string };
        const view = await withRepos(({ levels }) => levels.delete('org', id, auditActor(request)));
        await applyLevel('org', id, true);
        return { ...view, deleted: true };
      },
    },
  ];

  const teams: AdminRoute[] = [
    {
      method: 'POST',
      url: '/admin/teams',
      summary: 'Create a team (in an organization or standalone) with its limits',
      responses: { 201: { description: 'The new team', component: 'Level' } },
      access: 'tenant',
      body: CreateTeamBody,
      async handler(request) {
        const actor = request.actor;
        const body = request.body as LevelInput & { name: string };
        checks.guardrails(body.guardrails);
        if (actor.role === 'team_admin') throw new ForbiddenError('A team admin key cannot create teams.');
        if (actor.role === 'org_admin') {
          if (body.org_id && body.org_id !== actor.orgId) assertOrgInScope(actor, body.org_id);
          body.org_id = actor.orgId;
        }
        const view = await withRepos(({ levels }) => levels.create('team', body, auditActor(request)));
        await applyLevel('team', view.id);
        return withStatus(201, view);
      },
    },
    {
      method: 'GET',
      url: '/admin/teams',
      summary: 'List teams (an org admin sees its organization, a team admin its team)',
      responses: { 200: { description: 'A page of teams', component: 'AdminList' } },
      access: 'tenant',
      querystring: T.Object(
        {
          org_id: T.Optional(LevelId),
          name: T.Optional(T.String({ minLength: 1, maxLength: 200 })),
          ...PageParams,
        },
        { additionalProperties: false },
      ),
      async handler(request) {
        const q = request.query as { org_id?: string; name?: string; limit?: string; cursor?: string };
        const actor = request.actor;
        if (q.org_id) assertOrgInScope(actor, q.org_id);
        const filter = {
          name: q.name,
          orgId: actor.role === 'admin' ? q.org_id : (actor.orgId ?? undefined),
          ...(actor.role === 'team_admin' ? { id: actor.teamId ?? '' } : {}),
        };
        return {
          object: 'list',
          ...(await withRepos(({ levels }) => levels.list('team', filter, pageOf(q)))),
        };
      },
    },
    {
      method: 'GET',
      url: '/admin/teams/:id',
      summary: 'One team',
      responses: { 200: { description: 'The team', component: 'Level' } },
      access: 'tenant',
      params: Id,
      async handler(request) {
        const { id } = request.params as { id: string };
        assertTeamInScope(request.actor, await team(id));
        return withRepos(({ levels }) => levels.get('team', id));
      },
    },
    {
      method: 'PATCH',
      url: '/admin/teams/:id',
      summary: "Change a team's name, organization, limits, models or metadata",
      responses: { 200: { description: 'The changed team', component: 'Level' } },
      access: 'tenant',
      params: Id,
      body: PatchTeamBody,
      async handler(request) {
        const { id } = request.params as { id: string };
        const body = request.body as LevelInput;
        checks.guardrails(body.guardrails);
        assertTeamInScope(request.actor, await team(id), true);
        if (
          request.actor.role !== 'admin' &&
          body.org_id !== undefined &&
          body.org_id !== request.actor.orgId
        ) {
          throw new ForbiddenError('An org admin key cannot move a team out of its organization.');
        }
        const view = await withRepos(({ levels }) => levels.update('team', id, body, auditActor(request)));
        await applyLevel('team', id);
        // A team moved to another organization moves its keys: this instance sees them at once.
        if (body.org_id !== undefined) await keys.refresh().catch(() => undefined);
        return view;
      },
    },
    {
      method: 'DELETE',
      url: '/admin/teams/:id',
      summary: 'Delete a team without active keys',
      responses: { 200: { description: 'The deleted team (`deleted: true`)', component: 'Level' } },
      access: 'tenant',
      params: Id,
      async handler(request) {
        const { id } = request.params as { id: string };
        assertTeamInScope(request.actor, await team(id), true);
        const view = await withRepos(({ levels }) => levels.delete('team', id, auditActor(request)));
        await applyLevel('team', id, true);
        return { ...view, deleted: true };
      },
    },
  ];
  return [...orgs, ...teams];
}
