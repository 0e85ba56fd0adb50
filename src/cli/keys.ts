/**
 * `llm-gateway keys create|list|revoke|rotate` — key administration against the gateway's database
 * (DATABASE_URL, else the PGlite file database under GATEWAY_DATA_DIR), with the same migrations, the
 * same rules and the same audit log as the admin API. The new key is printed once.
 *
 *   llm-gateway keys create --name NAME (--user USER | --team TEAM | --org ORG) [--role R] [--tier T] [--models a,b] [--expires ISO] [--guardrails p,q]
 *                           [--daily-budget USD] [--monthly-budget USD] [--guardrails POLICY,…]
 *   llm-gateway keys list [--user USER] [--all] [--json]
 *   llm-gateway keys revoke ID
 *   llm-gateway keys rotate ID [--grace SECONDS]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_GRACE_SECONDS } from '../auth/feature.js';
import { budgetProblem, expiryProblem, MAX_GRACE_SECONDS } from '../auth/key-limits.js';
import { type Actor, KeyRepository, type KeyView } from '../auth/keys.js';
import type { Config } from '../config/schema.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { Db } from '../stores/database.js';
import { cliActor } from './actor.js';
import { openCliDatabase } from './database.js';

export const KEYS_USAGE = `Usage:
  llm-gateway keys create --name NAME (--user USER_ID | --team TEAM_ID | --org ORG_ID) [--role user|team_admin|org_admin]
                          [--tier TIER] [--models m1,m2] [--expires ISO-8601] [--daily-budget USD] [--monthly-budget USD]
  llm-gateway keys list [--user USER_ID] [--team TEAM_ID] [--org ORG_ID] [--all] [--json]
  llm-gateway keys revoke KEY_ID
  llm-gateway keys rotate KEY_ID [--grace SECONDS]   (default grace ${DEFAULT_GRACE_SECONDS} s)
`;

/** Thrown for bad arguments: the message is printed with the usage, exit code 2. */
export class UsageError extends Error {}

interface Io {
  out(text: string): void;
}

/** Runs one `keys` subcommand; returns the exit code. `clock`: wall time of revocations and rotations. */
export async function runKeysCommand(
  args: string[],
  config: Readonly<Config>,
  io: Io,
  clock: Pick<Clock, 'wallNow'> = systemClock,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      user: { type: 'string' },
      team: { type: 'string' },
      org: { type: 'string' },
      role: { type: 'string' },
      tier: { type: 'string' },
      models: { type: 'string' },
      guardrails: { type: 'string' },
      expires: { type: 'string' },
      'daily-budget': { type: 'string' },
      'monthly-budget': { type: 'string' },
      grace: { type: 'string' },
      all: { type: 'boolean' },
      json: { type: 'boolean' },
      config: { type: 'string', short: 'c' },
    },
    allowPositionals: true,
  });
  const [sub, id] = positionals;
  const database = await openCliDatabase(config, {
    lockedHint:
      'While the gateway runs, manage keys through its admin API instead, e.g.\n' +
      '  curl -H "Authorization: Bearer $GATEWAY_ADMIN_KEY" http://127.0.0.1:8000/admin/keys\n' +
      '  (POST /admin/keys, POST /admin/keys/{id}/revoke, POST /admin/keys/{id}/rotate; docs/runbook.md).',
  });
  const actor: Actor = { actor: cliActor() };
  try {
    const repo = new KeyRepository(database.db, clock);
    switch (sub) {
      case 'create': {
        if (!values.name) throw new UsageError('--name is required');
        if (values.user ? !/^[\w.@:+-]{1,128}$/.test(values.user) : !values.team && !values.org) {
          throw new UsageError(
            '--user is required unless --team or --org is given (letters, digits and . @ : + - _ only)',
          );
        }
        const role = values.role ?? 'user';
        if (role !== 'user' && role !== 'team_admin' && role !== 'org_admin') {
          throw new UsageError('--role must be user, team_admin or org_admin');
        }
        const place = await placeFor(database.db, values.team, values.org);
        const tiers = Object.keys(config.rate_limit.tiers);
        if (values.tier && !tiers.includes(values.tier)) {
          throw new UsageError(`--tier must be one of ${tiers.join(', ')}`);
        }
        const expiry = values.expires ? expiryProblem(values.expires) : null;
        if (expiry) throw new UsageError(`--expires ${expiry}`);
        const guardrails = (values.guardrails ?? '')
          .split(',')
          .map((g) => g.trim())
          .filter(Boolean);
        const policies = new Set(['pii', ...Object.keys(config.guardrails.policies)]);
        const unknownPolicy = guardrails.find((g) => !policies.has(g));
        if (unknownPolicy)
          throw new UsageError(`--guardrails: no policy named "${unknownPolicy}" in the config`);
        const expiresAt = values.expires ? new Date(values.expires) : null;
        const { key, view } = await repo.create(
          {
            name: values.name,
            userId: values.user ?? null,
            ...place,
            role,
            tier: values.tier ?? 'free',
            allowedModels: values.models
              ? values.models
                  .split(',')
                  .map((m) => m.trim())
                  .filter(Boolean)
              : [],
            dailyBudgetUsd: money(values['daily-budget'], '--daily-budget'),
            monthlyBudgetUsd: money(values['monthly-budget'], '--monthly-budget'),
            expiresAt,
            guardrails,
          },
          actor,
        );
        io.out(`${describe(view)}\n\n  key: ${key}\n\nStore it now: it is not shown again.\n`);
        return 0;
      }
      case 'list': {
        const keys = (
          await repo.list({
            userId: values.user,
            teamId: values.team,
            orgId: values.org,
            includeRevoked: values.all === true,
          })
        ).data;
        if (values.json) io.out(`${JSON.stringify(keys, null, 2)}\n`);
        else io.out(keys.length === 0 ? 'no keys\n' : `${keys.map(describe).join('\n')}\n`);
        return 0;
      }
      case 'revoke': {
        if (!id) throw new UsageError('revoke needs the key id (see `keys list`)');
        io.out(`revoked\n${describe(await repo.revoke(id, actor))}\n`);
        return 0;
      }
      case 'rotate': {
        if (!id) throw new UsageError('rotate needs the key id (see `keys list`)');
        const grace = values.grace === undefined ? DEFAULT_GRACE_SECONDS : Number(values.grace);
        if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_SECONDS) {
          throw new UsageError(`--grace: whole seconds, 0 to ${MAX_GRACE_SECONDS}`);
        }
        const { key, view, old } = await repo.rotate(id, grace, actor);
        io.out(
          `${describe(view)}\n\n  key: ${key}\n\nStore it now: it is not shown again.\nThe old key ${old.id} stays valid until ${old.expires_at}.\n`,
        );
        return 0;
      }
      default:
        throw new UsageError(sub ? `unknown keys command "${sub}"` : 'missing keys command');
    }
  } finally {
    await database.close();
  }
}

/** The team's organization (the team must exist), or the organization given. */
async function placeFor(
  db: Db,
  team: string | undefined,
  org: string | undefined,
): Promise<{ teamId: string | null; orgId: string | null }> {
  if (team) {
    const row = await db.selectFrom('teams').select('org_id').where('id', '=', team).executeTakeFirst();
    if (!row) throw new UsageError(`--team: no team with id "${team}"`);
    if (org && row.org_id !== org) throw new UsageError(`--team ${team} is not in organization ${org}`);
    return { teamId: team, orgId: row.org_id };
  }
  if (org) {
    const row = await db.selectFrom('organizations').select('id').where('id', '=', org).executeTakeFirst();
    if (!row) throw new UsageError(`--org: no organization with id "${org}"`);
  }
  return { teamId: null, orgId: org ?? null };
}

function money(raw: string | undefined, flag: string): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  const problem = raw.trim() === '' ? 'must be a number' : budgetProblem(n);
  if (problem) throw new UsageError(`${flag}: a USD amount; ${problem}`);
  return n;
}

function describe(k: KeyView): string {
  const state = k.revoked_at
    ? `revoked ${k.revoked_at}`
    : k.expires_at
      ? `expires ${k.expires_at}`
      : 'active';
  const models = k.allowed_models.length > 0 ? k.allowed_models.join(',') : 'all models';
  return `${k.id}  ${k.key_prefix}…  ${k.name}  user=${k.user_id ?? '-'}${k.team_id ? `  team=${k.team_id}` : ''}${k.role === 'user' ? '' : `  role=${k.role}`}  tier=${k.tier}  ${models}  ${state}`;
}
