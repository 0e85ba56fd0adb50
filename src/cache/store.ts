/**
 * `CacheStore`: where cached answers and the semantic index's records live (DESIGN §2). Two backends: the
 * in-process LRU (`memory-store.ts`) and Redis (`redis-store.ts`). A store never throws on the request
 * path: a failure or a corrupt value is a miss, counted by the store.
 */
import type { CacheEntry } from './entry.js';

/** One semantic record: the text and vector of a cached request's last user message, and its entry. */
export interface SemanticRecord {
  /** Text of the last user message (the guards compare it with the query). */
  text: string;
  /** L2-normalised embedding. */
  vector: Float32Array;
  /** Exact-cache key of the answer. */
  key: string;
  /** Epoch ms after which the answer is gone. */
  expiresAt: number;
  /**
   * Set on an *adjustment* instead of an entry (decision 0174): a served match to `key` was reported wrong
   * at this score, so the entry now needs a higher one. Adjustments have no text or vector and are never
   * searched.
   */
  minScore?: number;
}

/** Records of a partition newer than a known sequence number (newest first). */
export interface SemanticDelta {
  /** The partition's sequence number now (0 = empty or gone). */
  seq: number;
  /** True when the known state must be dropped (the partition was cleared or expired and restarted). */
  reset: boolean;
  records: SemanticRecord[];
}

export interface CacheStats {
  backend: 'memory' | 'redis';
  entries: number;
  bytes: number;
  semantic_records: number;
}

export interface CacheStore {
  readonly backend: 'memory' | 'redis';
  /** The entry, or null (absent, expired, corrupt, store down). */
  get(key: string): Promise<CacheEntry | null>;
  /** Stores an entry for `ttlSeconds`. Resolves whether or not it was stored. */
  set(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Appends a semantic record to a partition, keeping the most recent `maxEntries`. */
  semanticAppend(
    partition: string,
    model: string,
    record: SemanticRecord,
    maxEntries: number,
    ttlSeconds: number,
  ): Promise<void>;
  /** Records appended after `knownSeq` (all when 0), at most `maxEntries`; null when the store failed. */
  semanticRead(
    partition: string,
    model: string,
    knownSeq: number,
    maxEntries: number,
  ): Promise<SemanticDelta | null>;
  /**
   * A small note kept for `ttlSeconds` (which semantic entry answered a request, for feedback: decision 0174).
   * Resolves whether or not it was stored.
   */
  putNote(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** The note, or null (absent, expired, store down). */
  getNote(key: string): Promise<string | null>;
  /** Deletes every entry and semantic record (of one requested model); returns how many keys went. */
  clear(model?: string): Promise<number>;
  stats(): Promise<CacheStats>;
  close?(): Promise<void>;
}

/** Injected time source (epoch ms), so TTLs can be tested without waiting. */
export type NowMs = () => number;

/** Float32 vector ↔ base64 (compact and exact). */
export function vectorToBase64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function vectorFromBase64(text: string): Float32Array | null {
  const buf = Buffer.from(text, 'base64');
  if (buf.byteLength === 0 || buf.byteLength % 4 !== 0) return null;
  // Copy into an aligned buffer: the decoded Buffer may sit at any offset of Node's pool.
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}
