/**
 * Reads the project's LLM-style prompt pairs (test/fixtures/semantic/llm-pairs.jsonl, written by
 * llm-pairs.ts).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Pair } from './data.js';
import type { LlmPair } from './llm-pairs.js';

export const LLM_PAIRS_FILE = resolve(import.meta.dirname, '../../test/fixtures/semantic/llm-pairs.jsonl');

export type LabelledLlmPair = Pair & Pick<LlmPair, 'kind' | 'family' | 'split'>;

export function loadLlmPairs(file = LLM_PAIRS_FILE): LabelledLlmPair[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LlmPair);
}
