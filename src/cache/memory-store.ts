/**
 * The in-process cache store: one LRU bounded by entry count and bytes, with a TTL per entry read from an
 * injected clock. Holds both answers and semantic partitions (so both count against the same bounds).
 */
import { LruMap } from '../core/lru-map.js';
import type { CacheEntry } from './entry.js';
import type { CacheStats, CacheStore, NowMs, SemanticDelta, SemanticRecord } from './store.js';

interface Slot {
  /** A CacheEntry (`e:` keys), a partition (`s:` keys) or a note (`n:` keys). */
  value: CacheEntry | Partition | string;
  bytes: number;
  expiresAt: number;
  model: string;
}

interface Partition {
  seq: number;
  /** Newest first. */
  records: SemanticRecord[];
}

export interface MemoryStoreOptions {
  maxEntries: number;
  maxBytes: number;
  now: NowMs;
}

/** Bytes a semantic record takes, roughly: the vector, the text (UTF-16) and the key. */
function recordBytes(r: SemanticRecord): number {
  return r.vector.byteLength + r.text.length * 2 + r.key.length * 2 + 48;
}

export class MemoryCacheStore implements CacheStore {
  readonly backend = 'memory' as const;
  /** Exact LRU order; a hit relinks its slot without touching the map (decision 0195). */
  readonly #slots = new LruMap<string, Slot>();
  readonly #options: MemoryStoreOptions;
  #bytes = 0;

  constructor(options: MemoryStoreOptions) {
    this.#options = options;
  }

  /** The live slot of a key, refreshed as most recently used; expired slots are dropped. */
  #touch(id: string): Slot | null {
    const slot = this.#slots.get(id);
    if (!slot) return null;
    if (slot.expiresAt <= this.#options.now()) {
      this.#remove(id, slot);
      return null;
    }
    return slot;
  }

  #remove(id: string, slot: Slot): void {
    this.#slots.delete(id);
    this.#bytes -= slot.bytes;
  }

  #put(id: string, slot: Slot): void {
    const old = this.#slots.peek(id);
    if (slot.bytes > this.#options.maxBytes) {
      if (old) this.#remove(id, old);
      return;
    }
    // A key already present is replaced in place: it keeps its map entry.
    if (old) this.#bytes -= old.bytes;
    this.#slots.set(id, slot);
    this.#bytes += slot.bytes;
    while (this.#slots.size > this.#options.maxEntries || this.#bytes > this.#options.maxBytes) {
      const oldest = this.#slots.oldestKey();
      if (oldest === undefined) break;
      this.#remove(oldest, this.#slots.peek(oldest) as Slot);
    }
  }

  async get(key: string): Promise<CacheEntry | null> {
    const slot = this.#touch(`e:${key}`);
    return slot ? (slot.value as CacheEntry) : null;
  }

  async set(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    const bytes = Buffer.byteLength(JSON.stringify(entry)) + key.length * 2;
    this.#put(`e:${key}`, {
      value: entry,
      bytes,
      expiresAt: this.#options.now() + ttlSeconds * 1000,
      model: entry.model,
    });
  }

  async delete(key: string): Promise<void> {
    const slot = this.#slots.peek(`e:${key}`);
    if (slot) this.#remove(`e:${key}`, slot);
  }

  async semanticAppend(
    partition: string,
    model: string,
    record: SemanticRecord,
    maxEntries: number,
    ttlSeconds: number,
  ): Promise<void> {
    const id = `s:${partition}`;
    const slot = this.#touch(id);
    const current = slot ? (slot.value as Partition) : { seq: 0, records: [] };
    const records = [record, ...current.records].slice(0, maxEntries);
    const next: Partition = { seq: current.seq + 1, records };
    this.#put(id, {
      value: next,
      bytes: records.reduce((n, r) => n + recordBytes(r), 64),
      expiresAt: this.#options.now() + ttlSeconds * 1000,
      model,
    });
  }

  async semanticRead(
    partition: string,
    _model: string,
    knownSeq: number,
    maxEntries: number,
  ): Promise<SemanticDelta> {
    const slot = this.#touch(`s:${partition}`);
    if (!slot) return { seq: 0, reset: knownSeq > 0, records: [] };
    const p = slot.value as Partition;
    if (p.seq < knownSeq) return { seq: p.seq, reset: true, records: p.records.slice(0, maxEntries) };
    const fresh = Math.min(p.seq - knownSeq, maxEntries, p.records.length);
    return { seq: p.seq, reset: false, records: p.records.slice(0, fresh) };
  }

  async putNote(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.#put(`n:${key}`, {
      value,
      bytes: (key.length + value.length) * 2 + 48,
      expiresAt: this.#options.now() + ttlSeconds * 1000,
      model: '',
    });
  }

  async getNote(key: string): Promise<string | null> {
    const slot = this.#touch(`n:${key}`);
    return slot ? (slot.value as string) : null;
  }

  async clear(model?: string): Promise<number> {
    let removed = 0;
    for (const [id, slot] of this.#slots.entries()) {
      if (model === undefined || slot.model === model) {
        this.#remove(id, slot);
        removed++;
      }
    }
    return removed;
  }

  async stats(): Promise<CacheStats> {
    const now = this.#options.now();
    let entries = 0;
    let records = 0;
    for (const [id, slot] of this.#slots.entries()) {
      if (slot.expiresAt <= now) {
        this.#remove(id, slot);
        continue;
      }
      if (id.startsWith('e:')) entries++;
      else if (id.startsWith('s:')) records += (slot.value as Partition).records.length;
    }
    return { backend: 'memory', entries, bytes: this.#bytes, semantic_records: records };
  }
}
