import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { costOf, PRICING_FAMILIES, PriceTable } from './pricing.js';

const table = new PriceTable();
const usage = (prompt: number, completion: number, cached = 0) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  prompt_tokens_details: { cached_tokens: cached },
});

describe('pricing table', () => {
  test('every family names its source page and date, and prices every model', () => {
    assert.deepEqual(
      PRICING_FAMILIES.map((f) => f.family),
      ['openai', 'anthropic', 'gemini', 'groq', 'together'],
    );
    for (const family of PRICING_FAMILIES) {
      assert.match(family.source, /^https:\/\//, family.family);
      assert.match(family.as_of, /^\d{4}-\d{2}-\d{2}$/, family.family);
      assert.ok(Object.keys(family.models).length >= 5, family.family);
      for (const [model, price] of Object.entries(family.models)) {
        assert.ok(price.input >= 0 && price.output >= 0, model);
        assert.ok(price.cached_input === undefined || price.cached_input <= price.input, model);
      }
    }
  });

  test("the seed's four models are priced as the seed lists them (USD per 1K × 1000)", () => {
    assert.deepEqual(table.priceOf('gpt-4o'), {
      input: 2.5,
      output: 10,
      cachedInput: 1.25,
      cacheWrite: 3.125,
    });
    assert.deepEqual(table.priceOf('gpt-4o-mini'), {
      input: 0.15,
      output: 0.6,
      cachedInput: 0.075,
      cacheWrite: 0.1875,
    });
    assert.deepEqual(table.priceOf('claude-3-5-sonnet-20241022'), {
      input: 3,
      output: 15,
      cachedInput: 0.3,
      cacheWrite: 3.75,
    });
    assert.deepEqual(table.priceOf('claude-3-5-haiku-20241022'), {
      input: 0.8,
      output: 4,
      cachedInput: 0.08,
      cacheWrite: 1,
    });
  });

  test('lookups accept snapshots, -latest and provider/model names; unknown → null', () => {
    assert.equal(table.priceOf('gpt-4o-2024-08-06')?.input, 2.5);
    assert.equal(table.priceOf('claude-3-5-sonnet-latest')?.output, 15);
    assert.equal(table.priceOf('groq/llama-3.1-8b-instant')?.input, 0.05);
    assert.equal(table.priceOf('meta-llama/Llama-3.3-70B-Instruct-Turbo', 'together')?.input, 0.88);
    assert.equal(table.priceOf('together/meta-llama/Llama-3.3-70B-Instruct-Turbo')?.output, 0.88);
    assert.equal(table.priceOf('llama3:8b', 'ollama'), null);
    assert.equal(table.calculateCost('my-local-model', usage(100, 100)), null);
    assert.equal(table.resolve('gpt-4o-2024-08-06', 'openai')?.name, 'gpt-4o');
  });

  test('config overrides win over the table and add models', () => {
    const custom = new PriceTable({
      'gpt-4o': { input: 1, output: 2 },
      'llama3:8b': { input: 0, output: 0.1 },
    });
    assert.deepEqual(custom.priceOf('gpt-4o'), { input: 1, output: 2, cachedInput: 1, cacheWrite: 1.25 });
    assert.equal(custom.calculateCost('llama3:8b', usage(1000, 1_000_000)), 0.1);
  });

  test('an override wins where the gateway looks a model up: with its provider, dated, or prefixed', () => {
    const custom = new PriceTable({
      'gpt-4o-mini': { input: 1000, output: 1000 },
      'anthropic/claude-haiku-4-5': { input: 7, output: 9 },
      'claude-haiku-4-5': { input: 1, output: 1 },
    });
    // The request path always passes the provider; the table has `openai/gpt-4o-mini` too.
    assert.equal(custom.calculateCost('gpt-4o-mini', usage(10, 20), 'openai'), 0.03);
    assert.equal(custom.calculateCost('gpt-4o-mini-2024-07-18', usage(10, 20), 'openai'), 0.03);
    assert.equal(custom.calculateCost('openai/gpt-4o-mini', usage(10, 20), 'openai'), 0.03);
    assert.equal(custom.resolve('gpt-4o-mini', 'openai')?.name, 'gpt-4o-mini');
    // `provider/model` in the config beats the bare name for that provider only.
    assert.equal(custom.priceOf('claude-haiku-4-5', 'anthropic')?.input, 7);
    assert.equal(custom.priceOf('claude-haiku-4-5', 'bedrock')?.input, 1);
    // Models without an override keep the table's price.
    assert.equal(custom.priceOf('gpt-4o', 'openai')?.input, 2.5);
  });
});

describe('calculateCost: exact to 6 decimals, cached input priced separately', () => {
  // Expected values worked out by hand: tokens × USD per 1M / 1e6.
  const cases: Array<[string, ReturnType<typeof usage>, number]> = [
    // OpenAI: 1000 × 2.5 + 500 × 10 = 7500 µ$
    ['gpt-4o', usage(1000, 500), 0.0075],
    // 800 uncached × 2.5 + 200 cached × 1.25 + 500 × 10 = 2000 + 250 + 5000 µ$
    ['gpt-4o', usage(1000, 500, 200), 0.00725],
    // 1 × 0.15 µ$ rounds to 0; 3 × 0.15 = 0.45 → 0; 4 × 0.15 = 0.6 → 1 µ$ (half up)
    ['gpt-4o-mini', usage(1, 0), 0],
    ['gpt-4o-mini', usage(4, 0), 0.000001],
    // 1234 × 0.15 + 567 × 0.6 = 185.1 + 340.2 = 525.3 → 525 µ$
    ['gpt-4o-mini', usage(1234, 567), 0.000525],
    // cached: 1000 × 0.075 + 0 = 75 µ$
    ['gpt-4o-mini', usage(1000, 0, 1000), 0.000075],
    // Anthropic: 2000 × 3 + 1000 × 15 = 21000 µ$; with 1500 cached: 500 × 3 + 1500 × 0.3 + 15000
    ['claude-3-5-sonnet-20241022', usage(2000, 1000), 0.021],
    ['claude-3-5-sonnet-20241022', usage(2000, 1000, 1500), 0.01695],
    ['claude-3-5-haiku-20241022', usage(10_000, 2_000, 5_000), 0.0124],
    // Gemini: 100k × 0.3 + 10k × 2.5 = 55000 µ$; cached 40k: 60k × 0.3 + 40k × 0.03 + 25000
    ['gemini-2.5-flash', usage(100_000, 10_000), 0.055],
    ['gemini-2.5-flash', usage(100_000, 10_000, 40_000), 0.0442],
    // gemini-1.5-flash cached 0.01875: 3 cached tokens = 0.05625 µ$ → 0
    ['gemini-1.5-flash', usage(3, 0, 3), 0],
    // Groq: 1M × 0.59 + 1M × 0.79
    ['groq/llama-3.3-70b-versatile', usage(1_000_000, 1_000_000), 1.38],
    // Groq: no cached price → cached tokens priced as input
    ['groq/llama-3.1-8b-instant', usage(1000, 1000, 500), 0.00013],
    // Together: 12345 × 0.88 + 678 × 0.88 = 11460.24 → 11460 µ$
    ['together/meta-llama/Llama-3.3-70B-Instruct-Turbo', usage(12_345, 678), 0.01146],
    ['deepseek-ai/DeepSeek-R1', usage(1000, 1000), 0.01],
  ];
  for (const [model, u, expected] of cases) {
    test(`${model} ${JSON.stringify(u)} → ${expected}`, () => {
      const cost = table.calculateCost(model, u);
      assert.equal(cost, expected);
      assert.equal(cost?.toFixed(6), expected.toFixed(6));
    });
  }

  test('large counts stay exact (no float drift)', () => {
    const price = { input: 0.1, output: 0.4, cachedInput: 0.025, cacheWrite: 0.125 };
    assert.equal(costOf(price, usage(3_000_000, 7_000_000)), 3.1);
    // 222222 × 0.1 + 111111 × 0.025 + 333333 × 0.4 = 22222.2 + 2777.775 + 133333.2 = 158333.175 µ$
    assert.equal(table.calculateCost('gpt-4.1-nano', usage(333_333, 333_333, 111_111)), 0.158333);
  });
});

describe('prompt-cache writes (Anthropic)', () => {
  const table = new PriceTable({ 'my-claude': { input: 3, output: 15, cached_input: 0.3, cache_write: 4 } });

  test('cache writes cost 1.25 × input unless configured; reads the cached-input price', () => {
    // claude-sonnet-4-5: input 3, cached 0.3, output 15 → writes 3.75 per 1M.
    // 1000 plain input × 3 + 2000 written × 3.75 + 4000 read × 0.3 + 500 output × 15 (µ$ per token / 1e6)
    const usage = {
      prompt_tokens: 7000,
      completion_tokens: 500,
      prompt_tokens_details: { cached_tokens: 4000, cache_creation_tokens: 2000 },
    };
    assert.equal(table.calculateCost('claude-sonnet-4-5', usage), (3000 + 7500 + 1200 + 7500) / 1e6);
    // A configured cache_write price wins: 1000 × 3 + 2000 × 4 + 4000 × 0.3 + 500 × 15.
    assert.equal(table.calculateCost('my-claude', usage), (3000 + 8000 + 1200 + 7500) / 1e6);
  });

  test('more writes than uncached prompt tokens cannot make the prompt cost more than it has', () => {
    const usage = {
      prompt_tokens: 100,
      completion_tokens: 0,
      prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 1000 },
    };
    assert.equal(table.calculateCost('claude-sonnet-4-5', usage), (100 * 3.75) / 1e6);
  });
});
