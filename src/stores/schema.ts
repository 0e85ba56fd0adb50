/**
 * Table types for Kysely. Each feature adds its tables here, next to its migration in `migrations/`.
 */

// biome-ignore lint/complexity/noBannedTypes: filled in by the features' tables (api keys, audit log, usage records).
export type DatabaseSchema = {};
