/**
 * Out-of-range numbers on the prompt, experiment and evaluation routes answer a 422 naming the field, never
 * a 5xx (DESIGN §7 secure defaults; decision 0176): a prompt version beyond the int4 column used to come
 * back as a 500 from the admin API and as a 503 "prompts are unavailable" (which clients retry) from chat;
 * a stored evaluation result with a token count or cost beyond its column was a 500.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useAdminGateway } from '../helpers/admin-gateway.js';
import { postJson } from '../helpers/gateway.js';
import { requireServices } from '../helpers/services.js';

const ADMIN = 'admin-SECRET-bounds-0123456789';
const skipPostgres = await requireServices('postgres');
const BEYOND_INT4 = 2_147_483_648;

type ErrorBody = { error?: { param: string | null; type: string } };

describe('numbers beyond the columns are 422s (PostgreSQL)', { skip: skipPostgres }, () => {
  const t = useAdminGateway('prompts_bounds', ADMIN);
  const admin = t.admin;
  const expect422 = (what: string, res: { status: number; body: ErrorBody }, param: string) => {
    assert.equal(res.status, 422, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error?.param, param, what);
    assert.equal(res.body.error?.type, 'invalid_request_error', what);
  };

  test('prompt versions: label, experiment variant, chat and prompt completions', async () => {
    const created = await admin('POST', '/admin/prompts', {
      id: 'greet',
      messages: [{ role: 'user', content: 'Say hello to {{name}}.' }],
      model: 'gpt-4o-mini',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));

    expect422(
      'label',
      await admin('PUT', '/admin/prompts/greet/labels/production', { version: BEYOND_INT4 }),
      'version',
    );
    expect422(
      'experiment variant',
      await admin('POST', '/admin/experiments', {
        id: 'greet-exp',
        variants: [{ name: 'a', weight: 1, prompt: { id: 'greet', version: BEYOND_INT4 } }],
      }),
      'variants[0].prompt.version',
    );

    const chat = await postJson(`${t.gw.url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      messages: [],
      prompt: { id: 'greet', version: BEYOND_INT4, variables: { name: 'Ada' } },
    });
    expect422('chat', { status: chat.status, body: (await chat.json()) as ErrorBody }, 'prompt.version');
    const completion = await postJson(`${t.gw.url}/v1/prompts/greet/completions`, {
      version: BEYOND_INT4,
      variables: { name: 'Ada' },
    });
    expect422(
      'prompt completions',
      { status: completion.status, body: (await completion.json()) as ErrorBody },
      'version',
    );
    assert.equal(t.mock.requests.length, 0, 'nothing reached the upstream');

    // In range and existing still works.
    const ok = await postJson(`${t.gw.url}/v1/prompts/greet/completions`, {
      version: 1,
      variables: { name: 'Ada' },
    });
    assert.equal(ok.status, 200, await ok.text());
  });

  test('a 200 kB request cannot render a 200 MB prompt: 422 at once, nothing sent upstream', async () => {
    const created = await admin('POST', '/admin/prompts', {
      id: 'examples',
      messages: [{ role: 'user', content: 'Examples:\n{{#items}}{{text}}\n{{/items}}' }],
      variables: ['items', 'text'],
      model: 'gpt-4o-mini',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(
      (await admin('PUT', '/admin/prompts/examples/labels/production', { version: 1 })).status,
      200,
    );
    t.mock.reset();

    const huge = await postJson(`${t.gw.url}/v1/prompts/examples/completions`, {
      variables: { items: new Array(2_000).fill(1), text: 'x'.repeat(100_000) },
    });
    expect422(
      'amplified render',
      { status: huge.status, body: (await huge.json()) as ErrorBody },
      'variables',
    );
    assert.equal(t.mock.requests.length, 0, 'nothing reached the upstream');

    const small = await postJson(`${t.gw.url}/v1/prompts/examples/completions`, {
      variables: { items: [1, 2], text: 'hello' },
    });
    assert.equal(small.status, 200, await small.text());
    const sent = t.mock.requests.at(-1)?.body as { messages: Array<{ content: string }> };
    assert.equal(sent.messages[0]?.content, 'Examples:\nhello\nhello\n');
  });

  test('a version whose params no chat request accepts is refused at creation', async () => {
    const base = { messages: [{ role: 'user', content: 'Hi.' }], model: 'gpt-4o-mini' };
    const hot = await admin('POST', '/admin/prompts', { id: 'hot', ...base, params: { temperature: 5 } });
    expect422('create', hot, 'params.temperature');
    assert.equal((await admin('POST', '/admin/prompts', { id: 'hot', ...base })).status, 201);
    expect422(
      'next version',
      await admin('POST', '/admin/prompts/hot/versions', { ...base, params: { max_tokens: 'lots' } }),
      'params.max_tokens',
    );
    // tool_choice without tools is fine: the request brings the tools.
    const tooled = await admin('POST', '/admin/prompts/hot/versions', {
      ...base,
      params: { temperature: 0.2, tool_choice: 'required' },
    });
    assert.equal(tooled.status, 201, JSON.stringify(tooled.body));
    assert.equal(tooled.body.version, 2);
  });

  test('stored evaluation runs and results', async () => {
    const run = {
      id: 'bounds-run',
      dataset: 'items.jsonl',
      dataset_sha256: 'a'.repeat(64),
      item_count: 1,
      targets: ['gpt-4o-mini'],
    };
    expect422(
      'item_count',
      await admin('POST', '/admin/evals/runs', { ...run, item_count: BEYOND_INT4 }),
      'item_count',
    );
    assert.equal((await admin('POST', '/admin/evals/runs', run)).status, 201);

    const result = {
      item_id: 'i1',
      target: 'gpt-4o-mini',
      error: null,
      scores: { exact_match: 1 },
      total_ms: 12,
      ttft_ms: 5,
      cost_usd: 0.000004,
      input_tokens: 10,
      output_tokens: 4,
    };
    const post = (patch: Record<string, unknown>) =>
      admin('POST', '/admin/evals/runs/bounds-run/results', { results: [{ ...result, ...patch }] });
    expect422('input_tokens', await post({ input_tokens: 1e20 }), 'results[0].input_tokens');
    expect422('output_tokens', await post({ output_tokens: BEYOND_INT4 }), 'results[0].output_tokens');
    expect422('cost_usd', await post({ cost_usd: 1e7 }), 'results[0].cost_usd');
    expect422('negative cost', await post({ cost_usd: -1 }), 'results[0].cost_usd');
    const stored = await post({});
    assert.equal(stored.status, 200, JSON.stringify(stored.body));
    assert.deepEqual(stored.body, { stored: 1 });
  });

  test('a version or a variant naming a model nothing routes (no alias, no known prefix) is a 422 at creation', async () => {
    const base = { messages: [{ role: 'user', content: 'Hi' }] };
    const typo = await admin('POST', '/admin/prompts', { id: 'typo', ...base, model: 'gtp-4o-mini' });
    expect422('prompt model', typo, 'model');
    assert.match(typo.body.error?.message ?? '', /gtp-4o-mini/);
    assert.equal(
      (await admin('POST', '/admin/prompts', { id: 'typo', ...base, model: 'gpt-4o-mini' })).status,
      201,
    );
    expect422(
      'version model',
      await admin('POST', '/admin/prompts/typo/versions', { ...base, model: 'cluade-haiku' }),
      'model',
    );
    expect422(
      'variant model',
      await admin('POST', '/admin/experiments', {
        id: 'typo-exp',
        variants: [
          { name: 'a', weight: 1, model: 'gpt-4o-mini' },
          { name: 'b', weight: 1, model: 'gpt4o' },
        ],
      }),
      'variants[1].model',
    );
    const ok = await admin('POST', '/admin/experiments', {
      id: 'typo-exp',
      variants: [{ name: 'a', weight: 1, model: 'openai/some-new-model' }],
    });
    assert.equal(ok.status, 201, `a provider/model name is served: ${JSON.stringify(ok.body)}`);
  });
});
