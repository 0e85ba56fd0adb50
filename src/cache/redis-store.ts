/**
 * The Redis cache store, shared by every gateway instance on the same Redis and key prefix.
 *
 * Keys (after the gateway's key prefix):
 * - `cache:x:<model>:<sha256>` → an answer: compact JSON, gzipped above a size (gzip magic tells them apart);
 *   Redis expires it (PX).
 * - `cache:s:{<model>:<partition>}:list` / `:seq` → a semantic partition: the most recent records (LPUSH +
 *   LTRIM, newest first) and a sequence number, so an instance fetches only what it has not seen yet.
 *   Both keys share a hash tag: each Lua script touches one slot (Cluster-ready). A record with `m` is an
 *   adjustment (a score bar for the entry `k`, decision 0174), not an entry.
 * - `cache:n:<key>` → a note (which semantic entry answered a request, for feedback; decision 0174).
 *
 * Caps: a value or semantic record over `maxEntryBytes` is not stored, a partition keeps its newest
 * `semantic.max_entries` records, and every key has a TTL of at most `maxTtlSeconds`; the total is capped
 * by Redis itself (`maxmemory` with `volatile-ttl`, docs/runbook.md), which evicts cache keys before the
 * longer-lived rate-limit and budget keys.
 *
 * Every call goes through the Redis breaker with a bounded wait (`run`); a failure or a skipped call is a
 * miss, counted and logged by the shared Redis store. A value that does not decode is a miss too: counted, logged and deleted.
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Redis } from 'ioredis';
import type { RedisStore } from '../stores/redis.js';
import { cacheEntryKey, semanticKeys } from '../stores/redis-keys.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { type CacheEntry, isCacheEntry } from './entry.js';
import {
  type CacheStats,
  type CacheStore,
  type SemanticDelta,
  type SemanticRecord,
  vectorFromBase64,
  vectorToBase64,
} from './store.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** KEYS: seq, list. ARGV: record, max entries, ttl ms. */
const APPEND_LUA = `
local seq = redis.call('INCR', KEYS[1])
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return seq`;

/** KEYS: seq, list. ARGV: known seq, max entries. Returns {seq, reset, records…}. */
const READ_LUA = `
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local known = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
if seq == known then return {seq, 0} end
local reset = 0
local n = seq - known
if seq < known then reset = 1; n = max end
if n > max then n = max end
local out = {seq, reset}
if n > 0 then
  local items = redis.call('LRANGE', KEYS[2], 0, n - 1)
  for i = 1, #items do out[#out + 1] = items[i] end
end
return out`;

type ScriptClient = {
  llmgwCacheSemAppend(seq: string, list: string, record: string, max: number, ttl: number): Promise<number>;
  llmgwCacheSemRead(seq: string, list: string, known: number, max: number): Promise<Array<number | string>>;
};

export interface RedisCacheStoreOptions {
  compressAboveBytes: number;
  /** Largest stored value (after compression) or semantic record; larger ones are not stored. 1 MiB default. */
  maxEntryBytes?: number;
  /**
   * Longest TTL written (default 24 h). Every key this store writes has a TTL: with `maxmemory-policy
   * volatile-ttl` the cache is evicted before rate-limit buckets and budget counters (TTL ≥ 25 h).
   */
  maxTtlSeconds?: number;
}

/** Escapes Redis glob characters (SCAN MATCH). */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export class RedisCacheStore implements CacheStore {
  readonly backend = 'redis' as const;
  readonly #redis: RedisStore;
  readonly #options: RedisCacheStoreOptions;
  readonly #deps: { logger: Logger; metrics: Metrics };
  readonly #prefix: string;

  constructor(
    redis: RedisStore,
    options: RedisCacheStoreOptions,
    deps: { logger: Logger; metrics: Metrics },
  ) {
    this.#redis = redis;
    this.#options = options;
    this.#deps = deps;
    this.#prefix = `${redis.keyPrefix}cache:`;
    const client = redis.client;
    if (!('llmgwCacheSemAppend' in client)) {
      client.defineCommand('llmgwCacheSemAppend', { numberOfKeys: 2, lua: APPEND_LUA });
      client.defineCommand('llmgwCacheSemRead', { numberOfKeys: 2, lua: READ_LUA });
    }
  }

  get #scripts(): ScriptClient {
    return this.#redis.client as unknown as ScriptClient;
  }

  /** `key` is `<model>:<sha256>` (the model URI-encoded). */
  #entryKey(key: string): string {
    return cacheEntryKey(this.#redis.keyPrefix, key);
  }

  #partitionKeys(partition: string, model: string): [seq: string, list: string] {
    return semanticKeys(this.#redis.keyPrefix, model, partition);
  }

  #corrupt(key: string, reason: string): void {
    this.#deps.metrics.dependencyErrors.inc({ dependency: 'cache' });
    this.#deps.logger.warn(
      { event: 'cache.corrupt_entry', key: key.slice(-16), reason },
      'corrupt cache entry dropped',
    );
    void this.#redis.run((client) => client.unlink(key)).catch(() => undefined);
  }

  async get(key: string): Promise<CacheEntry | null> {
    const redisKey = this.#entryKey(key);
    let raw: Buffer | null;
    try {
      raw = await this.#redis.run((client) => client.getBuffer(redisKey));
    } catch (err) {
      this.#redis.failed('cache.get', err);
      return null;
    }
    if (raw === null) return null;
    try {
      const text = raw[0] === 0x1f && raw[1] === 0x8b ? await gunzipAsync(raw) : raw;
      const value: unknown = JSON.parse(text.toString('utf8'));
      if (isCacheEntry(value)) return value;
      this.#corrupt(redisKey, 'unexpected shape');
    } catch (err) {
      this.#corrupt(redisKey, err instanceof Error ? err.message : 'undecodable');
    }
    return null;
  }

  /** A TTL in ms within [1 s, maxTtlSeconds]: nothing is ever written without one. */
  #ttlMs(ttlSeconds: number): number {
    const max = this.#options.maxTtlSeconds ?? 86_400;
    return Math.round(Math.min(Math.max(1, ttlSeconds), max) * 1000);
  }

  #tooLarge(bytes: number): boolean {
    if (bytes <= (this.#options.maxEntryBytes ?? 1024 * 1024)) return false;
    this.#deps.logger.debug(
      { event: 'cache.entry_too_large', bytes },
      'cache entry over max_entry_bytes not stored',
    );
    return true;
  }

  async set(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    try {
      const json = Buffer.from(JSON.stringify(entry));
      const value = json.byteLength > this.#options.compressAboveBytes ? await gzipAsync(json) : json;
      if (this.#tooLarge(value.byteLength)) return;
      const ttlMs = this.#ttlMs(ttlSeconds);
      await this.#redis.run((client) => client.set(this.#entryKey(key), value, 'PX', ttlMs));
    } catch (err) {
      this.#redis.failed('cache.set', err);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#redis.run((client) => client.unlink(this.#entryKey(key)));
    } catch (err) {
      this.#redis.failed('cache.delete', err);
    }
  }

  async semanticAppend(
    partition: string,
    model: string,
    record: SemanticRecord,
    maxEntries: number,
    ttlSeconds: number,
  ): Promise<void> {
    const [seq, list] = this.#partitionKeys(partition, model);
    const item = JSON.stringify({
      t: record.text,
      v: vectorToBase64(record.vector),
      k: record.key,
      e: record.expiresAt,
      ...(record.minScore !== undefined ? { m: record.minScore } : {}),
    });
    if (this.#tooLarge(Buffer.byteLength(item))) return;
    const ttlMs = this.#ttlMs(ttlSeconds);
    try {
      await this.#redis.run(() => this.#scripts.llmgwCacheSemAppend(seq, list, item, maxEntries, ttlMs));
    } catch (err) {
      this.#redis.failed('cache.semantic_append', err);
    }
  }

  async semanticRead(
    partition: string,
    model: string,
    knownSeq: number,
    maxEntries: number,
  ): Promise<SemanticDelta | null> {
    const [seq, list] = this.#partitionKeys(partition, model);
    let reply: Array<number | string>;
    try {
      reply = await this.#redis.run(() => this.#scripts.llmgwCacheSemRead(seq, list, knownSeq, maxEntries));
    } catch (err) {
      this.#redis.failed('cache.semantic_read', err);
      return null;
    }
    const records: SemanticRecord[] = [];
    let corrupt = 0;
    for (const item of reply.slice(2)) {
      const record = decodeRecord(String(item));
      if (record) records.push(record);
      else corrupt++;
    }
    if (corrupt > 0) {
      // A bad record is skipped, not served; the partition heals as newer records push it out.
      this.#deps.metrics.dependencyErrors.inc({ dependency: 'cache' }, corrupt);
    }
    return { seq: Number(reply[0]), reset: Number(reply[1]) === 1, records };
  }

  async putNote(key: string, value: string, ttlSeconds: number): Promise<void> {
    if (this.#tooLarge(Buffer.byteLength(value))) return;
    const ttlMs = this.#ttlMs(ttlSeconds);
    try {
      await this.#redis.run((client) => client.set(`${this.#prefix}n:${key}`, value, 'PX', ttlMs));
    } catch (err) {
      this.#redis.failed('cache.put_note', err);
    }
  }

  async getNote(key: string): Promise<string | null> {
    try {
      return await this.#redis.run((client) => client.get(`${this.#prefix}n:${key}`));
    } catch (err) {
      this.#redis.failed('cache.get_note', err);
      return null;
    }
  }

  /** Off the request path (admin): SCAN + UNLINK in batches, on every master of a Cluster. */
  async clear(model?: string): Promise<number> {
    const prefix = globEscape(this.#prefix);
    const patterns = model
      ? [
          `${prefix}x:${globEscape(encodeURIComponent(model))}:*`,
          `${prefix}s:{${globEscape(encodeURIComponent(model))}:*`,
        ]
      : [`${prefix}*`];
    let removed = 0;
    for (const pattern of patterns) {
      await this.#scan(pattern, async (node, keys) => {
        // One UNLINK per key: a Cluster refuses a multi-key command across slots, even on one node.
        const pipeline = node.pipeline();
        for (const key of keys) pipeline.unlink(key);
        for (const [err, n] of (await pipeline.exec()) ?? []) if (!err) removed += Number(n);
      });
    }
    return removed;
  }

  /** Off the request path (admin): walks the keyspace of this prefix (every master of a Cluster). */
  async stats(): Promise<CacheStats> {
    let entries = 0;
    let bytes = 0;
    let records = 0;
    const prefix = globEscape(this.#prefix);
    await this.#scan(`${prefix}x:*`, async (node, keys) => {
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.strlen(key);
      for (const [err, n] of (await pipeline.exec()) ?? []) {
        if (!err && typeof n === 'number' && n > 0) {
          entries++;
          bytes += n;
        }
      }
    });
    await this.#scan(`${prefix}s:*:list`, async (node, keys) => {
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.llen(key);
      for (const [err, n] of (await pipeline.exec()) ?? []) if (!err && typeof n === 'number') records += n;
    });
    return { backend: 'redis', entries, bytes, semantic_records: records };
  }

  /**
   * SCANs every node holding keys (each master of a Cluster: a SCAN sees only the node it is sent to) and
   * hands each batch to `each` with the node it lives on.
   */
  async #scan(pattern: string, each: (node: Redis, keys: string[]) => Promise<void>): Promise<void> {
    const nodes = this.#redis.nodes();
    if (nodes.length === 0) throw new Error('Redis is not connected');
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.#redis.withDeadline(
          node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000),
          5_000,
        );
        cursor = next;
        if (keys.length > 0) await each(node, keys);
      } while (cursor !== '0');
    }
  }
}

function decodeRecord(text: string): SemanticRecord | null {
  try {
    const r = JSON.parse(text) as { t?: unknown; v?: unknown; k?: unknown; e?: unknown; m?: unknown };
    if (typeof r.t !== 'string' || typeof r.v !== 'string' || typeof r.k !== 'string') return null;
    if (typeof r.e !== 'number') return null;
    // An adjustment (decision 0174): no vector, a score bar for the entry `k`.
    if (typeof r.m === 'number' && Number.isFinite(r.m)) {
      return { text: '', vector: new Float32Array(0), key: r.k, expiresAt: r.e, minScore: r.m };
    }
    const vector = vectorFromBase64(r.v);
    return vector ? { text: r.t, vector, key: r.k, expiresAt: r.e } : null;
  } catch {
    return null;
  }
}
