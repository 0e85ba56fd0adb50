/**
 * Embeds texts through an `Embedder`, keeping every vector in an append-only file under `.cache/eval/` (keyed by
 * SHA-1 of the text) so later runs of the evaluation only embed what is new.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Embedder } from '../../src/cache/semantic/types.js';

const KEY_BYTES = 20;

export class EmbeddingCache {
  private readonly vectors = new Map<string, Float32Array>();

  constructor(
    private readonly embedder: Embedder,
    private readonly file: string,
  ) {
    if (!existsSync(file)) return;
    const buf = readFileSync(file);
    const dims = embedder.dimensions;
    const record = KEY_BYTES + dims * 4;
    for (let off = 0; off + record <= buf.length; off += record) {
      const key = buf.subarray(off, off + KEY_BYTES).toString('hex');
      const v = new Float32Array(dims);
      Buffer.from(v.buffer).set(buf.subarray(off + KEY_BYTES, off + record));
      this.vectors.set(key, v);
    }
  }

  private static key(text: string): string {
    return createHash('sha1').update(text).digest('hex');
  }

  get(text: string): Float32Array {
    const v = this.vectors.get(EmbeddingCache.key(text));
    if (!v) throw new Error(`not embedded: ${text.slice(0, 60)}`);
    return v;
  }

  /** Embeds every text not cached yet, in batches, reporting progress on stderr. */
  async fill(texts: Iterable<string>, batchSize = 16): Promise<number> {
    const todo = [...new Set(texts)].filter((t) => !this.vectors.has(EmbeddingCache.key(t)));
    if (todo.length === 0) return 0;
    mkdirSync(dirname(this.file), { recursive: true });
    const started = Date.now();
    for (let i = 0; i < todo.length; i += batchSize) {
      const batch = todo.slice(i, i + batchSize);
      const out = await this.embedder.embed(batch);
      const chunks: Buffer[] = [];
      batch.forEach((text, j) => {
        const key = EmbeddingCache.key(text);
        this.vectors.set(key, out[j]!);
        chunks.push(
          Buffer.from(key, 'hex'),
          Buffer.from(out[j]!.buffer, out[j]!.byteOffset, out[j]!.byteLength),
        );
      });
      appendFileSync(this.file, Buffer.concat(chunks));
      if ((i / batchSize) % 50 === 0) {
        const done = i + batch.length;
        const rate = done / ((Date.now() - started) / 1000);
        process.stderr.write(`embedded ${done}/${todo.length} (${rate.toFixed(0)}/s)\n`);
      }
    }
    return todo.length;
  }
}
