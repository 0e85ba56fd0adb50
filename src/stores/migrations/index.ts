/**
 * Every migration, in order. Names sort by their number; a migration, once released, never changes —
 * a change is a new migration. Run at start (`openDatabase`) and by `llm-gateway migrate`.
 *
 * Reserved numbers: 0001 API keys and audit log, 0002 usage records, 0003 request ids (client_request_id,
 * endpoint), 0004 stored responses, 0005 guardrails (key policies, usage record column),
 * 0006 tenancy (organizations, teams, key levels and roles), 0007 usage records partitioned by day,
 * org/team/tags, daily rollups, 0008 prompts, experiments and feedback, 0009 evaluation runs and results, 0010 console (sessions, usage record route),
 * 0011 one running experiment per prompt label.
 * 0012 the rotation chain of each API key (its lineage). 0013 guardrail policies on organizations and teams.
 * 0014 the deployment that answered a stored response.
 */
import type { Migration, MigrationProvider } from 'kysely';
import * as keysAndAudit from './0001_keys_and_audit.js';
import * as usageRecords from './0002_usage_records.js';
import * as requestIds from './0003_request_ids.js';
import * as storedResponses from './0004_stored_responses.js';
import * as keyGuardrails from './0005_key_guardrails.js';
import * as tenancy from './0006_tenancy.js';
import * as usagePartitions from './0007_usage_partitions.js';
import * as prompts from './0008_prompts.js';
import * as evalRuns from './0009_eval_runs.js';
import * as console_ from './0010_console.js';
import * as oneRunningExperiment from './0011_one_running_experiment.js';
import * as keyLineage from './0012_key_lineage.js';
import * as levelGuardrails from './0013_level_guardrails.js';
import * as responseDeployment from './0014_response_deployment.js';

const MIGRATIONS: Record<string, Migration> = {
  '0001_keys_and_audit': keysAndAudit,
  '0002_usage_records': usageRecords,
  '0003_request_ids': requestIds,
  '0004_stored_responses': storedResponses,
  '0005_key_guardrails': keyGuardrails,
  '0006_tenancy': tenancy,
  '0007_usage_partitions': usagePartitions,
  '0008_prompts': prompts,
  '0009_eval_runs': evalRuns,
  '0010_console': console_,
  '0011_one_running_experiment': oneRunningExperiment,
  '0012_key_lineage': keyLineage,
  '0013_level_guardrails': levelGuardrails,
  '0014_response_deployment': responseDeployment,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
