/**
 * Loads the labelled paraphrase sets of `../shared/data/semantic/` (read in place, never copied into the repo)
 * and splits QQP deterministically by a hash of the pair.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface Pair {
  a: string;
  b: string;
  /** true = same meaning (a cache may answer one with the other). */
  same: boolean;
}

export interface MockPair {
  origin: string;
  similar: string;
}

/** STS-B scores are 0–5; a pair counts as "same" at or above this score (4 = "mostly equivalent"). */
export const STSB_SAME_CUTOFF = 4;

function pairHash(a: string, b: string): Buffer {
  return createHash('sha256').update(a).update('\u0000').update(b).digest();
}

/** Reads one file out of a (gzipped) ustar archive. */
function readTarMember(archive: Buffer, suffix: string): string {
  let offset = 0;
  while (offset + 512 <= archive.length) {
    const header = archive.subarray(offset, offset + 512);
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    if (name === '') break;
    const size = Number.parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim(), 8);
    const start = offset + 512;
    if (name.endsWith(suffix)) return archive.subarray(start, start + size).toString('utf8');
    offset = start + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${suffix} not found in archive`);
}

export interface QqpSplit {
  tuning: Pair[];
  heldOut: Pair[];
  totalPairs: number;
}

/**
 * QQP split by the first byte of SHA-256(text_a NUL text_b): even → tuning, odd → held-out. Within each half the
 * pairs are ordered by that hash and the first `perHalf` are taken, so the sample is fixed and reproducible.
 */
export function loadQqp(dataDir: string, perHalf: number): QqpSplit {
  const archive = gunzipSync(readFileSync(join(dataDir, 'gptcache_similiar_qqp_full.json.gz')));
  const rows = JSON.parse(readTarMember(archive, 'similiar_qqp_full.json')) as {
    text_a: string;
    text_b: string;
    label: number;
  }[];
  const hashed = rows
    .filter((r) => typeof r.text_a === 'string' && typeof r.text_b === 'string' && r.text_a && r.text_b)
    .map((r) => ({
      pair: { a: r.text_a, b: r.text_b, same: r.label === 1 },
      h: pairHash(r.text_a, r.text_b),
    }))
    .sort((x, y) => Buffer.compare(x.h, y.h));
  const tuning: Pair[] = [];
  const heldOut: Pair[] = [];
  for (const { pair, h } of hashed) {
    const half = h[0]! % 2 === 0 ? tuning : heldOut;
    if (half.length < perHalf) half.push(pair);
  }
  return { tuning, heldOut, totalPairs: rows.length };
}

/** STS-B test set, binarised at `STSB_SAME_CUTOFF`. */
export function loadStsb(dataDir: string): Pair[] {
  const out: Pair[] = [];
  for (const line of readFileSync(join(dataDir, 'stsb_sts-test.csv'), 'utf8').split('\n')) {
    const f = line.split('\t');
    if (f.length < 7) continue;
    const score = Number(f[4]);
    if (!Number.isFinite(score)) continue;
    out.push({ a: f[5]!.trim(), b: f[6]!.trim(), same: score >= STSB_SAME_CUTOFF });
  }
  return out;
}

/** MSR Paraphrase Corpus test set (Quality 1 = paraphrase). */
export function loadMrpc(dataDir: string): Pair[] {
  const text = readFileSync(join(dataDir, 'msrp_test.tsv'), 'utf8').replace(/^\uFEFF/, '');
  const out: Pair[] = [];
  for (const line of text.split(/\r?\n/).slice(1)) {
    const f = line.split('\t');
    if (f.length < 5 || (f[0] !== '0' && f[0] !== '1')) continue;
    out.push({ a: f[3]!.trim(), b: f[4]!.trim(), same: f[0] === '1' });
  }
  return out;
}

/** The GPTCache cache-simulation set: 999 (origin, similar) paraphrase pairs. */
export function loadMock(dataDir: string): MockPair[] {
  const rows = JSON.parse(readFileSync(join(dataDir, 'gptcache_mock_data.json'), 'utf8')) as MockPair[];
  return rows.filter((r) => typeof r.origin === 'string' && typeof r.similar === 'string');
}

/** STS-B training set, binarised at `STSB_SAME_CUTOFF` (tuning data for the verifier). */
export function loadStsbTrain(dataDir: string): Pair[] {
  const out: Pair[] = [];
  for (const line of readFileSync(join(dataDir, 'stsb_sts-train.csv'), 'utf8').split('\n')) {
    const f = line.split('\t');
    if (f.length < 7) continue;
    const score = Number(f[4]);
    if (!Number.isFinite(score)) continue;
    out.push({ a: f[5]!.trim(), b: f[6]!.trim(), same: score >= STSB_SAME_CUTOFF });
  }
  return out;
}

/** MSR Paraphrase Corpus training set (tuning data for the verifier). */
export function loadMrpcTrain(dataDir: string): Pair[] {
  const text = readFileSync(join(dataDir, 'msrp_train.tsv'), 'utf8').replace(/^\uFEFF/, '');
  const out: Pair[] = [];
  for (const line of text.split(/\r?\n/).slice(1)) {
    const f = line.split('\t');
    if (f.length < 5 || (f[0] !== '0' && f[0] !== '1')) continue;
    out.push({ a: f[3]!.trim(), b: f[4]!.trim(), same: f[0] === '1' });
  }
  return out;
}

/** Which part of a tuning half a pair serves: fitting the model (60 %) or calibrating its threshold (40 %). */
export function tuningRole(p: Pair): 'fit' | 'calibration' {
  return pairHash(p.a, p.b)[1]! % 10 < 6 ? 'fit' : 'calibration';
}

/** A fit pair's cross-fitting fold (0 … folds − 1), by another byte of the same hash. */
export function pairFold(p: Pair, folds: number): number {
  return pairHash(p.a, p.b)[2]! % folds;
}
