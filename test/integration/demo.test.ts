/**
 * `llm-gateway demo`: with no provider key at all, the gateway answers every chat model of the default
 * catalogue through the simulated upstream (JSON and streams, every wire format), the seeded keys work and
 * are printed on lines of their own, and usage is recorded with a cost.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { type Demo, demoEnv, demoModels, startDemo } from '../../src/demo/run.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { freePort, startProcess } from '../helpers/process.js';

describe('llm-gateway demo', () => {
  let demo: Demo;
  const logs: string[] = [];

  before(async () => {
    demo = await startDemo({
      // No provider key, and a real-looking one must not leak to the simulator or anywhere.
      env: { PORT: '0', OPENAI_API_KEY: 'sk-real-SECRET', OPENAI_BASE_URL: 'https://api.openai.com/v1' },
      clock: fakeClock({ seed: 7 }),
      traffic: false,
      latencyScale: 0,
      failureRate: 0,
      logDestination: new Writable({
        write(chunk: Buffer, _enc, cb) {
          logs.push(chunk.toString('utf8'));
          cb();
        },
      }),
    });
  });
  after(async () => {
    await demo?.close();
  });

  test('the banner says it is a demo and prints the URLs and both keys on lines of their own', () => {
    assert.match(demo.banner, /DEMO MODE/);
    assert.match(demo.banner, new RegExp(`^API key: ${demo.apiKey}$`, 'm'));
    assert.match(demo.banner, new RegExp(`^Admin key: ${demo.adminKey}$`, 'm'));
    assert.match(demo.apiKey, /^sk-gw-/);
    assert.ok(demo.banner.includes(`${demo.url}/console`));
    assert.match(demo.banner, /curl .*\/v1\/chat\/completions/);
  });

  test('a chat completion is answered with no provider key (OpenAI SDK), with a cost', async () => {
    const client = new OpenAI({ baseURL: `${demo.url}/v1`, apiKey: demo.apiKey });
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello there' }] })
      .withResponse();
    assert.match(
      data.choices[0]?.message.content ?? '',
      /^\(Simulated answer from gpt-4o-mini to “Hello there”\.\)/,
    );
    assert.ok((data.usage?.completion_tokens ?? 0) > 0);
    assert.ok(Number(response.headers.get('x-cost')) > 0);
  });

  test('every chat model of the catalogue answers, as JSON and as a stream', async () => {
    const { chat } = demoModels();
    assert.ok(chat.length >= 20);
    const client = new OpenAI({ baseURL: `${demo.url}/v1`, apiKey: demo.apiKey });
    for (const model of chat) {
      const answer = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Hi' }],
      });
      assert.match(answer.choices[0]?.message.content ?? '', /Simulated answer/, model);
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Stream please' }],
        stream: true,
      });
      let text = '';
      let chunks = 0;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        chunks++;
      }
      assert.match(text, /Simulated answer/, model);
      assert.ok(chunks > 3, `${model}: ${chunks} chunks`);
    }
  });

  test('embeddings, the Messages API and the Responses API answer too', async () => {
    const client = new OpenAI({ baseURL: `${demo.url}/v1`, apiKey: demo.apiKey });
    for (const model of demoModels().embeddings) {
      const e = await client.embeddings.create({ model, input: 'hello' });
      assert.ok((e.data[0]?.embedding.length ?? 0) > 0, model);
    }
    const messages = await fetch(`${demo.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': demo.apiKey,
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
      },
      body: JSON.stringify({
        model: 'claude-haiku-4-5',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    });
    assert.equal(messages.status, 200);
    const m = (await messages.json()) as { content: Array<{ text: string }> };
    assert.match(m.content[0]?.text ?? '', /Simulated answer from claude-haiku-4-5/);
    const response = await client.responses.create({ model: 'gpt-4o-mini', input: 'Hi' });
    assert.match(response.output_text, /Simulated answer from gpt-4o-mini/);
  });

  test('the admin key works, and the usage is recorded', async () => {
    const stats = await fetch(`${demo.url}/admin/costs/summary`, {
      headers: { authorization: `Bearer ${demo.adminKey}` },
    });
    assert.equal(stats.status, 200);
    // The recorder writes in batches: poll the request log until the first request is there.
    let total = 0;
    for (let i = 0; i < 100 && total === 0; i++) {
      const res = await fetch(`${demo.url}/admin/requests?limit=1`, {
        headers: { authorization: `Bearer ${demo.adminKey}` },
      });
      total = ((await res.json()) as { data: unknown[] }).data.length;
      if (total === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(total, 1);
    assert.ok(!logs.join('').includes('sk-real-SECRET'));
  });

  test('demoEnv points every catalogue provider at the simulator and drops real endpoints', () => {
    const env = demoEnv(
      { OPENAI_API_KEY: 'sk-real', DATABASE_URL: 'postgres://prod', REDIS_URL: 'redis://prod', PORT: '9000' },
      'http://127.0.0.1:1234',
    );
    assert.equal(env.OPENAI_BASE_URL, 'http://127.0.0.1:1234/v1');
    assert.notEqual(env.OPENAI_API_KEY, 'sk-real');
    assert.equal(env.DATABASE_URL, undefined);
    assert.equal(env.REDIS_URL, undefined);
    assert.equal(env.PORT, '9000');
    assert.equal(env.HOST, '127.0.0.1');
    assert.equal(env.GATEWAY_DATA_DIR, 'memory://');
  });

  test('`llm-gateway demo` (the command npm run demo runs) starts on PORT, answers, and stops on SIGTERM', async () => {
    const port = await freePort();
    const proc = startProcess({ PORT: String(port), DEMO_TRAFFIC: '0' }, ['demo']);
    try {
      await proc.waitForLog((l) => /^Admin key: /.test(String(l.msg)), 60_000);
      const out = proc.stdout();
      assert.match(out, new RegExp(`Console: +http://127\\.0\\.0\\.1:${port}/console`));
      const apiKey = /^API key: (sk-gw-\S+)$/m.exec(out)?.[1] ?? '';
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }] }),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
      assert.match(body.choices[0]?.message.content ?? '', /Simulated answer from gemini-2.5-flash/);
    } finally {
      proc.child.kill('SIGTERM');
    }
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
  });
});
