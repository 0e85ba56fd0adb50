/**
 * Every migration, in order. Names sort by their number; a migration, once released, never changes —
 * a change is a new migration. Run at start (`openDatabase`) and by `llm-gateway migrate`.
 *
 * Reserved numbers: 0001 API keys and audit log, 0002 usage records, 0003 request ids (client_request_id,
 * endpoint), 0004 stored responses, 0005 guardrails (key policies, usage record column), 0008 prompts,
 * experiments and feedback.
 */
import type { Migration, MigrationProvider } from 'kysely';
import * as keysAndAudit from './0001_keys_and_audit.js';
import * as usageRecords from './0002_usage_records.js';
import * as requestIds from './0003_request_ids.js';
import * as storedResponses from './0004_stored_responses.js';
import * as keyGuardrails from './0005_key_guardrails.js';
import * as prompts from './0008_prompts.js';

const MIGRATIONS: Record<string, Migration> = {
  '0001_keys_and_audit': keysAndAudit,
  '0002_usage_records': usageRecords,
  '0003_request_ids': requestIds,
  '0004_stored_responses': storedResponses,
  '0005_key_guardrails': keyGuardrails,
  '0008_prompts': prompts,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
