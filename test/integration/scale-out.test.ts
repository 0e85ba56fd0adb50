/**
 * Scale-out (DESIGN §11, §14): three gateway processes behind nginx (round robin), sharing Redis and
 * PostgreSQL, keep one global rate limit and one budget exactly — whichever instance a request lands on.
 * API keys live in PostgreSQL (created through one instance, used through all); limits and budgets in Redis.
 *
 * Needs nginx (`.ci/run` installs `nginx-light`), Redis and PostgreSQL: locally a missing one skips the
 * suite with the reason, in CI (`CI=true`) it fails.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { reservationMicros, reservedPromptTokens } from '../../src/accounting/budgets.js';
import { PriceTable } from '../../src/accounting/pricing.js';
import type { ChatRequest } from '../../src/providers/types.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { mockEnv, postJson } from '../helpers/gateway.js';
import { freePort, type GatewayProcess, spawnGateway, stopProcess } from '../helpers/process.js';
import {
  createTestDatabase,
  REDIS_URL,
  requireServices,
  type TestDatabase,
  uniquePrefix,
} from '../helpers/services.js';

const INSTANCES = 3;
const ADMIN_KEY = 'scale-out-admin-key-0123456789';
const MODEL = 'gpt-4o-mini';
const MAX_TOKENS = 100;
/** The rate limit: a bucket of this many requests, refilled so slowly that none comes back during the test. */
const CAPACITY = 9;
/** The budget: exactly this many worst-case requests. */
const K = 5;

const body = {
  model: MODEL,
  max_tokens: MAX_TOKENS,
  messages: [{ role: 'user', content: 'Summarise the quarterly report in three sentences.' }],
} as ChatRequest;
const price = new PriceTable().priceOf(MODEL);
assert.ok(price);
const promptTokens = reservedPromptTokens(body);
const worstMicros = reservationMicros(price, promptTokens, MAX_TOKENS);

function nginxMissing(): string | undefined {
  try {
    execFileSync('sh', ['-c', 'command -v nginx'], { stdio: 'ignore' });
    return undefined;
  } catch {
    const message = 'nginx is not installed (Debian: apt-get install nginx-light)';
    if (process.env.CI) throw new Error(`${message} (CI=true: .ci/run installs it)`);
    return message;
  }
}

/** nginx in front of `ports`, round robin, on a free port; returns its origin and a stop function. */
async function startNginx(ports: number[]): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gw-nginx-'));
  const servers = ports.map((p) => `server 127.0.0.1:${p} max_fails=0;`).join(' ');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream gateways { ${servers} keepalive 32; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://gateways;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream off;
    }
  }
}
`,
  );
  const child: ChildProcess = spawn(
    'nginx',
    ['-e', `${dir}/error.log`, '-c', join(dir, 'nginx.conf'), '-p', dir],
    {
      stdio: 'ignore',
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await fetch(`${url}/health/live`);
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`nginx did not start (see ${dir})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function createKey(origin: string, fields: Record<string, unknown>): Promise<string> {
  const res = await postJson(`${origin}/admin/keys`, fields, { authorization: `Bearer ${ADMIN_KEY}` });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  const key = (JSON.parse(text) as { key?: unknown }).key;
  assert.equal(typeof key, 'string');
  return key as string;
}

/**
 * Requests each instance ended for `userId` (its `request.end` log lines, any status), once all `total`
 * have been logged (log lines reach stdout in batches, up to 100 ms late).
 */
async function servedBy(gateways: GatewayProcess[], userId: string, total: number): Promise<number[]> {
  const count = () =>
    gateways.map((gw) => gw.lines.filter((l) => l.event === 'request.end' && l.user_id === userId).length);
  const deadline = Date.now() + 10_000;
  while (count().reduce((a, n) => a + n, 0) < total && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return count();
}

const skip = nginxMissing() ?? (await requireServices('redis', 'postgres'));

describe(`${INSTANCES} instances behind nginx sharing Redis and PostgreSQL`, { skip }, () => {
  let mock: MockUpstream;
  let db: TestDatabase;
  let lb: { url: string; stop(): Promise<void> } | undefined;
  const gateways: GatewayProcess[] = [];

  before(async () => {
    mock = await MockUpstream.start();
    // The upstream reports the worst case the budget reserves, so each request spends its reservation.
    mock.setAnswer({ usage: { prompt: promptTokens, completion: MAX_TOKENS, cached: 0 } });
    db = await createTestDatabase('scaleout');
    const env = {
      ...mockEnv(mock),
      DATABASE_URL: db.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: uniquePrefix('scaleout'),
      // Generous: three gateways, nginx and the test share a small machine.
      REDIS_COMMAND_TIMEOUT_MS: '2000',
      AUTH_MODE: 'keys',
      GATEWAY_ADMIN_KEY: ADMIN_KEY,
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_DEFAULT_CAPACITY: String(CAPACITY),
      RATE_LIMIT_DEFAULT_RATE: '0.001',
      USAGE_ENABLED: 'true',
    };
    // One at a time: the first runs the migrations, the others find them done.
    for (let i = 0; i < INSTANCES; i++) gateways.push(await spawnGateway(env));
    lb = await startNginx(gateways.map((gw) => Number(new URL(gw.url).port)));
  });
  after(async () => {
    await lb?.stop();
    for (const gw of gateways) {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
    for (const gw of gateways) await stopProcess(gw);
    await mock?.close();
    await db?.drop();
  });

  test(`one rate limit: ${3 * CAPACITY} concurrent requests through nginx, exactly ${CAPACITY} admitted`, {
    timeout: 60_000,
  }, async () => {
    const origin = lb?.url as string;
    // Created through one instance (stored in PostgreSQL), used through all three.
    const key = await createKey(gateways[0]?.url as string, { name: 'limited', user_id: 'rl-user' });
    const before = mock.requests.length;
    const results = await Promise.all(
      Array.from({ length: 3 * CAPACITY }, () =>
        postJson(`${origin}/v1/chat/completions`, body, { authorization: `Bearer ${key}` }),
      ),
    );
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, CAPACITY, `statuses: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 429).length, 2 * CAPACITY);
    const refused = results.find((r) => r.status === 429);
    assert.ok(refused);
    const error = ((await refused.json()) as { error: { code: string } }).error;
    assert.equal(error.code, 'rate_limit_exceeded');
    assert.equal(mock.requests.length - before, CAPACITY, 'no refused request reached the upstream');
    // The load was spread: every instance answered some of the requests (and so checked the one bucket).
    const served = await servedBy(gateways, 'rl-user', 3 * CAPACITY);
    assert.equal(
      served.reduce((a, n) => a + n, 0),
      3 * CAPACITY,
    );
    assert.ok(
      served.every((n) => n > 0),
      `requests per instance: ${served.join(', ')}`,
    );
  });

  test(`one budget: a key budget of ${K} worst-case requests admits exactly ${K} of ${4 * K}`, {
    timeout: 60_000,
  }, async () => {
    const origin = lb?.url as string;
    const key = await createKey(gateways[1]?.url as string, {
      name: 'budgeted',
      user_id: 'budget-user',
      daily_budget_usd: (K * worstMicros) / 1e6,
    });
    const before = mock.requests.length;
    const results = await Promise.all(
      Array.from({ length: 4 * K }, () =>
        postJson(`${origin}/v1/chat/completions`, body, { authorization: `Bearer ${key}` }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const codes = await Promise.all(
      results
        .filter((r) => r.status !== 200)
        .map(async (r) => ((await r.json()) as { error: { code: string } }).error.code),
    );
    assert.equal(ok.length, K, `statuses: ${results.map((r) => r.status).join(',')}`);
    assert.ok(codes.includes('budget_exceeded'), `refusals: ${codes.join(',')}`);
    const spent = ok.reduce((sum, r) => sum + Math.round(Number(r.headers.get('x-cost')) * 1e6), 0);
    assert.ok(spent <= K * worstMicros, `spent ${spent} µ$ of a ${K * worstMicros} µ$ budget`);
    assert.equal(mock.requests.length - before, K, 'no refused request reached the upstream');
    // Spread over the instances, and refused on every one of them now.
    const served = await servedBy(gateways, 'budget-user', 4 * K);
    assert.ok(
      served.every((n) => n > 0),
      `requests per instance: ${served.join(', ')}`,
    );
    for (const gw of gateways) {
      const res = await postJson(`${gw.url}/v1/chat/completions`, body, { authorization: `Bearer ${key}` });
      assert.equal(res.status, 429, `instance ${gw.url}`);
    }
  });
});
