import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { loadMrpc, loadQqp, loadStsb } from '../../scripts/eval-semantic/data.js';
import { prepareSimulation, scorePairs, simulateCache } from '../../scripts/eval-semantic/evaluate.js';
import { SECTION_HEADING, writeSection } from '../../scripts/eval-semantic/report.js';
import { l2Normalise } from '../../src/cache/semantic/embedders.js';
import { createMatchGuard } from '../../src/cache/semantic/guards.js';

const DATA = resolve(import.meta.dirname, '../../../shared/data/semantic');

/** Texts placed on a circle: cosine between two texts = cos(angle difference). */
function circle(angles: Record<string, number>) {
  return (text: string) => {
    const a = angles[text];
    if (a === undefined) throw new Error(`no vector for ${text}`);
    return l2Normalise(Float32Array.from([Math.cos(a), Math.sin(a)]));
  };
}

describe('semantic evaluation (smoke)', () => {
  test('pair scores count hits on duplicates and false hits on non-duplicates', () => {
    const vec = circle({ q1: 0, q1b: 0.1, q2: 1, q2b: 1.05, q3: 2, q3b: 3 });
    const guard = createMatchGuard({ threshold: 0.99, rules: [] }); // cos(0.1) ≈ 0.995, cos(0.05) ≈ 0.999
    const s = scorePairs(
      [
        { a: 'q1', b: 'q1b', same: true },
        { a: 'q2', b: 'q2b', same: false },
        { a: 'q3', b: 'q3b', same: true },
      ],
      vec,
      guard,
    );
    assert.deepEqual(
      { tp: s.tp, fp: s.fp, recall: s.recall, falseHitRate: s.falseHitRate, precision: s.precision },
      { tp: 1, fp: 1, recall: 0.5, falseHitRate: 1, precision: 0.5 },
    );
  });

  test('the cache simulation tells right entries, wrong entries and distractor hits apart', () => {
    const vec = circle({ o1: 0, s1: 0.05, o2: 1, s2: 0.02, o3: 2, s3: 2.5, d1: 1.01, d2: 3 });
    const guard = createMatchGuard({ threshold: 0.99, rules: [] });
    const prepared = prepareSimulation(
      [
        { origin: 'o1', similar: 's1' }, // right entry
        { origin: 'o2', similar: 's2' }, // nearest is o1: wrong entry
        { origin: 'o3', similar: 's3' }, // too far: miss
      ],
      ['d1', 'd2'], // d1 sits on o2: a distractor hit
      vec,
      0.5,
    );
    const sim = simulateCache(prepared, guard);
    assert.equal(sim.hitRate, 1 / 3);
    assert.equal(sim.wrongHitRate, 1 / 3);
    assert.equal(sim.distractorHitRate, 1 / 2);
    assert.equal(sim.precision, 1 / 3);
  });

  test('the docs section is replaced in place, the rest of docs/caching.md is kept', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'eval-doc-')), 'caching.md');
    writeSection(file, `${SECTION_HEADING}\n\nfirst\n`);
    assert.equal(readFileSync(file, 'utf8'), `${SECTION_HEADING}\n\nfirst\n`);
    writeFileSync(file, `# Caching\n\n## Keys\n\nkeys\n\n${SECTION_HEADING}\n\nold\n\n## Sizing\n\nsizing\n`);
    writeSection(file, `${SECTION_HEADING}\n\nnew\n`);
    assert.equal(
      readFileSync(file, 'utf8'),
      `# Caching\n\n## Keys\n\nkeys\n\n${SECTION_HEADING}\n\nnew\n\n## Sizing\n\nsizing\n`,
    );
  });

  test('the QQP split is deterministic and its halves are disjoint; STS-B and MRPC parse', (t) => {
    if (!existsSync(DATA)) {
      t.skip(`data not found at ${DATA}`);
      return;
    }
    const a = loadQqp(DATA, 200);
    const b = loadQqp(DATA, 200);
    assert.deepEqual(a.tuning, b.tuning);
    assert.equal(a.tuning.length, 200);
    assert.equal(a.heldOut.length, 200);
    const key = (p: { a: string; b: string }) => `${p.a}\u0000${p.b}`;
    const tuning = new Set(a.tuning.map(key));
    assert.ok(a.heldOut.every((p) => !tuning.has(key(p))));
    const stsb = loadStsb(DATA);
    const mrpc = loadMrpc(DATA);
    assert.equal(stsb.length, 1379);
    assert.equal(mrpc.length, 1725);
    assert.ok(stsb.some((p) => p.same) && stsb.some((p) => !p.same));
  });
});
