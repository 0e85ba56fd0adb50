/**
 * Helpers for the cache tests: a gateway started with injected cache parts, a clock the test moves by
 * hand, and a deterministic TEST DOUBLE of the semantic embedder (bag of words hashed into a vector — it
 * knows nothing of meaning; the real embedders are tested with the real model).
 */
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Embedder, MatchGuard } from '../../src/cache/semantic/types.js';
import { loadConfig } from '../../src/config/load.js';
import type { Clock } from '../../src/core/clock.js';
import { createGateway, type GatewayOptions } from '../../src/gateway.js';
import type { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { mockEnv, type TestGateway } from './gateway.js';

export interface CacheGatewayOptions {
  mock: MockUpstream;
  env?: Record<string, string | undefined>;
  yaml?: string;
  clock?: Clock;
  cache?: GatewayOptions['cache'];
}

/** Like `startGateway`, with cache parts injected (`cache`). */
export async function startCacheGateway(options: CacheGatewayOptions): Promise<TestGateway> {
  // An admin key turns key auth on by default; the cache tests call without gateway keys.
  const env = { ...mockEnv(options.mock), GATEWAY_ADMIN_KEY: ADMIN_KEY, AUTH_MODE: 'none', ...options.env };
  const config = loadConfig({ env, yamlText: options.yaml });
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
      cb();
    },
  });
  const gateway = await createGateway({
    config,
    env,
    logDestination: destination,
    clock: options.clock,
    cache: options.cache,
  });
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = gateway.app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, gateway, logs, close: () => gateway.close(2000) };
}

export const ADMIN_KEY = 'admin-SECRET-cache-0123456789';
export const adminHeaders = { authorization: `Bearer ${ADMIN_KEY}` };

/**
 * TEST DOUBLE: hashes lower-cased words into `dimensions` buckets and L2-normalises. Same words → score 1;
 * each differing word lowers the score. `calls` counts embedded texts; `fail` makes it reject, `delayMs`
 * makes it slow.
 */
export function wordEmbedder(dimensions = 256): Embedder & {
  calls: number;
  fail: boolean;
  delayMs: number;
} {
  const double = {
    id: 'test:bag-of-words',
    dimensions,
    calls: 0,
    fail: false,
    delayMs: 0,
    async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
      double.calls += texts.length;
      if (double.delayMs > 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, double.delayMs);
          signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        });
      }
      if (double.fail) throw new Error('embedder down (test)');
      return texts.map((text) => {
        const v = new Float32Array(dimensions);
        for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
          let h = 2166136261;
          for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619);
          const i = (h >>> 0) % dimensions;
          v[i] = (v[i] as number) + 1;
        }
        const norm = Math.hypot(...v) || 1;
        for (let i = 0; i < dimensions; i++) v[i] = (v[i] as number) / norm;
        return v;
      });
    },
  };
  return double;
}

/** TEST DOUBLE guard: accepts everything at or above the threshold. */
export function thresholdGuard(threshold = 0.9): MatchGuard {
  return { threshold, accept: (_q, _c, score) => score >= threshold };
}

export const deterministic = (text: string, extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o-mini',
  temperature: 0,
  messages: [{ role: 'user', content: text }],
  ...extra,
});
