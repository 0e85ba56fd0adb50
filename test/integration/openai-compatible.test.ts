/**
 * The openai adapter's variants through the real gateway: Azure OpenAI (deployment URL, api-version,
 * `api-key` header), another OpenAI-compatible provider addressed as `provider/model`, a keyless local
 * server, and a provider defined only in config with its own headers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { postJson, readSseData, useGateway, userMessage } from '../helpers/gateway.js';

describe('OpenAI-compatible providers', () => {
  const t = useGateway((mock) => ({
    env: {
      AZURE_OPENAI_API_KEY: 'azure-key-0123456789',
      AZURE_OPENAI_ENDPOINT: mock.url,
      GROQ_API_KEY: 'gsk-0123456789',
      GROQ_BASE_URL: `${mock.url}/openai/v1`,
      OLLAMA_BASE_URL: `${mock.url}/ollama/v1`,
      CORP_KEY: 'corp-0123456789',
    },
    yaml: `
providers:
  corp:
    type: openai
    base_url: ${mock.url}/corp/v1
    api_key_env: CORP_KEY
    headers: { X-Team: search }
    models: [big-model]
`,
  }));

  const sentBody = () => (t.mock.requests[0]?.body ?? {}) as { model?: string; stream_options?: unknown };
  const chat = (model: string, extra: Record<string, unknown> = {}) =>
    postJson(t.chatUrl, { model, messages: userMessage(), ...extra });

  test('Azure: deployment URL with api-version, api-key header, no bearer token', async () => {
    const res = await chat('azure/my-gpt4o-deployment');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-provider'), 'azure');
    const seen = t.mock.requests[0];
    assert.equal(
      seen?.path,
      '/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21',
    );
    assert.equal(seen?.headers['api-key'], 'azure-key-0123456789');
    assert.equal(seen?.headers.authorization, undefined);
  });

  test('Azure streams too, with usage requested upstream and [DONE] at the end', async () => {
    const res = await chat('azure/my-gpt4o-deployment', { stream: true });
    assert.equal((await readSseData(res.response)).at(-1), '[DONE]');
    assert.deepEqual(sentBody().stream_options, {
      include_usage: true,
    });
  });

  test('groq/<model>: the provider prefix is stripped, its own key and base URL are used', async () => {
    const res = await chat('groq/llama-3.1-8b-instant');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-provider'), 'groq');
    assert.equal(t.mock.requests[0]?.path, '/openai/v1/chat/completions');
    assert.equal(t.mock.requests[0]?.headers.authorization, 'Bearer gsk-0123456789');
    assert.equal(sentBody().model, 'llama-3.1-8b-instant');
  });

  test('a keyless local server (OLLAMA_BASE_URL) gets no Authorization header', async () => {
    const res = await chat('ollama/qwen2.5:7b');
    assert.equal(res.status, 200);
    assert.equal(t.mock.requests[0]?.path, '/ollama/v1/chat/completions');
    assert.equal(t.mock.requests[0]?.headers.authorization, undefined);
    assert.equal(sentBody().model, 'qwen2.5:7b');
  });

  test('a provider defined in config: its headers are sent and its models are listed', async () => {
    const res = await chat('corp/big-model');
    assert.equal(res.status, 200);
    assert.equal(t.mock.requests[0]?.path, '/corp/v1/chat/completions');
    assert.equal(t.mock.requests[0]?.headers['x-team'], 'search');
    assert.equal(t.mock.requests[0]?.headers.authorization, 'Bearer corp-0123456789');
    const models = (await (await fetch(`${t.gw.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    assert.ok(models.data.some((m) => m.id === 'corp/big-model'));
  });
});
