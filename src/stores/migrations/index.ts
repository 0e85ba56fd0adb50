/**
 * Every migration, in order. Names sort by their number; a migration, once released, never changes —
 * a change is a new migration. Run at start (`openDatabase`) and by `llm-gateway migrate`.
 *
 * Reserved numbers: 0001 API keys and audit log, 0002 usage records, 0003 request ids (client_request_id,
 * endpoint).
 */
import type { Migration, MigrationProvider } from 'kysely';
import * as keysAndAudit from './0001_keys_and_audit.js';
import * as usageRecords from './0002_usage_records.js';
import * as requestIds from './0003_request_ids.js';

const MIGRATIONS: Record<string, Migration> = {
  '0001_keys_and_audit': keysAndAudit,
  '0002_usage_records': usageRecords,
  '0003_request_ids': requestIds,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
