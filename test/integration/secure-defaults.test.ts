/**
 * Secure defaults (DESIGN §7; docs/decisions/0084-secure-defaults.md), against real gateways:
 * - bodies that are not `application/json` → 415 naming the content type, never parsed, never upstream;
 * - `GET /admin/config` shows no secret (DATABASE_URL password, webhook URL, admin and provider keys);
 * - numeric admin inputs out of range → 422 naming the field and the range (keys in real PostgreSQL);
 * - the process: loopback by default without auth, refusal on HOST=0.0.0.0 without an explicit
 *   AUTH_MODE, and a warning when AUTH_MODE=none is explicit.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { mockEnv, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { freePort, startProcess, stopProcess } from '../helpers/process.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

const skipPostgres = await requireServices('postgres');
const ADMIN = 'admin-SECRET-secure-0123456789abcdef';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const chatBody = JSON.stringify({ model: 'gpt-4o-mini', messages: userMessage() });

describe('415 for bodies that are not JSON', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({ mock, env: { GATEWAY_ADMIN_KEY: ADMIN, GATEWAY_DATA_DIR: 'memory://' } });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  const post = (path: string, contentType: string | undefined, body: string, auth = ADMIN) =>
    fetch(`${gw.url}${path}`, {
      method: 'POST',
      // fetch sends text/plain for a string body unless told otherwise; a Blob without a type sends none.
      headers: { authorization: `Bearer ${auth}`, ...(contentType ? { 'content-type': contentType } : {}) },
      body: contentType === undefined ? new Blob([body]) : body,
    });

  test('text/plain, forms, multipart and no Content-Type: 415 naming it; the upstream never called', async () => {
    const before = mock.requests.length;
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=latin1',
      undefined,
    ]) {
      for (const path of ['/v1/chat/completions', '/v1/embeddings']) {
        const res = await post(path, type, chatBody);
        const body = (await res.json()) as ErrorBody;
        assert.equal(res.status, 415, `${path} ${type}: ${JSON.stringify(body)}`);
        assert.equal(body.error.type, 'invalid_request_error');
        assert.equal(body.error.code, 'unsupported_media_type');
        assert.ok(body.error.message.includes(type ?? 'without Content-Type'), body.error.message);
        assert.match(body.error.message, /application\/json/);
      }
    }
    assert.equal(mock.requests.length, before, 'no body that is not JSON reached a provider');
  });

  test('application/json with a UTF-8 charset, in any case, is served', async () => {
    await gw.gateway.stores.database().ready;
    const created = await post(
      '/admin/keys',
      'application/json',
      JSON.stringify({ name: 'c', user_id: 'c' }),
    );
    assert.equal(created.status, 201);
    const { key } = (await created.json()) as { key: string };
    const before = mock.requests.length;
    const types = [
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON; Charset="UTF-8"',
    ];
    for (const type of types) {
      const res = await post('/v1/chat/completions', type, chatBody, key);
      const text = await res.text();
      assert.equal(res.status, 200, `${type}: ${text}`);
    }
    assert.equal(mock.requests.length - before, types.length);
  });

  test('admin POST bodies: 415 for text/plain, JSON accepted', async () => {
    const key = JSON.stringify({ name: 'k', user_id: 'u' });
    const plain = await post('/admin/keys', 'text/plain', key);
    assert.equal(plain.status, 415);
    assert.match(((await plain.json()) as ErrorBody).error.message, /text\/plain/);
    const form = await post('/admin/keys', 'application/x-www-form-urlencoded', 'name=k&user_id=u');
    assert.equal(form.status, 415);
    await form.text();
    const json = await post('/admin/keys', 'application/json; charset=utf-8', key);
    assert.equal(json.status, 201, await json.text());
    // Rotation without a body still needs no Content-Type.
    const list = (await (
      await fetch(`${gw.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as {
      data: Array<{ id: string }>;
    };
    const rotate = await fetch(`${gw.url}/admin/keys/${list.data[0]?.id}/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.equal(rotate.status, 201, await rotate.text());
  });
});

describe('admin config and numeric admin inputs (PostgreSQL)', { skip: skipPostgres }, () => {
  let db: TestDatabase;
  let mock: MockUpstream;
  let gw: TestGateway;
  let databaseUrl: string;
  before(async () => {
    db = await createTestDatabase('secure');
    // The local PostgreSQL trusts 127.0.0.1, so a password in the URL is accepted and ignored.
    const url = new URL(db.url);
    url.password = 'db-SECRET-pw';
    databaseUrl = url.toString();
    mock = await MockUpstream.start();
    gw = await startGateway({
      mock,
      env: {
        GATEWAY_ADMIN_KEY: ADMIN,
        DATABASE_URL: databaseUrl,
        COST_ALERT_WEBHOOK_URL: 'https://hooks.example.com/services/T0/B0/webhook-SECRET',
      },
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await db.drop();
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, text: await res.text() };
  };

  test('GET /admin/config shows no secret', async () => {
    const { status, text } = await admin('GET', '/admin/config');
    assert.equal(status, 200);
    for (const secret of [
      'db-SECRET-pw',
      'webhook-SECRET',
      ADMIN,
      ...Object.values(mockEnv(mock)).filter((v) => v.includes('SECRET')),
    ]) {
      assert.ok(!text.includes(secret), `${secret} is not shown`);
    }
    const config = JSON.parse(text) as {
      database: { url: string };
      accounting: { alert_webhook_url: string };
    };
    assert.equal(config.database.url, databaseUrl.replace('db-SECRET-pw', '***'));
    assert.equal(config.accounting.alert_webhook_url, '[redacted]');
  });

  test('out-of-range numbers and dates: 422 naming the field and the range, never a 5xx', async () => {
    const cases: Array<[string, string, unknown, string, RegExp]> = [
      [
        'POST',
        '/admin/keys',
        { name: 'k', user_id: 'u', daily_budget_usd: 1_000_000 },
        'daily_budget_usd',
        /between 0 and 999999/,
      ],
      [
        'POST',
        '/admin/keys',
        { name: 'k', user_id: 'u', monthly_budget_usd: 1e12 },
        'monthly_budget_usd',
        /between 0 and 999999/,
      ],
      [
        'POST',
        '/admin/keys',
        { name: 'k', user_id: 'u', daily_budget_usd: -0.01 },
        'daily_budget_usd',
        /between 0 and 999999/,
      ],
      [
        'POST',
        '/admin/keys',
        { name: 'k', user_id: 'u', expires_at: '0000-01-01T00:00:00Z' },
        'expires_at',
        /between 1970/,
      ],
      [
        'POST',
        '/admin/keys/key_x/rotate',
        { grace_period_seconds: 31 * 86_400 },
        'grace_period_seconds',
        /between 0 and 2592000/,
      ],
      ['GET', '/admin/costs/summary?start_date=0000-01-01', undefined, 'start_date', /between 1970-01-01/],
      ['GET', `/admin/keys?user_id=${'u'.repeat(200)}`, undefined, 'user_id', /128/],
    ];
    for (const [method, path, body, param, message] of cases) {
      const res = await admin(method, path, body);
      assert.equal(res.status, 422, `${method} ${path} ${JSON.stringify(body)} → ${res.text}`);
      const error = (JSON.parse(res.text) as ErrorBody).error;
      assert.equal(error.param, param);
      assert.match(error.message, message);
    }
    // The largest allowed budget is stored exactly.
    const max = await admin('POST', '/admin/keys', {
      name: 'max',
      user_id: 'u',
      daily_budget_usd: 999_999,
      monthly_budget_usd: 999_999,
    });
    assert.equal(max.status, 201, max.text);
    assert.equal((JSON.parse(max.text) as { daily_budget_usd: number }).daily_budget_usd, 999_999);
  });
});

/** A non-loopback IPv4 address of this machine, if it has one. */
function externalAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('where the process listens', () => {
  let mock: MockUpstream;
  before(async () => {
    mock = await MockUpstream.start();
  });
  after(() => mock.close());

  test('no auth configured and no HOST: loopback only', async () => {
    const port = await freePort();
    const proc = startProcess({ ...mockEnv(mock), PORT: String(port), GATEWAY_DATA_DIR: 'memory://' });
    try {
      const ready = await proc.waitForLog((l) => l.event === 'gateway.ready', 60_000);
      assert.match(String(ready.address), /^http:\/\/127\.0\.0\.1:/);
      assert.ok(await connects('127.0.0.1', port));
      const external = externalAddress();
      if (external) assert.equal(await connects(external, port), false, `not reachable on ${external}`);
      assert.ok(!proc.lines.some((l) => l.event === 'gateway.open_bind'));
    } finally {
      await stopProcess(proc);
    }
  });

  test('HOST=0.0.0.0 without auth: refuses to start, naming both ways out', async () => {
    const port = await freePort();
    const proc = startProcess({ ...mockEnv(mock), HOST: '0.0.0.0', PORT: String(port) });
    const exit = await proc.exited;
    assert.equal(exit.code, 1);
    const stderr = proc.stderr();
    assert.match(stderr, /server\.host \(from env HOST\): "0\.0\.0\.0" is not a loopback address/);
    assert.match(stderr, /GATEWAY_ADMIN_KEY/);
    assert.match(stderr, /AUTH_MODE=none/);
    assert.equal(await connects('127.0.0.1', port), false);
  });

  test('HOST=0.0.0.0 with AUTH_MODE=none: starts and logs a warning', async () => {
    const port = await freePort();
    const proc = startProcess({
      ...mockEnv(mock),
      HOST: '0.0.0.0',
      AUTH_MODE: 'none',
      PORT: String(port),
      GATEWAY_DATA_DIR: 'memory://',
    });
    try {
      await proc.waitForLog((l) => l.event === 'gateway.ready', 60_000);
      const warning = await proc.waitForLog((l) => l.event === 'gateway.open_bind');
      assert.equal(warning.level, 'warn');
      assert.match(String(warning.msg), /anyone who can reach this address/);
      const external = externalAddress();
      if (external) assert.ok(await connects(external, port), `reachable on ${external}`);
    } finally {
      await stopProcess(proc);
    }
  });
});
