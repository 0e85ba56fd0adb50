import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Agent } from 'undici';
import { loadConfig } from '../config/load.js';
import { BadRequestError } from '../core/errors.js';
import { ProviderRegistry } from '../providers/registry.js';
import { ModelResolver } from './resolver.js';

const dispatcher = new Agent();
after(() => dispatcher.close());

/** Fake secrets: OpenAI, Anthropic and Together are configured; Gemini, Groq and the rest are not. */
const ENV = {
  OPENAI_API_KEY: 'sk-fake-openai-0000000000',
  ANTHROPIC_API_KEY: 'sk-ant-fake-0000000000',
  TOGETHER_API_KEY: 'together-fake-0000000000',
};

const ROUTES = `
routes:
  smart:
    deployments:
      - { provider: anthropic, model: claude-sonnet-4-5, priority: 2 }
      - { provider: openai, model: gpt-4o, priority: 1 }
      - { provider: together, model: meta-llama/Llama-3.3-70B-Instruct-Turbo, priority: 3 }
  in-order:
    deployments:
      - { provider: openai, model: gpt-4o-mini }
      - { provider: anthropic, model: claude-3-5-haiku-latest }
  half-configured:
    deployments:
      - { provider: gemini, model: gemini-2.5-flash }
      - { provider: openai, model: gpt-4.1-mini }
  nobody-home:
    deployments:
      - { provider: gemini, model: gemini-2.5-pro }
      - { provider: groq, model: llama-3.3-70b-versatile }
`;

function resolverFor(env: Record<string, string> = ENV, yamlText = ROUTES): ModelResolver {
  const config = loadConfig({ env, yamlText });
  return new ModelResolver(config, new ProviderRegistry(config.providers, env, { dispatcher }));
}

/** Asserts a resolve() failure: a 400 BadRequestError on param `model` with the given code. */
function rejects(resolver: ModelResolver, model: string, code: string, message?: RegExp): BadRequestError {
  let caught: unknown;
  try {
    resolver.resolve(model);
  } catch (err) {
    caught = err;
  }
  assert.ok(
    caught instanceof BadRequestError,
    `resolve(${JSON.stringify(model)}) must throw BadRequestError`,
  );
  assert.equal(caught.status, 400);
  assert.equal(caught.type, 'invalid_request_error');
  assert.equal(caught.code, code);
  assert.equal(caught.param, 'model');
  if (message) assert.match(caught.message, message);
  return caught;
}

const deployments = (resolver: ModelResolver, model: string) =>
  resolver.resolve(model).deployments.map((d) => ({ provider: d.provider, model: d.model, id: d.id }));

describe('aliases', () => {
  const resolver = resolverFor();

  test('an alias resolves to its deployments in priority order', () => {
    const route = resolver.resolve('smart');
    assert.equal(route.kind, 'alias');
    assert.equal(route.name, 'smart');
    assert.deepEqual(
      route.deployments.map((d) => d.id),
      ['openai/gpt-4o', 'anthropic/claude-sonnet-4-5', 'together/meta-llama/Llama-3.3-70B-Instruct-Turbo'],
    );
    assert.deepEqual(
      route.deployments.map((d) => d.adapter.name),
      ['openai', 'anthropic', 'together'],
    );
  });

  test('without priorities the listed order is the failover order', () => {
    assert.deepEqual(
      deployments(resolver, 'in-order').map((d) => d.id),
      ['openai/gpt-4o-mini', 'anthropic/claude-3-5-haiku-latest'],
    );
  });

  test('a deployment whose provider has no key is skipped; the others still serve', () => {
    assert.deepEqual(deployments(resolver, 'half-configured'), [
      { provider: 'openai', model: 'gpt-4.1-mini', id: 'openai/gpt-4.1-mini' },
    ]);
  });

  test('an alias whose providers all lack keys is a 400 naming every missing env variable', () => {
    rejects(resolver, 'nobody-home', 'provider_not_configured', /GEMINI_API_KEY[\s\S]*GROQ_API_KEY/);
  });

  test('an alias wins over the prefix rules and provider/model', () => {
    const resolver = resolverFor(
      ENV,
      `routes:
  gpt-4o: { deployments: [{ provider: anthropic, model: claude-sonnet-4-5 }] }
  openai/gpt-4o: { deployments: [{ provider: together, model: meta-llama/x }] }`,
    );
    assert.equal(deployments(resolver, 'gpt-4o')[0]?.provider, 'anthropic');
    assert.equal(deployments(resolver, 'openai/gpt-4o')[0]?.provider, 'together');
  });
});

describe('provider/model', () => {
  const resolver = resolverFor();

  test('names the provider explicitly', () => {
    const route = resolver.resolve('openai/gpt-4o-mini');
    assert.equal(route.kind, 'explicit');
    assert.deepEqual(deployments(resolver, 'openai/gpt-4o-mini'), [
      { provider: 'openai', model: 'gpt-4o-mini', id: 'openai/gpt-4o-mini' },
    ]);
  });

  test('splits at the first slash: the rest is the upstream model, slashes and all', () => {
    assert.deepEqual(deployments(resolver, 'together/meta-llama/Llama-3.3-70B'), [
      { provider: 'together', model: 'meta-llama/Llama-3.3-70B', id: 'together/meta-llama/Llama-3.3-70B' },
    ]);
  });

  test('a model a prefix rule would send elsewhere still goes to the named provider', () => {
    assert.equal(deployments(resolver, 'together/gpt-oss-120b')[0]?.provider, 'together');
  });

  test('an empty model after the provider is model_not_found', () => {
    rejects(resolver, 'openai/', 'model_not_found');
  });

  test('a first segment that is not a provider is not provider/model', () => {
    rejects(resolver, 'meta-llama/Llama-3.3-70B', 'model_not_found', /meta-llama\/Llama-3\.3-70B/);
  });

  test('a provider without a key is provider_not_configured, naming its env variable', () => {
    const err = rejects(resolver, 'groq/llama-3.3-70b-versatile', 'provider_not_configured', /GROQ_API_KEY/);
    assert.doesNotMatch(err.message, /sk-fake|together-fake/);
  });
});

describe('prefix rules', () => {
  const resolver = resolverFor();
  const cases: Array<[string, string]> = [
    ['gpt-4o', 'openai'],
    ['gpt-5-nano', 'openai'],
    ['o1-preview', 'openai'],
    ['o3-mini', 'openai'],
    ['o4-mini', 'openai'],
    ['chatgpt-4o-latest', 'openai'],
    ['claude-3-5-haiku-latest', 'anthropic'],
    ['claude-sonnet-4-5', 'anthropic'],
  ];
  for (const [model, provider] of cases) {
    test(`${model} → ${provider}, model name unchanged`, () => {
      const route = resolver.resolve(model);
      assert.equal(route.kind, 'prefix');
      assert.deepEqual(deployments(resolver, model), [{ provider, model, id: `${provider}/${model}` }]);
    });
  }

  test('gemini- → gemini once GEMINI_API_KEY is set', () => {
    const withGemini = resolverFor({ ...ENV, GEMINI_API_KEY: 'AIza-fake-000000000' });
    assert.deepEqual(deployments(withGemini, 'gemini-2.5-flash'), [
      { provider: 'gemini', model: 'gemini-2.5-flash', id: 'gemini/gemini-2.5-flash' },
    ]);
  });

  test('a prefix-routed model whose provider has no key names the env variable', () => {
    rejects(resolver, 'gemini-2.5-flash', 'provider_not_configured', /GEMINI_API_KEY/);
    const noAnthropic = resolverFor({ OPENAI_API_KEY: ENV.OPENAI_API_KEY });
    rejects(noAnthropic, 'claude-3-5-haiku-latest', 'provider_not_configured', /ANTHROPIC_API_KEY/);
  });

  test('an unknown model is a 400 model_not_found on param model, every time', () => {
    for (const model of ['llama-3', 'mistral-large', 'GPT-4o', 'no-such-model', '']) {
      rejects(resolver, model, 'model_not_found');
      rejects(resolver, model, 'model_not_found'); // memoised failures throw too
    }
  });

  test('the memo is bounded: names longer than 256 characters are resolved but never kept', () => {
    const fresh = resolverFor();
    rejects(fresh, 'x'.repeat(1_000_000), 'model_not_found');
    assert.equal(fresh.resolve(`gpt-4o-${'a'.repeat(300)}`).deployments[0]?.provider, 'openai');
    assert.equal(fresh.memoSize, 0);
    for (let i = 0; i < 12_000; i++) fresh.resolve(`gpt-4o-${i}`);
    assert.ok(fresh.memoSize <= 10_000, `memo ${fresh.memoSize}`);
  });

  test('a custom provider contributes its own prefixes', () => {
    const custom = resolverFor(
      {},
      `providers:
  local:
    type: openai
    base_url: http://127.0.0.1:9999/v1
    requires_api_key: false
    model_prefixes: [qwen]`,
    );
    assert.deepEqual(deployments(custom, 'qwen2.5-7b'), [
      { provider: 'local', model: 'qwen2.5-7b', id: 'local/qwen2.5-7b' },
    ]);
  });
});

describe('listModels', () => {
  test('aliases, then the models of every offered provider; nothing unroutable', () => {
    const models = resolverFor().listModels();
    const ids = models.map((m) => m.id);
    // Routable aliases first, owned by the gateway; an alias with no usable deployment is left out.
    assert.deepEqual(ids.slice(0, 3), ['smart', 'in-order', 'half-configured']);
    assert.ok(!ids.includes('nobody-home'));
    for (const alias of ids.slice(0, 3)) {
      assert.equal(models.find((m) => m.id === alias)?.owned_by, 'llm-gateway');
    }
    // Prefix-routable models appear bare; others as provider/model, so every listed id resolves.
    assert.ok(ids.includes('gpt-4o-mini'));
    assert.ok(ids.includes('claude-3-5-haiku-latest'));
    assert.ok(ids.includes('together/meta-llama/Llama-3.3-70B-Instruct-Turbo'));
    assert.equal(models.find((m) => m.id === 'gpt-4o')?.owned_by, 'openai');
    // Providers without keys are not offered.
    assert.ok(!ids.some((id) => id.startsWith('gemini') || id.startsWith('groq/')));
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
    const resolver = resolverFor();
    for (const id of ids) assert.doesNotThrow(() => resolver.resolve(id), `listed ${id} must resolve`);
  });

  test('with no provider configured only keyless enabled providers remain (none by default)', () => {
    assert.deepEqual(resolverFor({}, '').listModels(), []);
  });
});

describe('deploymentById (decision 0234: a stored response deleted where it was made)', () => {
  const named = `${ROUTES}  eu:\n    deployments:\n      - { name: openai-eu, provider: openai, model: gpt-4o, api_key_env: OPENAI_EU_KEY }\n`;
  const resolver = resolverFor({ ...ENV, OPENAI_EU_KEY: 'sk-fake-eu-0000000000' }, named);

  test("a configured route's deployment by its name, with that deployment's adapter", () => {
    const eu = resolver.deploymentById('openai-eu');
    assert.equal(eu?.provider, 'openai');
    assert.equal(eu?.model, 'gpt-4o');
    assert.equal(eu?.adapter, resolver.resolve('eu').deployments[0]?.adapter);
  });

  test('an explicit provider/model id; nothing for an unknown, unconfigured or empty one', () => {
    assert.equal(resolver.deploymentById('openai/gpt-4o-mini')?.model, 'gpt-4o-mini');
    assert.equal(resolver.deploymentById('anthropic/claude-sonnet-4-5')?.provider, 'anthropic');
    assert.equal(resolver.deploymentById('gone-deployment'), undefined);
    assert.equal(resolver.deploymentById('gemini/gemini-2.5-pro'), undefined);
    assert.equal(resolver.deploymentById('openai/'), undefined);
    assert.equal(resolver.deploymentById('nosuch/model'), undefined);
  });
});
