import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadMock, loadMrpc, loadQqp, loadStsb, STSB_SAME_CUTOFF } from '../../scripts/eval-semantic/data.js';
import { prepareSimulation, scorePairs, simulateCache } from '../../scripts/eval-semantic/evaluate.js';
import { SECTION_HEADING, writeSection } from '../../scripts/eval-semantic/report.js';
import { l2Normalise } from '../../src/cache/semantic/embedders.js';
import { createMatchGuard } from '../../src/cache/semantic/guards.js';

/*
 * A tiny data set in the layouts of the real files (README of the data folder), written to a temp dir, so the
 * loaders are exercised without the public data sets (which live outside the repository):
 * - gptcache_similiar_qqp_full.json.gz: a gzipped ustar archive (despite the name) holding
 *   examples/benchmark/similiar_qqp_full.json, a JSON array of {text_a, text_b, label};
 * - stsb_sts-test.csv: tab-separated genre, file, year, id, score (0–5), s1, s2 (some lines carry extra columns);
 * - msrp_test.tsv: UTF-8 BOM, CRLF, a header line, then Quality (0/1), id1, id2, s1, s2;
 * - gptcache_mock_data.json: a JSON array of {origin, similar}.
 */
const TOPICS = ['password', 'invoice', 'refund', 'subscription', 'delivery', 'account', 'warranty', 'login'];
const QQP_ROWS: { text_a: string; text_b: string; label: number }[] = [
  ...TOPICS.flatMap((topic, i) => [
    { text_a: `How do I change my ${topic}?`, text_b: `How can I change my ${topic}?`, label: 1 },
    { text_a: `Where is my ${topic}?`, text_b: `Why was my ${topic} cancelled?`, label: 0 },
    { text_a: `What is a ${topic} number ${i}?`, text_b: `What does ${topic} number ${i} mean?`, label: 1 },
    { text_a: `Can I get a ${topic} today?`, text_b: `Can I get a ${topic} next year?`, label: 0 },
  ]),
  // Malformed rows: skipped by the loader, still counted in totalPairs.
  { text_a: '', text_b: 'An empty question?', label: 1 },
  { text_a: 'A missing partner?', text_b: null as unknown as string, label: 0 },
];

function pairHash(a: string, b: string): Buffer {
  return createHash('sha256').update(a).update('\u0000').update(b).digest();
}

/** A POSIX ustar archive (512-byte header per member, content padded to 512, two zero blocks at the end). */
function ustar(members: { name: string; content: Buffer }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const { name, content } of members) {
    const header = Buffer.alloc(512);
    const field = (offset: number, length: number, value: string) =>
      header.write(value, offset, length, 'ascii');
    const octal = (n: number, digits: number) => `${n.toString(8).padStart(digits, '0')}\0`;
    field(0, 100, name);
    field(100, 8, octal(0o644, 7));
    field(108, 8, octal(0, 7));
    field(116, 8, octal(0, 7));
    field(124, 12, octal(content.length, 11));
    field(136, 12, octal(1_681_020_900, 11));
    field(148, 8, '        '); // checksum counted as spaces
    field(156, 1, '0');
    field(257, 6, 'ustar\0');
    field(263, 2, '00');
    const sum = header.reduce((s, byte) => s + byte, 0);
    field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(header, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function writeDataSet(): string {
  const dir = mkdtempSync(join(tmpdir(), 'eval-data-'));
  const qqp = Buffer.from(JSON.stringify(QQP_ROWS, null, 4));
  // A member before the one the loader wants, with a size that is not a multiple of 512.
  const other = Buffer.from('not the data set\n'.repeat(40));
  writeFileSync(
    join(dir, 'gptcache_similiar_qqp_full.json.gz'),
    gzipSync(
      ustar([
        { name: 'examples/benchmark/README.txt', content: other },
        { name: 'examples/benchmark/similiar_qqp_full.json', content: qqp },
      ]),
    ),
  );
  writeFileSync(
    join(dir, 'stsb_sts-test.csv'),
    [
      'main-captions\tMSRvid\t2012test\t0001\t5.000\tA man is playing a guitar.\tA man plays the guitar.',
      'main-captions\tMSRvid\t2012test\t0002\t4.000\tA cat is sleeping on a sofa. \tA cat sleeps on the couch.',
      'main-captions\tMSRvid\t2012test\t0003\t3.800\tA woman is slicing an onion.\tA woman is cutting an onion.',
      'main-news\theadlines\t2015\t0004\t0.200\tPrices rose in March.\tThe team won on Sunday.',
      'main-forums\tanswer-answer\t2016\t0005\t3\tIt depends on the school.\tIt really depends on the school.\tSource',
      'main-news\theadlines\t2015\t0006\tn/a\tNo score here.\tSo this line is skipped.',
      'a line with too few fields',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'msrp_test.tsv'),
    `\uFEFF${[
      'Quality\t#1 ID\t#2 ID\t#1 String\t#2 String',
      '1\t101\t102\tThe company said profits rose.\tProfits rose, the company said.',
      '0\t103\t104\tShares fell 3 percent on Monday.\tThe board met on Monday.',
      'x\t105\t106\tA bad quality flag.\tThis line is skipped.',
      '1\t107\t108\tHe will report to the chief executive.\tHe reports directly to the CEO. ',
      '',
    ].join('\r\n')}`,
  );
  writeFileSync(
    join(dir, 'gptcache_mock_data.json'),
    JSON.stringify([
      { origin: 'how do I reset my password', similar: 'I forgot my password, how can I reset it' },
      { origin: 'what is the capital of France', similar: 'which city is the capital of France' },
      { origin: 'a row without its paraphrase' },
    ]),
  );
  return dir;
}

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

  test('the QQP split is deterministic, hash-ordered and disjoint; STS-B, MRPC and the mock set parse', () => {
    const dir = writeDataSet();
    try {
      const a = loadQqp(dir, 8);
      const b = loadQqp(dir, 8);
      assert.deepEqual(a, b);
      assert.equal(a.totalPairs, QQP_ROWS.length); // every row counts, the malformed ones included
      assert.equal(a.tuning.length, 8);
      assert.equal(a.heldOut.length, 8);
      // Even first hash byte → tuning, odd → held-out; each half in hash order, the first `perHalf` taken.
      const valid = QQP_ROWS.filter((r) => typeof r.text_a === 'string' && typeof r.text_b === 'string')
        .filter((r) => r.text_a !== '' && r.text_b !== '')
        .map((r) => ({
          pair: { a: r.text_a, b: r.text_b, same: r.label === 1 },
          h: pairHash(r.text_a, r.text_b),
        }))
        .sort((x, y) => Buffer.compare(x.h, y.h));
      const even = valid.filter((r) => r.h[0]! % 2 === 0).map((r) => r.pair);
      const odd = valid.filter((r) => r.h[0]! % 2 === 1).map((r) => r.pair);
      assert.deepEqual(a.tuning, even.slice(0, 8));
      assert.deepEqual(a.heldOut, odd.slice(0, 8));
      const key = (p: { a: string; b: string }) => `${p.a}\u0000${p.b}`;
      const tuning = new Set(a.tuning.map(key));
      assert.ok(a.heldOut.every((p) => !tuning.has(key(p))));
      assert.ok(a.tuning.some((p) => p.same) && a.tuning.some((p) => !p.same));
      // Asking for more than a half holds returns the whole half.
      const all = loadQqp(dir, 1000);
      assert.deepEqual(all.tuning, even);
      assert.deepEqual(all.heldOut, odd);

      assert.deepEqual(loadStsb(dir), [
        { a: 'A man is playing a guitar.', b: 'A man plays the guitar.', same: true },
        { a: 'A cat is sleeping on a sofa.', b: 'A cat sleeps on the couch.', same: true }, // 4.0 = the cutoff
        { a: 'A woman is slicing an onion.', b: 'A woman is cutting an onion.', same: false }, // 3.8
        { a: 'Prices rose in March.', b: 'The team won on Sunday.', same: false },
        { a: 'It depends on the school.', b: 'It really depends on the school.', same: false }, // extra column
      ]);
      assert.equal(STSB_SAME_CUTOFF, 4);

      assert.deepEqual(loadMrpc(dir), [
        { a: 'The company said profits rose.', b: 'Profits rose, the company said.', same: true },
        { a: 'Shares fell 3 percent on Monday.', b: 'The board met on Monday.', same: false },
        { a: 'He will report to the chief executive.', b: 'He reports directly to the CEO.', same: true },
      ]);

      assert.deepEqual(loadMock(dir), [
        { origin: 'how do I reset my password', similar: 'I forgot my password, how can I reset it' },
        { origin: 'what is the capital of France', similar: 'which city is the capital of France' },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
