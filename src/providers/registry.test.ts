import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent } from 'undici';
import { loadConfig } from '../config/load.js';
import { ModelResolver } from '../routing/resolver.js';
import { ProviderRegistry } from './registry.js';

const YAML = `
routes:
  team:
    deployments:
      - { provider: openai, model: gpt-4o-mini, api_key_env: TEAM_OPENAI_KEY }
  local:
    deployments:
      - { provider: vllm, model: llama, base_url: "http://127.0.0.1:9/v1" }
`;

test("secrets() includes each deployment's own key variable, so its key is scrubbed too", () => {
  const env = { OPENAI_API_KEY: 'sk-main-0123456789', TEAM_OPENAI_KEY: 'sk-team-0123456789' };
  const config = loadConfig({ env, yamlText: YAML });
  const registry = new ProviderRegistry(config.providers, env, { dispatcher: new Agent() });
  new ModelResolver(config, registry); // plans the routes, creating their adapters
  assert.deepEqual(registry.secrets().sort(), ['sk-main-0123456789', 'sk-team-0123456789']);
});

test('a deployment with its own base_url enables a keyless provider for itself only', () => {
  const env = {};
  const config = loadConfig({ env, yamlText: YAML });
  const registry = new ProviderRegistry(config.providers, env, { dispatcher: new Agent() });
  const resolver = new ModelResolver(config, registry);
  assert.equal(resolver.resolve('local').deployments[0]?.id, 'vllm/llama');
  assert.throws(() => resolver.resolve('vllm/llama'), /set VLLM_BASE_URL/);
});

test('Azure with a key but no endpoint is not offered: the key never goes to the placeholder host', () => {
  const env = { AZURE_OPENAI_API_KEY: 'azure-key-0123456789' };
  const config = loadConfig({ env });
  const registry = new ProviderRegistry(config.providers, env, { dispatcher: new Agent() });
  const status = registry.status('azure');
  assert.equal(status.offered, false);
  assert.match(status.reason ?? '', /set AZURE_OPENAI_ENDPOINT/);
  assert.throws(
    () => new ModelResolver(config, registry).resolve('azure/my-deployment'),
    /AZURE_OPENAI_ENDPOINT/,
  );

  const withEndpoint = { ...env, AZURE_OPENAI_ENDPOINT: 'https://mine.openai.azure.com' };
  const configured = loadConfig({ env: withEndpoint });
  const offered = new ProviderRegistry(configured.providers, withEndpoint, { dispatcher: new Agent() });
  assert.equal(offered.status('azure').offered, true);
});
