/**
 * 0003: request ids (DESIGN §7, §8). `request_id` stays the unique key of `usage_records`, now always the
 * gateway's own UUIDv7; the client's `X-Request-ID` is kept beside it in `client_request_id`, never unique
 * (five requests sent with one id are five rows). `endpoint` names the inbound API (`chat`, `embeddings`).
 * Both are nullable: rows written before this migration have neither. No index on `client_request_id`:
 * every row would pay for it, and a lookup by it is rare (narrow it by `timestamp` and `user_id`).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('usage_records').addColumn('client_request_id', 'text').execute();
  await db.schema.alterTable('usage_records').addColumn('endpoint', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('usage_records').dropColumn('endpoint').execute();
  await db.schema.alterTable('usage_records').dropColumn('client_request_id').execute();
}
