/**
 * Malformed requests get a 4xx naming the field, and nothing malformed reaches a provider (DESIGN §5):
 * stored-response ids the database could not hold, the nested fields of the Responses, Messages,
 * Completions and Embeddings APIs, count_tokens bodies that are not JSON and compressed bodies (415).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { postJson, useGateway } from '../helpers/gateway.js';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe('stored-response ids with NUL or a lone surrogate', () => {
  const t = useGateway();

  test('previous_response_id: 422 naming it (not a lookup that fails as a 503 on PostgreSQL)', async () => {
    for (const id of ['resp_\u0000x', 'resp_\ud800']) {
      const res = await postJson(`${t.gw.url}/v1/responses`, {
        model: 'gpt-4o',
        input: 'hi',
        previous_response_id: id,
      });
      const body = (await res.json()) as ErrorBody;
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(body.error.param, 'previous_response_id');
      assert.match(body.error.message, /NUL character or a lone surrogate/);
    }
    assert.equal(t.mock.requests.length, 0);
  });
});

/** POSTs each body and asserts a 4xx naming `param`; the upstream is never called. */
async function refuses(
  t: ReturnType<typeof useGateway>,
  path: string,
  cases: Array<[Record<string, unknown>, string]>,
): Promise<void> {
  for (const [body, param] of cases) {
    const res = await postJson(`${t.gw.url}${path}`, body);
    const answer = (await res.json()) as ErrorBody;
    assert.ok(res.status === 400 || res.status === 422, `${JSON.stringify(body)}: ${res.status}`);
    assert.ok(answer.error.message.includes(param), `${JSON.stringify(body)}: ${answer.error.message}`);
    if ('param' in answer.error) assert.equal(answer.error.param, param, JSON.stringify(body));
  }
  assert.equal(t.mock.requests.length, 0, 'nothing malformed reached the provider');
}

describe('nested fields of /v1/responses (also on the OpenAI pass-through path)', () => {
  const t = useGateway();
  const req = (extra: Record<string, unknown>): Record<string, unknown> => ({
    model: 'gpt-4o',
    input: 'hi',
    ...extra,
  });
  const fn = { type: 'function', name: 'f', parameters: { type: 'object' } };

  test('malformed items, tools, tool_choice, text.format and reasoning: 422 naming the field', async () => {
    await refuses(t, '/v1/responses', [
      [req({ tools: [{ ...fn, parameters: 5 }] }), 'tools[0].parameters'],
      [req({ tools: [{ type: 'function', parameters: {} }] }), 'tools[0].name'],
      [req({ tools: [{ type: 'bogus_tool' }] }), 'tools[0].type'],
      [req({ input: [{ type: 'bogus' }] }), 'input[0].type'],
      [req({ input: [{ role: 'user', content: [{}] }] }), 'input[0].content[0].type'],
      [
        req({ input: [{ role: 'user', content: [{ type: 'input_text', text: 5 }] }] }),
        'input[0].content[0].text',
      ],
      [req({ input: [{ role: 'user', content: 5 }] }), 'input[0].content'],
      [req({ input: [{ role: 'robot', content: 'x' }] }), 'input[0].role'],
      [req({ input: [{ content: 'x' }] }), 'input[0].type'],
      [
        req({ input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: {} }] }),
        'input[0].arguments',
      ],
      [req({ input: [{ type: 'function_call_output', call_id: 5, output: 'x' }] }), 'input[0].call_id'],
      [req({ input: [{ type: 'function_call_output', call_id: 'c', output: 5 }] }), 'input[0].output'],
      [req({ input: [{ type: 'item_reference', id: 5 }] }), 'input[0].id'],
      [req({ text: { format: { type: 'json_schema', name: 'x', schema: 5 } } }), 'text.format.schema'],
      [req({ text: { format: { type: 'json_schema', schema: {} } } }), 'text.format.name'],
      [req({ text: { format: { type: 'yaml' } } }), 'text.format.type'],
      [req({ reasoning: { effort: 'bogus' } }), 'reasoning.effort'],
      [req({ tool_choice: 'NaN', tools: [fn] }), 'tool_choice'],
      [req({ tool_choice: { type: 'function' }, tools: [fn] }), 'tool_choice.name'],
      [req({ tool_choice: { type: 'bogus' }, tools: [fn] }), 'tool_choice.type'],
      [req({ max_output_tokens: 1e308 }), 'max_output_tokens'],
    ]);
  });

  test('valid shapes from OpenAI’s document pass to OpenAI as sent', async () => {
    const body = req({
      input: [
        { role: 'developer', content: 'Be brief.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
        { role: 'assistant', content: [{ type: 'output_text', text: 'yo', annotations: [] }] },
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: [{ type: 'input_text', text: '42' }] },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { id: 'msg_1' },
        { type: 'item_reference', id: 'msg_2' },
        { type: 'mcp_approval_response', approval_request_id: 'a', approve: true },
      ],
      tools: [
        { ...fn, strict: null },
        { type: 'function', name: 'g', parameters: null },
        { type: 'web_search' },
        { type: 'mcp', server_label: 's', server_url: 'https://mcp.example' },
        { type: 'custom', name: 'c' },
      ],
      tool_choice: { type: 'function', name: 'f' },
      text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object' }, strict: true } },
      reasoning: { effort: 'minimal', summary: 'auto' },
      max_output_tokens: 2_147_483_647,
      a_field_openai_adds_later: { x: 1 },
    });
    const res = await postJson(`${t.gw.url}/v1/responses`, body);
    assert.equal(res.status, 200, await res.text());
    const sent = t.mock.requests.at(-1)?.body as Record<string, unknown>;
    assert.deepEqual(sent.input, body.input);
    assert.deepEqual(sent.tools, body.tools);
  });
});

describe('nested fields and bounds of /v1/messages, /v1/completions, /v1/embeddings and chat', () => {
  const t = useGateway();
  const claude = {
    model: 'claude-3-5-haiku-latest',
    max_tokens: 5,
    messages: [{ role: 'user', content: 'hi' }],
  };
  const emb = { model: 'text-embedding-3-small' };

  test('a custom tool without input_schema, and counts beyond 32 bits: 4xx naming the field', async () => {
    await refuses(t, '/v1/messages', [
      [{ ...claude, tools: [{ name: 'f' }] }, 'tools[0].input_schema'],
      [{ ...claude, tools: [{ name: 'f', type: 'custom' }] }, 'tools[0].input_schema'],
      [{ ...claude, top_k: 1e308 }, 'top_k'],
      [{ ...claude, max_tokens: 1e308 }, 'max_tokens'],
      [{ ...claude, thinking: { type: 'enabled', budget_tokens: 2 ** 40 } }, 'thinking.budget_tokens'],
    ]);
    await refuses(t, '/v1/messages/count_tokens', [
      [{ model: claude.model, messages: claude.messages, tools: [{ name: 'f' }] }, 'tools[0].input_schema'],
    ]);
    await refuses(t, '/v1/completions', [
      [{ model: 'gpt-4o', prompt: 'hi', max_tokens: 1e308 }, 'max_tokens'],
    ]);
    await refuses(t, '/v1/chat/completions', [
      [{ model: 'gpt-4o', messages: claude.messages, max_tokens: 1e308 }, 'max_tokens'],
      [
        { model: 'gpt-4o', messages: claude.messages, max_completion_tokens: 2 ** 31 },
        'max_completion_tokens',
      ],
    ]);
    await refuses(t, '/v1/embeddings', [
      [{ ...emb, input: [-1] }, 'input[0]'],
      [{ ...emb, input: [[1, -1]] }, 'input[0][1]'],
      [{ ...emb, input: 'hi', dimensions: 1e308 }, 'dimensions'],
    ]);
  });

  test('server tools without input_schema and counts within bounds still reach the provider', async () => {
    const res = await postJson(`${t.gw.url}/v1/messages`, {
      ...claude,
      top_k: 40,
      tools: [
        { type: 'web_search_20250305', name: 'web_search', max_uses: 2 },
        { type: 'bash_20250124', name: 'bash' },
        { name: 'f', input_schema: { type: 'object' }, type: null },
      ],
    });
    assert.equal(res.status, 200, await res.text());
    const tokens = await postJson(`${t.gw.url}/v1/embeddings`, { ...emb, input: Array(3000).fill(7) });
    assert.equal(tokens.status, 200, `one text of 3,000 tokens: ${await tokens.text()}`);
    const texts = await postJson(`${t.gw.url}/v1/embeddings`, { ...emb, input: ['a', 'b'], dimensions: 256 });
    assert.equal(texts.status, 200, await texts.text());
    assert.equal(t.mock.requests.length, 3);
  });

  test('more than 2048 texts: the message names the item limit, not a token type', async () => {
    for (const input of [Array(3000).fill('x'), Array(2049).fill([1])]) {
      const res = await postJson(`${t.gw.url}/v1/embeddings`, { ...emb, input });
      const body = (await res.json()) as ErrorBody;
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(body.error.param, 'input');
      assert.match(body.error.message, /2048 items/);
    }
    assert.equal(t.mock.requests.length, 0);
  });
});

describe('count_tokens reads JSON in UTF-8 only, as /v1/messages', () => {
  const t = useGateway();

  test('another Content-Type is a 415 in Anthropic’s shape; no provider is asked to count', async () => {
    const body = JSON.stringify({
      model: 'claude-3-5-haiku-latest',
      messages: [{ role: 'user', content: 'hi' }],
    });
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
      'application/vnd.api+json',
    ]) {
      const res = await fetch(`${t.gw.url}/v1/messages/count_tokens`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
      const answer = (await res.json()) as { type: string; error: { type: string; message: string } };
      assert.equal(res.status, 415, `${type}: ${JSON.stringify(answer)}`);
      assert.equal(answer.type, 'error');
      assert.equal(answer.error.type, 'invalid_request_error');
      assert.ok(answer.error.message.includes(type), answer.error.message);
    }
    assert.equal(t.mock.requests.length, 0);
  });
});

describe('a body with a Content-Encoding', () => {
  const ADMIN = 'admin-SECRET-encoding-0123456789';
  const t = useGateway({ env: { GATEWAY_ADMIN_KEY: ADMIN } });
  const admin = { authorization: `Bearer ${ADMIN}` };
  const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
  let apiKey = '';
  const send = async (path: string, body: unknown, encoding: string) => {
    if (apiKey === '') {
      const created = await postJson(`${t.gw.url}/admin/keys`, { name: 'n', user_id: 'u' }, admin);
      apiKey = ((await created.json()) as { key: string }).key;
    }
    const text = JSON.stringify(body);
    return fetch(`${t.gw.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-encoding': encoding,
        authorization: `Bearer ${path.startsWith('/admin') ? ADMIN : apiKey}`,
      },
      body: encoding === 'identity' ? text : gzipSync(text),
    });
  };

  test('gzip: 415 naming Content-Encoding on every kind of route (not "not valid JSON")', async () => {
    const cases: Array<[string, unknown]> = [
      ['/v1/chat/completions', chat],
      ['/v1/embeddings', { model: 'text-embedding-3-small', input: 'hi' }],
      ['/v1/messages', { ...chat, model: 'claude-3-5-haiku-latest', max_tokens: 5 }],
      ['/v1/messages/count_tokens', { ...chat, model: 'claude-3-5-haiku-latest' }],
      ['/v1/responses', { model: 'gpt-4o', input: 'hi' }],
      ['/admin/keys', { name: 'k', user_id: 'u' }],
    ];
    for (const [path, body] of cases) {
      for (const encoding of ['gzip', 'br', 'GZIP']) {
        const res = await send(path, body, encoding);
        const answer = (await res.json()) as ErrorBody;
        assert.equal(res.status, 415, `${path} ${encoding}: ${JSON.stringify(answer)}`);
        assert.match(answer.error.message, new RegExp(`Content-Encoding "${encoding}"`));
        // The Messages API answers in Anthropic's shape.
        if (path.startsWith('/v1/messages')) assert.equal(answer.error.type, 'invalid_request_error');
        else assert.equal(answer.error.code, 'unsupported_media_type');
      }
    }
    assert.equal(t.mock.requests.length, 0);
  });

  test('Content-Encoding: identity is served', async () => {
    const res = await send('/v1/chat/completions', chat, 'identity');
    assert.equal(res.status, 200, await res.text());
  });
});
