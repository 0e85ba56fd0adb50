/**
 * OpenAI's closed value lists (enums, ranges, required fields) are checked at the gateway (decision 0235):
 * a value outside OpenAI's OpenAPI document is a 422 naming the field and reaches no provider — above all
 * a translated one, which would otherwise ignore it and answer 200 (a mistyped `reasoning_effort` ran with no
 * thinking at all on Claude and Gemini). Every value the document lists still reaches the provider.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import OpenAI from 'openai';
import {
  CHAT_SERVICE_TIERS,
  REASONING_EFFORTS,
  RESPONSES_SERVICE_TIERS,
  TRUNCATIONS,
  VERBOSITIES,
} from '../../src/endpoints/openai-enums.js';
import { postJson, useGateway } from '../helpers/gateway.js';
import { OPENAI_SCHEMA_DIR } from '../helpers/openai-schemas.js';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const CLAUDE = 'claude-3-5-haiku-latest';
const GEMINI = 'gemini-2.5-flash';
const messages = [{ role: 'user', content: 'Think' }];

describe('enum values on translated providers', () => {
  const t = useGateway();

  test('a reasoning_effort outside the document is a 422 naming it, and Claude is never called', async () => {
    for (const model of [CLAUDE, GEMINI]) {
      for (const effort of ['extreme', 5, 'HIGH']) {
        const res = await postJson(`${t.gw.url}/v1/chat/completions`, {
          model,
          messages,
          reasoning_effort: effort,
        });
        const body = (await res.json()) as ErrorBody;
        assert.equal(res.status, 422, `${model} ${effort}: ${JSON.stringify(body)}`);
        assert.equal(body.error.param, 'reasoning_effort');
        assert.equal(body.error.type, 'invalid_request_error');
        assert.equal(body.error.code, 'invalid_request');
        if (typeof effort === 'string') {
          assert.match(body.error.message, /"xhigh"/, 'the message lists the accepted values');
        }
      }
    }
    const completion = await postJson(`${t.gw.url}/v1/completions`, {
      model: CLAUDE,
      prompt: 'Think',
      reasoning_effort: 'extreme',
    });
    assert.equal(completion.status, 422);
    assert.equal(((await completion.json()) as ErrorBody).error.param, 'reasoning_effort');
    const response = await postJson(`${t.gw.url}/v1/responses`, {
      model: CLAUDE,
      input: 'Think',
      reasoning: { effort: 'extreme' },
    });
    assert.equal(response.status, 422);
    assert.equal(((await response.json()) as ErrorBody).error.param, 'reasoning.effort');
    assert.equal(t.mock.requests.length, 0, 'no provider was asked');
  });

  test('the openai SDK gets an UnprocessableEntityError naming the field', async () => {
    const client = new OpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({
        model: CLAUDE,
        messages: [{ role: 'user', content: 'Think' }],
        verbosity: 'loud' as never,
      }),
      (err: unknown) => err instanceof OpenAI.UnprocessableEntityError && err.param === 'verbosity',
    );
    assert.equal(t.mock.requests.length, 0);
  });

  test('every effort the document lists reaches Claude as thinking (max too), none as no thinking', async () => {
    const client = new OpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    for (const effort of REASONING_EFFORTS) {
      t.mock.reset();
      const answer = await client.chat.completions.create({
        model: CLAUDE,
        messages: [{ role: 'user', content: 'Think' }],
        reasoning_effort: effort as OpenAI.ReasoningEffort,
      });
      assert.equal(answer.object, 'chat.completion');
      const sent = t.mock.requests.at(-1)?.body as { thinking?: { type: string; budget_tokens: number } };
      if (effort === 'none') assert.equal(sent.thinking, undefined);
      else assert.equal(sent.thinking?.type, 'enabled', effort);
    }
  });
});

describe('values the document lists pass to OpenAI as sent', () => {
  const t = useGateway();

  test('chat and Responses enums, at every listed value', async () => {
    const chat: Array<Record<string, unknown>> = [
      ...CHAT_SERVICE_TIERS.map((service_tier) => ({ service_tier })),
      ...VERBOSITIES.map((verbosity) => ({ verbosity, reasoning_effort: 'minimal' })),
      { modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'pcm16' } },
      { prediction: { type: 'content', content: 'abc' }, store: true },
      { web_search_options: { search_context_size: 'low' } },
    ];
    for (const extra of chat) {
      const res = await postJson(`${t.gw.url}/v1/chat/completions`, { model: 'gpt-4o', messages, ...extra });
      assert.equal(res.status, 200, await res.text());
      const sent = t.mock.requests.at(-1)?.body as Record<string, unknown>;
      for (const [field, value] of Object.entries(extra)) assert.deepEqual(sent[field], value, field);
    }
    const responses: Array<Record<string, unknown>> = [
      ...RESPONSES_SERVICE_TIERS.map((service_tier) => ({ service_tier })),
      ...TRUNCATIONS.map((truncation) => ({ truncation, max_output_tokens: 16, top_logprobs: 20 })),
      { text: { verbosity: 'high' }, include: ['reasoning.encrypted_content'], background: false },
      { conversation: { id: 'conv_1' }, max_tool_calls: 2, safety_identifier: 's' },
    ];
    for (const extra of responses) {
      const res = await postJson(`${t.gw.url}/v1/responses`, { model: 'gpt-4o', input: 'hi', ...extra });
      assert.equal(res.status, 200, await res.text());
      const sent = t.mock.requests.at(-1)?.body as Record<string, unknown>;
      for (const [field, value] of Object.entries(extra)) assert.deepEqual(sent[field], value, field);
    }
  });

  test('a seed beyond 2^53 − 1 is a 422 naming seed; the largest exact one reaches OpenAI unchanged', async () => {
    const raw = (seed: string) =>
      fetch(`${t.gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"seed":${seed}}`,
      });
    const big = await raw('9007199254740993');
    const body = (await big.json()) as ErrorBody;
    assert.equal(big.status, 422, JSON.stringify(body));
    assert.equal(body.error.param, 'seed');
    assert.equal(t.mock.requests.length, 0);
    const exact = await raw('-9007199254740991');
    assert.equal(exact.status, 200, await exact.text());
    const sent = t.mock.requests.at(-1)?.body as { seed?: number } | undefined;
    assert.equal(sent?.seed, -9_007_199_254_740_991);
  });
});

test("the gateway's enums hold every value of OpenAI's vendored schemas", () => {
  const defs = (file: string) =>
    (JSON.parse(readFileSync(new URL(file, OPENAI_SCHEMA_DIR), 'utf8')) as { $defs: Record<string, unknown> })
      .$defs;
  const values = (schema: unknown): string[] =>
    (schema as { anyOf: Array<{ enum?: string[] }> }).anyOf.flatMap((s) => s.enum ?? []);
  const response = defs('Response.json');
  assert.deepEqual([...REASONING_EFFORTS], values(response.ReasoningEffort));
  assert.deepEqual([...RESPONSES_SERVICE_TIERS], values(response.ServiceTierResponses));
  assert.deepEqual([...VERBOSITIES], values(response.Verbosity));
  assert.deepEqual([...CHAT_SERVICE_TIERS], values(defs('CreateChatCompletionResponse.json').ServiceTier));
});
