import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  deterministicVector,
  geminiEmbeddingsAnswer,
} from '../../../test/fixtures/mock-upstream/gemini-embeddings.js';
import { BadRequestError, ProviderUnavailableError, RateLimitError } from '../../core/errors.js';
import type { EmbeddingRequest } from '../types.js';
import {
  type BatchEmbedSender,
  EMBED_CONCURRENCY,
  embedWithGemini,
  float32Base64,
  type GeminiBatchEmbedBody,
  MAX_EMBEDDING_INPUTS,
  readBatchEmbedResponse,
  toGeminiEmbedBatches,
} from './embeddings.js';

const MODEL = 'gemini-embedding-001';

/** A sender that records every body and answers with the mock upstream's vectors (or `answer`). */
function recorder(answer: (body: GeminiBatchEmbedBody) => unknown = geminiEmbeddingsAnswer) {
  const bodies: GeminiBatchEmbedBody[] = [];
  const send: BatchEmbedSender = async (body) => {
    bodies.push(structuredClone(body));
    return { json: answer(body), status: 200 };
  };
  return { bodies, send };
}

function embed(
  req: Partial<EmbeddingRequest>,
  send: BatchEmbedSender,
  signal = new AbortController().signal,
) {
  return embedWithGemini({ model: 'alias', input: 'x', ...req } as EmbeddingRequest, {
    model: MODEL,
    provider: 'gemini',
    signal,
    send,
  });
}

const request = (text: string, extra: Record<string, unknown> = {}) => ({
  model: `models/${MODEL}`,
  content: { parts: [{ text }] },
  ...extra,
});

/** What an OpenAI client does with a base64 embedding: a Float32Array over the decoded bytes. */
function decodeFloat32(b64: string): number[] {
  const bytes = Buffer.from(b64, 'base64');
  // Copy: Buffer.from may return a slice of a shared pool at an offset not aligned to 4.
  const aligned = new Uint8Array(bytes).buffer;
  return Array.from(new Float32Array(aligned));
}

function assertBadRequest(err: unknown, param: string, code: string): true {
  assert.ok(err instanceof BadRequestError, `expected BadRequestError, got ${String(err)}`);
  assert.equal(err.param, param);
  assert.equal(err.code, code);
  assert.equal(err.status, 400);
  return true;
}

test('a single string: one request, one embedding, usage 0 when Gemini reports none', async () => {
  const { bodies, send } = recorder();
  const out = await embed({ input: 'hello world', user: 'u-1', extra_field: true }, send);
  assert.deepStrictEqual(bodies, [{ requests: [request('hello world')] }]);
  assert.deepStrictEqual(out, {
    object: 'list',
    data: [{ object: 'embedding', index: 0, embedding: deterministicVector('hello world', 8) }],
    model: MODEL,
    usage: { prompt_tokens: 0, total_tokens: 0 },
  });
});

test('a batch of strings: one request per string, embeddings in input order', async () => {
  const { bodies, send } = recorder();
  const input = ['alpha', 'beta', 'alpha'];
  const out = await embed({ input }, send);
  assert.deepStrictEqual(bodies, [{ requests: input.map((t) => request(t)) }]);
  assert.deepStrictEqual(
    out.data,
    input.map((t, index) => ({ object: 'embedding', index, embedding: deterministicVector(t, 8) })),
  );
  assert.deepStrictEqual(out.data[0]?.embedding, out.data[2]?.embedding);
  assert.notDeepStrictEqual(out.data[0]?.embedding, out.data[1]?.embedding);
});

test('dimensions becomes outputDimensionality on every request', async () => {
  const { bodies, send } = recorder();
  const out = await embed({ input: ['a', 'b'], dimensions: 3 }, send);
  assert.deepStrictEqual(bodies, [
    { requests: [request('a', { outputDimensionality: 3 }), request('b', { outputDimensionality: 3 })] },
  ]);
  assert.deepStrictEqual(
    out.data.map((d) => d.embedding.length),
    [3, 3],
  );
});

test("encoding_format 'base64': little-endian float32 bytes that decode back to the floats", async () => {
  const { bodies, send } = recorder();
  const out = await embed({ input: ['one', 'two'], encoding_format: 'base64', dimensions: 5 }, send);
  assert.deepStrictEqual(bodies, [
    { requests: [request('one', { outputDimensionality: 5 }), request('two', { outputDimensionality: 5 })] },
  ]);
  for (const [i, text] of ['one', 'two'].entries()) {
    const b64 = out.data[i]?.embedding as unknown as string;
    assert.equal(typeof b64, 'string');
    assert.equal(Buffer.from(b64, 'base64').length, 5 * 4);
    assert.deepStrictEqual(decodeFloat32(b64), deterministicVector(text, 5));
  }
  // Explicitly little-endian, whatever the host: 1.0f is 00 00 80 3f.
  assert.equal(float32Base64([1, -2]), Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]).toString('base64'));
  // Values that are not float32-exact are rounded to the nearest float32, as OpenAI's encoding does.
  assert.deepStrictEqual(decodeFloat32(float32Base64([0.1])), [Math.fround(0.1)]);
});

test("encoding_format 'float' is the default", async () => {
  const { send } = recorder();
  const out = await embed({ input: 'x', encoding_format: 'float' }, send);
  assert.deepStrictEqual(out.data[0]?.embedding, deterministicVector('x', 8));
});

test('token arrays are unsupported_parameter on input; nothing is sent', async () => {
  const { bodies, send } = recorder();
  for (const input of [[1, 2, 3], [[1, 2], [3]], [[]]]) {
    await assert.rejects(embed({ input: input as never }, send), (err) =>
      assertBadRequest(err, 'input', 'unsupported_parameter'),
    );
  }
  assert.equal(bodies.length, 0);
});

test('empty strings, empty arrays and non-string items are invalid input; nothing is sent', async () => {
  const { bodies, send } = recorder();
  for (const input of ['', ['a', ''], [], ['a', 1], [null], 42, undefined]) {
    await assert.rejects(embed({ input: input as never }, send), (err) =>
      assertBadRequest(err, 'input', 'invalid_request'),
    );
  }
  await assert.rejects(embed({ input: ['ok', ''] }, send), /input\[1\]/);
  assert.equal(bodies.length, 0);
});

test('bad dimensions and encoding_format are rejected naming the param', async () => {
  const { bodies, send } = recorder();
  for (const dimensions of [0, -3, 1.5, '256']) {
    await assert.rejects(embed({ dimensions: dimensions as never }, send), (err) =>
      assertBadRequest(err, 'dimensions', 'invalid_request'),
    );
  }
  await assert.rejects(embed({ encoding_format: 'int8' as never }, send), (err) =>
    assertBadRequest(err, 'encoding_format', 'invalid_request'),
  );
  assert.equal(bodies.length, 0);
});

test('more than 100 inputs: split into batches of 100, concatenated in input order', async () => {
  const { bodies, send } = recorder();
  const input = Array.from({ length: 250 }, (_, i) => `text ${i}`);
  const out = await embed({ input, dimensions: 4 }, send);
  assert.deepStrictEqual(
    bodies.map((b) => b.requests.length),
    [100, 100, 50],
  );
  assert.deepStrictEqual(
    bodies.flatMap((b) => b.requests),
    input.map((t) => request(t, { outputDimensionality: 4 })),
  );
  assert.equal(out.data.length, 250);
  for (const [index, item] of out.data.entries()) {
    assert.deepStrictEqual(item, {
      object: 'embedding',
      index,
      embedding: deterministicVector(`text ${index}`, 4),
    });
  }
});

test('batches answered out of order still land in input order', async () => {
  const input = Array.from({ length: 201 }, (_, i) => `t${i}`);
  const delays = [30, 0, 10];
  let call = 0;
  const send: BatchEmbedSender = async (body) => {
    const delay = delays[call++] ?? 0;
    await new Promise((resolve) => setTimeout(resolve, delay));
    return { json: geminiEmbeddingsAnswer(body), status: 200 };
  };
  const out = await embed({ input }, send);
  assert.deepStrictEqual(
    out.data.map((d) => d.embedding),
    input.map((t) => deterministicVector(t, 8)),
  );
});

test(`more than ${MAX_EMBEDDING_INPUTS} inputs are rejected before any call`, async () => {
  const { bodies, send } = recorder();
  const input = Array.from({ length: MAX_EMBEDDING_INPUTS + 1 }, () => 'x');
  await assert.rejects(embed({ input }, send), (err) => assertBadRequest(err, 'input', 'invalid_request'));
  assert.equal(bodies.length, 0);
  // Exactly the limit is fine: 21 calls.
  await embed({ input: input.slice(1) }, send);
  assert.equal(bodies.length, 21);
});

test('usageMetadata.promptTokenCount is used when Gemini reports it, summed over batches', async () => {
  const { send } = recorder((body) => ({
    ...geminiEmbeddingsAnswer(body),
    usageMetadata: { promptTokenCount: body.requests.length * 2 },
  }));
  const out = await embed({ input: Array.from({ length: 150 }, () => 'x') }, send);
  assert.deepStrictEqual(out.usage, { prompt_tokens: 300, total_tokens: 300 });
});

test('a malformed answer is ProviderUnavailableError', async () => {
  const answers: unknown[] = [
    {},
    { embeddings: null },
    'embeddings',
    { embeddings: [] },
    { embeddings: [{ values: [0.1] }, { values: [0.2] }, { values: [0.3] }] },
    { embeddings: [{ values: [0.1] }, {}] },
    { embeddings: [{ values: [0.1] }, { values: [] }] },
    { embeddings: [{ values: [0.1] }, { values: ['0.2'] }] },
  ];
  for (const answer of answers) {
    await assert.rejects(
      embed({ input: ['a', 'b'] }, async () => ({ json: answer, status: 200 })),
      (err: unknown) => {
        assert.ok(err instanceof ProviderUnavailableError, `for ${JSON.stringify(answer)}`);
        assert.equal(err.upstreamStatus, 200);
        assert.equal(err.isRetryable, true);
        return true;
      },
    );
  }
  assert.throws(() => readBatchEmbedResponse({ embeddings: [] }, 1, 'gemini'), /0 embeddings for 1 inputs/);
});

test('a failing batch rejects the call with its error and aborts the batches in flight', async () => {
  const input = Array.from({ length: 500 }, (_, i) => `t${i}`);
  const failure = new RateLimitError('gemini rate limit reached.', 'gemini', { upstreamStatus: 429 });
  const aborted: boolean[] = [];
  let call = 0;
  const send: BatchEmbedSender = async (_body, signal) => {
    const n = call++;
    if (n === 1) throw failure;
    // The others wait until aborted.
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    aborted.push(signal.aborted);
    throw signal.reason;
  };
  await assert.rejects(embed({ input }, send), (err) => err === failure);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(call, EMBED_CONCURRENCY, 'four of the five batches started, none after the failure');
  assert.deepStrictEqual(aborted, [true, true, true]);
});

test('an already aborted call sends nothing and rejects with the abort reason', async () => {
  const { bodies, send } = recorder();
  const controller = new AbortController();
  const reason = new ProviderUnavailableError('gone', 'gemini');
  controller.abort(reason);
  await assert.rejects(embed({ input: 'x' }, send, controller.signal), (err) => err === reason);
  assert.equal(bodies.length, 0);
});

test('toGeminiEmbedBatches is the pure translation', () => {
  assert.deepStrictEqual(toGeminiEmbedBatches({ model: 'alias', input: 'Hi', dimensions: 256 }, MODEL), [
    { requests: [request('Hi', { outputDimensionality: 256 })] },
  ]);
});

test('mock: deterministic unit vectors of the asked length; Gemini-like refusals', () => {
  assert.deepStrictEqual(deterministicVector('same', 16), deterministicVector('same', 16));
  assert.notDeepStrictEqual(deterministicVector('same', 16), deterministicVector('other', 16));
  for (const dims of [1, 8, 33, 768]) {
    const v = deterministicVector('text', dims);
    assert.equal(v.length, dims);
    assert.ok(v.every((x) => x >= -1 && x <= 1 && Math.fround(x) === x));
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-6);
  }
  const answer = geminiEmbeddingsAnswer({
    requests: [request('a'), request('b', { outputDimensionality: 3 })],
  });
  assert.deepStrictEqual(answer, {
    embeddings: [{ values: deterministicVector('a', 8) }, { values: deterministicVector('b', 3) }],
  });
  const many = { requests: Array.from({ length: 101 }, () => request('x')) };
  assert.throws(() => geminiEmbeddingsAnswer(many), /at most 100 requests can be in one batch/);
  assert.throws(() => geminiEmbeddingsAnswer({ requests: [] }), /at least one request/);
  assert.throws(() => geminiEmbeddingsAnswer({ requests: [request('')] }), /must not be empty/);
  assert.throws(
    () => geminiEmbeddingsAnswer({ requests: [{ ...request('x'), model: MODEL }] }),
    /models\/\{model\}/,
  );
});
