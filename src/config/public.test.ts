import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from './load.js';
import { maskUrlCredentials, publicConfig } from './public.js';

test('URL credentials are masked; URLs without them are unchanged', () => {
  assert.equal(maskUrlCredentials('redis://:s3cret@cache:6379/0'), 'redis://:***@cache:6379/0');
  assert.equal(maskUrlCredentials('postgres://app:p%40ss@db:5432/gw'), 'postgres://app:***@db:5432/gw');
  assert.equal(maskUrlCredentials('redis://tokenonly@cache:6379'), 'redis://***@cache:6379');
  assert.equal(maskUrlCredentials('https://api.openai.com/v1'), 'https://api.openai.com/v1');
  assert.equal(maskUrlCredentials('plain text'), 'plain text');
  assert.equal(
    maskUrlCredentials('postgres://db:5432/gw?sslmode=require&password=pw-SECRET'),
    'postgres://db:5432/gw?sslmode=require&password=***',
  );
  assert.equal(
    maskUrlCredentials('https://collector.example/v1?api_key=k-SECRET&region=eu'),
    'https://collector.example/v1?api_key=***&region=eu',
  );
});

test('the admin view of the config shows no secret', () => {
  const config = loadConfig({
    env: {
      REDIS_URL: 'redis://:redis-SECRET@127.0.0.1:6379',
      DATABASE_URL: 'postgres://gw:db-SECRET@127.0.0.1:5432/gw',
      COST_ALERT_WEBHOOK_URL: 'https://hooks.example.com/services/T0/B0/webhook-SECRET',
    },
    yamlText: `
providers:
  internal:
    type: openai
    base_url: https://llm.internal/v1
    headers: { x-api-token: header-SECRET }
auth:
  keys:
    - { name: ci, key_sha256: "${'a'.repeat(64)}", user_id: ci }
`,
  });
  const text = JSON.stringify(publicConfig(config));
  for (const secret of ['redis-SECRET', 'db-SECRET', 'webhook-SECRET', 'header-SECRET', 'a'.repeat(64)]) {
    assert.ok(!text.includes(secret), `${secret} is not shown`);
  }
  // What an operator needs is still there.
  assert.match(text, /redis:\/\/:\*\*\*@127\.0\.0\.1:6379/);
  assert.match(text, /"x-api-token":"\[redacted\]"/);
  assert.match(text, /"name":"ci"/);
});
