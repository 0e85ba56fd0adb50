import assert from 'node:assert/strict';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { appendLines, countRows, readBatches } from './spool.js';

describe('spool files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-unit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('rows come back in order, in batches; a torn last line is skipped', async () => {
    const file = join(dir, 'a.jsonl');
    await appendLines(file, ['{"n":1}', '{"n":2}', '{"n":3}']);
    await appendFile(file, '{"n": 4'); // crash mid-append
    const batches: Array<Array<{ n: number }>> = [];
    for await (const batch of readBatches<{ n: number }>(file, 2)) batches.push(batch);
    assert.deepEqual(batches, [[{ n: 1 }, { n: 2 }], [{ n: 3 }]]);
    assert.equal(await countRows(file), 3);
  });

  test('a large file is streamed: after the first batch only a chunk of it has been read', async () => {
    const file = join(dir, 'big.jsonl');
    const out = createWriteStream(file);
    const line = `${JSON.stringify({ request_id: 'x'.repeat(36), model: 'gpt-4o-mini', pad: 'p'.repeat(300) })}\n`;
    for (let i = 0; i < 40_000; i++)
      if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
    await new Promise<void>((resolve) => out.end(resolve));
    const size = statSync(file).size;
    assert.ok(size > 15_000_000, `${size} bytes`);
    const before = process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed;
    let rows = 0;
    let largestBatch = 0;
    let grewAtFirstBatch = 0;
    for await (const batch of readBatches(file, 100)) {
      if (rows === 0) {
        const now = process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed;
        grewAtFirstBatch = now - before;
      }
      rows += batch.length;
      largestBatch = Math.max(largestBatch, batch.length);
    }
    assert.equal(rows, 40_000);
    assert.equal(largestBatch, 100);
    // Reading the whole file first would hold it (15+ MB as a string, twice that as UTF-16) before the
    // first batch; streaming holds one 64 KiB chunk and one batch.
    assert.ok(grewAtFirstBatch < size / 4, `memory grew ${grewAtFirstBatch} bytes before the first batch`);
  });

  test('an over-long corrupt line is skipped, not buffered', async () => {
    const file = join(dir, 'corrupt.jsonl');
    await appendFile(file, `${'z'.repeat(3 * 1024 * 1024)}\n{"n":1}\n`);
    const rows: unknown[] = [];
    for await (const batch of readBatches(file, 10)) rows.push(...batch);
    assert.deepEqual(rows, [{ n: 1 }]);
  });
});
