import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from './load.js';

/** Runs loadConfig expecting a ConfigError; returns its problems. */
function problemsOf(options: Parameters<typeof loadConfig>[0]): string[] {
  let caught: unknown;
  try {
    loadConfig(options);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  // The message lists every problem too (it is what the operator sees at start).
  for (const p of caught.problems) assert.ok(caught.message.includes(p));
  return caught.problems;
}

/** Asserts that exactly one problem starts with `path` and matches `pattern`. */
function hasProblem(problems: string[], path: string, pattern: RegExp = /./): void {
  const hits = problems.filter((p) => p.startsWith(path));
  assert.equal(hits.length, 1, `one problem for ${path} in:\n${problems.join('\n')}`);
  assert.match(hits[0] as string, pattern);
}

describe('defaults', () => {
  const config = loadConfig({ env: {} });

  test('server, upstream, retry and auth defaults', () => {
    assert.deepEqual(config.server, {
      // No auth configured: loopback only (config/bind.ts).
      host: '127.0.0.1',
      port: 8000,
      body_limit_bytes: 10 * 1024 * 1024,
      body_bytes_in_flight: 64 * 1024 * 1024,
      request_timeout_ms: 60_000,
      shutdown_grace_ms: 25_000,
      trust_proxy: false,
      heap_growing_percent: 50,
      v8_pretenuring: false,
      background_threads_nice: 10,
    });
    assert.equal(loadConfig({ env: { V8_PRETENURING: 'true' } }).server.v8_pretenuring, true);
    assert.equal(loadConfig({ env: { HEAP_GROWING_PERCENT: '0' } }).server.heap_growing_percent, 0);
    assert.equal(loadConfig({ env: { BACKGROUND_THREADS_NICE: '0' } }).server.background_threads_nice, 0);
    assert.throws(() => loadConfig({ env: { BACKGROUND_THREADS_NICE: '20' } }), /background_threads_nice/);
    assert.equal(config.upstream.timeout_ms, 60_000);
    assert.ok(config.upstream.total_timeout_ms >= config.upstream.timeout_ms);
    assert.deepEqual(config.retry, { max_attempts: 3, base_delay_ms: 500, max_delay_ms: 30_000 });
    assert.deepEqual(config.auth, {
      mode: 'none',
      keys: [],
      refresh_interval_ms: 5000,
      lookup_timeout_ms: 5000,
      negative_cache_ms: 5000,
      failure_throttle: { per_minute: 30, burst: 30, max_sources: 10_000 },
    });
    assert.equal(config.rate_limit.enabled, true);
    assert.equal(config.rate_limit.default_rate, 10);
    assert.equal(config.rate_limit.default_capacity, 20);
    assert.equal(config.log.level, 'info');
    assert.equal(config.log.bodies, false);
    assert.deepEqual(config.routes, {});
  });

  test('built-in providers read keys and base URLs from the env names the SDKs use', () => {
    const { openai, anthropic, gemini, together, groq, ollama } = config.providers;
    assert.equal(openai?.api_key_env, 'OPENAI_API_KEY');
    assert.equal(openai?.base_url, 'https://api.openai.com/v1');
    assert.equal(openai?.base_url_env, 'OPENAI_BASE_URL');
    assert.deepEqual(openai?.model_prefixes, ['gpt-', 'o1', 'o3', 'o4', 'chatgpt-', 'text-embedding-']);
    assert.equal(anthropic?.api_key_env, 'ANTHROPIC_API_KEY');
    assert.deepEqual(anthropic?.model_prefixes, ['claude-']);
    assert.equal(gemini?.api_key_env, 'GEMINI_API_KEY');
    assert.deepEqual(gemini?.model_prefixes, ['gemini-']);
    assert.equal(together?.api_key_env, 'TOGETHER_API_KEY');
    assert.equal(groq?.api_key_env, 'GROQ_API_KEY');
    assert.equal(ollama?.requires_api_key, false);
    assert.equal(ollama?.enabled, false, 'a keyless local server is off until configured');
  });

  test('the result is deeply frozen', () => {
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.server));
    assert.ok(Object.isFrozen(config.providers));
    assert.ok(Object.isFrozen(config.providers.openai?.models));
    assert.throws(() => {
      (config.server as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => {
      (config.providers.openai!.models as string[]).push('evil');
    }, TypeError);
    assert.equal(loadConfig({ env: {} }).server.port, 8000, 'a new load starts from fresh defaults');
  });
});

describe('YAML file', () => {
  test('sections merge over the defaults field by field', () => {
    const config = loadConfig({ env: {}, yamlText: 'server: { port: 9000 }\nretry: { max_attempts: 5 }' });
    assert.equal(config.server.port, 9000);
    assert.equal(config.server.host, '127.0.0.1');
    assert.deepEqual(config.retry, { max_attempts: 5, base_delay_ms: 500, max_delay_ms: 30_000 });
  });

  test('a provider override merges over the built-in entry', () => {
    const config = loadConfig({
      env: {},
      yamlText:
        'providers:\n  anthropic: { default_max_tokens: 8192, base_url: "https://proxy.corp/anthropic" }',
    });
    const anthropic = config.providers.anthropic;
    assert.equal(anthropic?.default_max_tokens, 8192);
    assert.equal(anthropic?.base_url, 'https://proxy.corp/anthropic');
    assert.equal(anthropic?.type, 'anthropic');
    assert.equal(anthropic?.api_key_env, 'ANTHROPIC_API_KEY');
    assert.deepEqual(anthropic?.model_prefixes, ['claude-']);
    assert.ok(anthropic?.models.includes('claude-3-5-haiku-latest'));
    assert.ok(config.providers.openai, 'other built-ins stay');
  });

  test('a new provider gets the provider defaults', () => {
    const config = loadConfig({
      env: {},
      yamlText: `providers:
  my-vllm:
    type: openai
    base_url: http://10.0.0.5:8000/v1
    requires_api_key: false
    models: [meta-llama/Llama-3.1-8B-Instruct]`,
    });
    assert.deepEqual(config.providers['my-vllm'], {
      type: 'openai',
      base_url: 'http://10.0.0.5:8000/v1',
      requires_api_key: false,
      enabled: true,
      headers: {},
      models: ['meta-llama/Llama-3.1-8B-Instruct'],
      model_prefixes: [],
      default_max_tokens: 4096,
    });
  });

  test('routes get the failover strategy by default', () => {
    const config = loadConfig({
      env: {},
      yamlText: 'routes:\n  smart:\n    deployments: [{ provider: openai, model: gpt-4o-mini }]',
    });
    assert.deepEqual(config.routes.smart, {
      strategy: 'failover',
      deployments: [{ provider: 'openai', model: 'gpt-4o-mini' }],
    });
  });

  test('is read from a file path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
    try {
      const file = join(dir, 'gateway.yaml');
      writeFileSync(file, 'server:\n  port: 8123\n');
      assert.equal(loadConfig({ env: {}, file }).server.port, 8123);
      hasProblem(problemsOf({ env: {}, file: join(dir, 'missing.yaml') }), join(dir, 'missing.yaml'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('text that is not YAML, or not a mapping, is a problem', () => {
    hasProblem(problemsOf({ env: {}, yamlText: 'server: [unclosed' }), 'config', /not valid YAML/);
    hasProblem(problemsOf({ env: {}, yamlText: '- a\n- b' }), 'config', /mapping/);
  });

  test('a YAML syntax error gives the reason and position, never the text around it (it may hold a password)', () => {
    const yamlText = 'database:\n  url: "postgres://app:pw-DO-NOT-LEAK@db/app\n';
    const problems = problemsOf({ env: {}, yamlText });
    hasProblem(problems, 'config', /not valid YAML \(.*at line \d+, column \d+\)$/);
    assert.ok(!problems.some((p) => p.includes('DO-NOT-LEAK')), problems.join('\n'));
  });
});

describe('secure bind defaults', () => {
  test('no auth configured: loopback by default; with an admin key: every interface', () => {
    assert.equal(loadConfig({ env: {} }).server.host, '127.0.0.1');
    const keyed = loadConfig({ env: { GATEWAY_ADMIN_KEY: 'admin-key-0123456789' } });
    assert.equal(keyed.auth.mode, 'keys');
    assert.equal(keyed.server.host, '0.0.0.0');
    assert.equal(loadConfig({ env: { AUTH_MODE: 'keys' } }).server.host, '0.0.0.0');
  });

  test('HOST off loopback without auth is refused, naming both ways out', () => {
    for (const input of [
      { env: { HOST: '0.0.0.0' } },
      { env: { HOST: '::' } },
      { env: {}, yamlText: 'server: { host: 192.168.1.10 }' },
    ]) {
      const problems = problemsOf(input);
      const hit = problems.find((p) => p.startsWith('server.host'));
      assert.ok(hit, `refused: ${JSON.stringify(input)}`);
      assert.match(hit, /GATEWAY_ADMIN_KEY/);
      assert.match(hit, /AUTH_MODE=none/);
    }
    assert.match(problemsOf({ env: { HOST: '0.0.0.0' } })[0] as string, /\(from env HOST\)/);
  });

  test('HOST on loopback, or AUTH_MODE=none given explicitly, or auth keys: allowed', () => {
    assert.equal(loadConfig({ env: { HOST: 'localhost' } }).server.host, 'localhost');
    assert.equal(loadConfig({ env: { HOST: '::1' } }).server.host, '::1');
    assert.equal(loadConfig({ env: { HOST: '0.0.0.0', AUTH_MODE: 'none' } }).server.host, '0.0.0.0');
    const fromFile = loadConfig({ env: {}, yamlText: 'server: { host: 0.0.0.0 }\nauth: { mode: none }' });
    assert.equal(fromFile.server.host, '0.0.0.0');
    const keyed = loadConfig({ env: { HOST: '0.0.0.0', GATEWAY_ADMIN_KEY: 'admin-key-0123456789' } });
    assert.equal(keyed.server.host, '0.0.0.0');
  });
});

describe('environment overrides', () => {
  test('env wins over the file and converts units', () => {
    const config = loadConfig({
      env: {
        PORT: '9090',
        HOST: '127.0.0.1',
        LLM_TIMEOUT: '2.5',
        LLM_MAX_RETRIES: '5',
        MAX_BODY_BYTES: '2048',
        LOG_LEVEL: 'debug',
        TRUST_PROXY: 'true',
      },
      yamlText: 'server: { port: 9000 }\nupstream: { timeout_ms: 1000 }',
    });
    assert.equal(config.server.port, 9090);
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.upstream.timeout_ms, 2_500, 'LLM_TIMEOUT is in seconds');
    assert.equal(config.retry.max_attempts, 5);
    assert.equal(config.server.body_limit_bytes, 2048);
    assert.equal(config.log.level, 'debug');
    assert.equal(config.server.trust_proxy, true);
  });

  test('empty env values are ignored', () => {
    assert.equal(loadConfig({ env: { PORT: '' } }).server.port, 8000);
  });

  test('OPENAI_BASE_URL overrides the file and the built-in base URL', () => {
    const config = loadConfig({
      env: { OPENAI_BASE_URL: 'http://127.0.0.1:4010/v1' },
      yamlText: 'providers:\n  openai: { base_url: "https://from-file.example/v1" }',
    });
    assert.equal(config.providers.openai?.base_url, 'http://127.0.0.1:4010/v1');
  });

  test('OLLAMA_BASE_URL sets the base URL and enables the keyless provider', () => {
    const config = loadConfig({ env: { OLLAMA_BASE_URL: 'http://gpu-box:11434/v1' } });
    assert.equal(config.providers.ollama?.base_url, 'http://gpu-box:11434/v1');
    assert.equal(config.providers.ollama?.enabled, true);
    assert.equal(loadConfig({ env: {} }).providers.ollama?.enabled, false);
  });

  test('a bad env value names the variable', () => {
    hasProblem(problemsOf({ env: { PORT: 'eighty' } }), 'server.port', /PORT[\s\S]*"eighty"/);
    hasProblem(problemsOf({ env: { LLM_TIMEOUT: '-1' } }), 'upstream.timeout_ms', /LLM_TIMEOUT/);
    hasProblem(problemsOf({ env: { LLM_MAX_RETRIES: '0' } }), 'retry.max_attempts', /LLM_MAX_RETRIES/);
    hasProblem(problemsOf({ env: { LOG_BODIES: 'maybe' } }), 'log.bodies', /LOG_BODIES/);
    hasProblem(problemsOf({ env: { LOG_LEVEL: 'loud' } }), 'log.level', /LOG_LEVEL[\s\S]*"loud"/);
  });

  test('a bad env value says what was expected: a negative duration is not "not a number"', () => {
    hasProblem(
      problemsOf({ env: { LLM_TIMEOUT: '-1' } }),
      'upstream.timeout_ms',
      /expected a number of seconds, 0 or more, got "-1"/,
    );
    hasProblem(problemsOf({ env: { LLM_MAX_RETRIES: '1.5' } }), 'retry.max_attempts', /a whole number/);
  });

  test('a setting that may be off (null) says what a value must be, not "Expected union value"', () => {
    const problems = problemsOf({
      env: { BUDGET_DEFAULT_DAILY_USD: '-1', USAGE_RETENTION_DAYS: '0', END_USER_DEFAULT_RPM: '0' },
    });
    hasProblem(problems, 'budgets.default.daily_usd', /greater or equal to 0$/);
    hasProblem(problems, 'accounting.retention_days', /greater or equal to 1$/);
    hasProblem(problems, 'tenancy.end_user.rpm_limit', /greater or equal to 1$/);
    assert.ok(!problems.some((p) => p.includes('union')), problems.join('\n'));
  });

  test('a URL of the wrong kind names the kind, not a schema term, and never echoes the URL', () => {
    const problems = problemsOf({
      env: {
        REDIS_URL: 'localhost:6379',
        DATABASE_URL: 'mysql://app:s3cret-pw@db/app',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
      },
    });
    hasProblem(problems, 'redis.url (from env REDIS_URL)', /expected a redis:\/\/ or rediss:\/\/ URL$/);
    hasProblem(
      problems,
      'database.url (from env DATABASE_URL)',
      /expected a postgres:\/\/ or postgresql:\/\/ URL$/,
    );
    hasProblem(problems, 'telemetry.otlp_endpoint', /expected an http:\/\/ or https:\/\/ URL$/);
    assert.ok(!problems.some((p) => p.includes('s3cret-pw')));
  });

  test('a URL setting given a number in the file names the URL expected too', () => {
    const problems = problemsOf({ env: {}, yamlText: 'database: { url: 5 }\n' });
    hasProblem(problems, 'database.url', /^database\.url: expected a postgres:\/\/ or postgresql:\/\/ URL$/);
  });
});

describe('invalid configuration', () => {
  test('every problem is listed at once, each with its path', () => {
    const problems = problemsOf({
      env: { LLM_TIMEOUT: 'soon', OPENAI_API_KEY: 'sk-not-relevant' },
      yamlText: `
server: { port: 70000 }
caching: { enabled: true }
providers:
  openai: { base_url: "not a url" }
routes:
  smart:
    deployments: [{ provider: openai, model: gpt-4o }, { provider: nope, model: x }]
auth: { mode: sometimes }
`,
    });
    hasProblem(problems, 'server.port', /65535/);
    hasProblem(problems, 'caching', /unknown field/);
    hasProblem(problems, 'providers.openai.base_url');
    hasProblem(problems, 'routes.smart.deployments.1.provider', /unknown provider "nope"/);
    hasProblem(problems, 'auth.mode', /"none"[\s\S]*"keys"/);
    hasProblem(problems, 'upstream.timeout_ms (from env LLM_TIMEOUT)', /"soon"/);
    assert.equal(problems.length, 6, problems.join('\n'));
  });

  test('a misspelt field suggests the field it most likely meant', () => {
    const problems = problemsOf({
      env: {},
      yamlText: 'rate_limts: { enabled: false }\nserver: { prot: 9000, zzzzzz: 1 }\n',
    });
    hasProblem(problems, 'rate_limts', /unknown field \(did you mean "rate_limit"\?\)/);
    hasProblem(problems, 'server.prot', /did you mean "port"/);
    hasProblem(problems, 'server.zzzzzz', /^server\.zzzzzz: unknown field$/);
  });

  test('the message names the config file the problems are in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
    try {
      const file = join(dir, 'gateway.yaml');
      writeFileSync(file, 'rate_limts: {}\n');
      let caught: unknown;
      try {
        loadConfig({ env: {}, file });
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof ConfigError);
      assert.match(caught.message.split('\n')[0] as string, new RegExp(`config file ${file}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a problem inside a malformed section does not hide the others', () => {
    const problems = problemsOf({
      env: {},
      yamlText: `
retry: null
routes:
  smart:
    deployments: [{ provider: nope, model: x }]
`,
    });
    hasProblem(problems, 'retry');
    hasProblem(problems, 'routes.smart.deployments.0.provider', /nope/);
  });

  test('an api_key in a provider is rejected without echoing it: keys come only from env', () => {
    const secret = 'sk-live-DO-NOT-LEAK-1234567890';
    let caught: unknown;
    try {
      loadConfig({ env: {}, yamlText: `providers:\n  openai: { api_key: ${secret} }` });
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof ConfigError);
    hasProblem(caught.problems, 'providers.openai.api_key', /env/);
    assert.ok(!caught.message.includes(secret), 'the secret must not appear in the error');
    assert.ok(!caught.problems.some((p) => p.includes(secret)));
  });

  test('keys config needs hashes, never keys', () => {
    const problems = problemsOf({
      env: {},
      yamlText: `auth:
  mode: keys
  keys:
    - { name: a, key_sha256: not-a-hash, user_id: u1 }
    - { name: b, key: sk-plain, key_sha256: ${'a'.repeat(64)}, user_id: u2 }`,
    });
    hasProblem(problems, 'auth.keys.0.key_sha256');
    hasProblem(problems, 'auth.keys.1.key', /env|secret/);
  });

  test('retry delays must be ordered', () => {
    const problems = problemsOf({ env: { LLM_RETRY_BASE_MS: '5000', LLM_RETRY_MAX_MS: '100' } });
    hasProblem(problems, 'retry.base_delay_ms', /max_delay_ms/);
  });

  test('feedback metrics whose range accepts nothing, or with a name the route cannot take', () => {
    const problems = problemsOf({
      env: {},
      yamlText: `feedback:
  metrics:
    rating: { type: numeric, min: 5, max: 1 }
    thumbs_up: { type: boolean, max: 1 }
    "Thumbs Up!": { type: boolean }`,
    });
    hasProblem(problems, 'feedback.metrics.rating', /min \(5\) is above max \(1\)/);
    hasProblem(problems, 'feedback.metrics.thumbs_up', /numeric/);
    hasProblem(problems, 'feedback.metrics.Thumbs Up!', /a-z/);
  });
});
