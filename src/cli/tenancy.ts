/**
 * `llm-gateway orgs …` and `llm-gateway teams …` — organizations and teams against the gateway's
 * database, with the same repository, rules and audit log as the admin API (`/admin/orgs`, `/admin/teams`).
 * A running gateway picks changes up within `AUTH_REFRESH_INTERVAL_MS`.
 *
 *   llm-gateway orgs|teams create --name NAME [--org ORG_ID] [limits]
 *   llm-gateway orgs|teams list [--org ORG_ID] [--json]
 *   llm-gateway orgs|teams get ID
 *   llm-gateway orgs|teams update ID [--name NAME] [limits]      limits: --daily-budget USD
 *       --monthly-budget USD --total-budget USD --rpm N --tpm N --models a,b --guardrails p,q (each
 *       "none" to clear)
 *   llm-gateway orgs|teams delete ID
 */
import { parseArgs } from 'node:util';
import type { Config } from '../config/schema.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { LimitsJson } from '../tenancy/limits.js';
import { type LevelInput, type LevelKind, LevelRepository, type LevelView } from '../tenancy/repository.js';
import { cliActor } from './actor.js';
import { openCliDatabase } from './database.js';
import { UsageError } from './keys.js';

export const TENANCY_USAGE = `Usage:
  llm-gateway orgs|teams create --name NAME [--org ORG_ID (teams)] [LIMITS]
  llm-gateway orgs|teams list [--org ORG_ID (teams)] [--json]
  llm-gateway orgs|teams get ID
  llm-gateway orgs|teams update ID [--name NAME] [LIMITS]
  llm-gateway orgs|teams delete ID        (only when it has no teams and no active keys)
LIMITS: --daily-budget USD --monthly-budget USD --total-budget USD --rpm N --tpm N --models m1,m2
        --guardrails POLICY,… (each may be "none" to clear it on update)
`;

const LIMIT_FLAGS = {
  'daily-budget': 'daily_budget_usd',
  'monthly-budget': 'monthly_budget_usd',
  'total-budget': 'total_budget_usd',
  rpm: 'rpm_limit',
  tpm: 'tpm_limit',
} as const;

/** Runs one `orgs` or `teams` subcommand; returns the exit code. */
export async function runTenancyCommand(
  kind: LevelKind,
  args: string[],
  config: Readonly<Config>,
  io: { out(text: string): void },
  clock: Pick<Clock, 'wallNow'> = systemClock,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      org: { type: 'string' },
      models: { type: 'string' },
      guardrails: { type: 'string' },
      json: { type: 'boolean' },
      config: { type: 'string', short: 'c' },
      ...Object.fromEntries(Object.keys(LIMIT_FLAGS).map((f) => [f, { type: 'string' as const }])),
    },
    allowPositionals: true,
  });
  const [sub, id] = positionals;
  const database = await openCliDatabase(config, {
    lockedHint:
      `While the gateway runs, manage ${kind}s through its admin API instead (docs/tenancy.md), e.g.\n` +
      `  curl -H "Authorization: Bearer $GATEWAY_ADMIN_KEY" http://127.0.0.1:8000/admin/${kind}s`,
  });
  const actor = { actor: cliActor() };
  try {
    const repo = new LevelRepository(database.db, clock);
    const input = (): LevelInput => {
      const out: LevelInput = {};
      if (typeof values.name === 'string') out.name = values.name;
      if (kind === 'team' && typeof values.org === 'string')
        out.org_id = values.org === 'none' ? null : values.org;
      for (const [flag, field] of Object.entries(LIMIT_FLAGS)) {
        const raw = (values as Record<string, unknown>)[flag];
        if (typeof raw === 'string')
          out[field as keyof LimitsJson] = number(raw, `--${flag}`, field.endsWith('usd'));
      }
      if (typeof values.models === 'string') {
        out.allowed_models = values.models === 'none' ? [] : list(values.models);
      }
      if (typeof values.guardrails === 'string') {
        const names = values.guardrails === 'none' ? [] : list(values.guardrails);
        const policies = new Set(['pii', ...Object.keys(config.guardrails.policies)]);
        const unknown = names.find((g) => !policies.has(g));
        if (unknown !== undefined)
          throw new UsageError(`--guardrails: no policy named "${unknown}" in the config`);
        out.guardrails = names;
      }
      return out;
    };
    switch (sub) {
      case 'create': {
        if (!values.name) throw new UsageError('--name is required');
        io.out(`${describe(await repo.create(kind, { ...input(), name: values.name }, actor))}\n`);
        return 0;
      }
      case 'list': {
        const page = await repo.list(kind, { orgId: values.org }, { limit: 1000, after: null });
        if (values.json) io.out(`${JSON.stringify(page.data, null, 2)}\n`);
        else io.out(page.data.length === 0 ? `no ${kind}s\n` : `${page.data.map(describe).join('\n')}\n`);
        return 0;
      }
      case 'get':
      case 'update':
      case 'delete': {
        if (!id) throw new UsageError(`${sub} needs the ${kind} id (see \`${kind}s list\`)`);
        const view =
          sub === 'get'
            ? await repo.get(kind, id)
            : sub === 'update'
              ? await repo.update(kind, id, input(), actor)
              : await repo.delete(kind, id, actor);
        io.out(`${sub === 'delete' ? 'deleted\n' : ''}${JSON.stringify(view, null, 2)}\n`);
        return 0;
      }
      default:
        throw new UsageError(sub ? `unknown ${kind}s command "${sub}"` : `missing ${kind}s command`);
    }
  } finally {
    await database.close();
  }
}

/** A comma-separated list, trimmed, without empty items. */
function list(raw: string): string[] {
  return raw
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
}

function number(raw: string, flag: string, usd: boolean): number | null {
  if (raw === 'none') return null;
  const n = Number(raw);
  const max = usd ? 999_999 : 1_000_000_000;
  if (
    raw.trim() === '' ||
    !Number.isFinite(n) ||
    n < (usd ? 0 : 1) ||
    n > max ||
    (!usd && !Number.isInteger(n))
  ) {
    throw new UsageError(`${flag}: ${usd ? 'USD 0' : 'a whole number 1'} to ${max}, or "none"`);
  }
  return n;
}

function describe(v: LevelView): string {
  const limits = [
    v.daily_budget_usd !== null ? `daily=$${v.daily_budget_usd}` : '',
    v.monthly_budget_usd !== null ? `monthly=$${v.monthly_budget_usd}` : '',
    v.total_budget_usd !== null ? `total=$${v.total_budget_usd}` : '',
    v.rpm_limit !== null ? `rpm=${v.rpm_limit}` : '',
    v.tpm_limit !== null ? `tpm=${v.tpm_limit}` : '',
  ].filter(Boolean);
  const org = v.org_id ? `  org=${v.org_id}` : '';
  return `${v.id}  ${v.name}${org}  ${limits.join(' ') || 'no limits'}`;
}
