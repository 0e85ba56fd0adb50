/**
 * Exact-cache hit latency inside the gateway: sequential hits against a gateway on loopback (memory
 * backend, then Redis when REDIS_URL answers), reading the gateway's own `Server-Timing` total (arrival to
 * response, no client or network time) and the `cache` stage (the lookup). Prints p50/p99 in ms.
 *
 *   npx tsx bench/cache-hit.ts [requests=2000]
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config/load.js';
import { createGateway } from '../src/gateway.js';
import { MockUpstream } from '../test/fixtures/mock-upstream/server.js';
import { mockEnv } from '../test/helpers/gateway.js';

const N = Number(process.argv[2] ?? 2000);
const body = JSON.stringify({
  model: 'gpt-4o-mini',
  temperature: 0,
  messages: [{ role: 'user', content: 'bench the cache' }],
});

function pct(values: number[], p: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0).toFixed(3);
}

async function run(label: string, env: Record<string, string>): Promise<void> {
  const mock = await MockUpstream.start();
  const fullEnv = { ...mockEnv(mock), LOG_LEVEL: 'warn', ...env };
  const gateway = await createGateway({
    config: loadConfig({ env: fullEnv }),
    env: fullEnv,
    logDestination: new Writable({ write: (_c, _e, cb) => cb() }),
  });
  const url = `${await gateway.app.listen({ host: '127.0.0.1', port: 0 })}/v1/chat/completions`;
  // 60 s TTL on what this writes: the bench leaves nothing behind for long.
  const post = () =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cache-ttl': '60' },
      body,
    });
  // The first answer is stored just after its response.
  await (await post()).text();
  for (let tries = 0; ; tries++) {
    const res = await post();
    await res.arrayBuffer();
    if (res.headers.get('x-cache-status') === 'HIT') break;
    if (tries > 100) throw new Error('the first answer was never stored');
    await new Promise((r) => setTimeout(r, 20));
  }
  const totals: number[] = [];
  const lookups: number[] = [];
  for (let i = 0; i < N + 200; i++) {
    const res = await post();
    await res.arrayBuffer();
    if (res.headers.get('x-cache-status') !== 'HIT') throw new Error('expected a hit');
    const timing = res.headers.get('server-timing') ?? '';
    if (i < 200) continue; // warm-up
    totals.push(Number(/total;dur=([\d.]+)/.exec(timing)?.[1]));
    lookups.push(Number(/cache;dur=([\d.]+)/.exec(timing)?.[1]));
  }
  console.log(
    `${label}: ${N} hits — total p50 ${pct(totals, 50)} ms, p99 ${pct(totals, 99)} ms; lookup p50 ${pct(lookups, 50)} ms, p99 ${pct(lookups, 99)} ms`,
  );
  await gateway.close(1000);
  await mock.close();
}

await run('memory', {});
if (process.env.REDIS_URL) {
  await run('redis', {
    REDIS_URL: process.env.REDIS_URL,
    REDIS_KEY_PREFIX: `bench:${randomBytes(4).toString('hex')}:`,
  });
}
