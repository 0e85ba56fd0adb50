/**
 * 0014: the deployment that answered a stored response (`stored_responses.deployment`, its `Deployment.id`),
 * so deleting a response OpenAI also stores reaches that deployment with its credentials (decision 0234).
 * Null for translated responses and for every response stored before this migration.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('stored_responses').addColumn('deployment', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('stored_responses').dropColumn('deployment').execute();
}
