/**
 * Guardrails (DESIGN §17) through the real gateway against the mock upstream: the default policy
 * (GUARDRAILS_DEFAULT_POLICY=pii) masks requests before they leave and answers before they reach the
 * client, JSON and streamed (values split across chunks), for every provider dialect; policies attached to
 * API keys (admin API, PostgreSQL) block with 400 content_policy_violation and no upstream call, or restore
 * masked values in a streamed answer (OpenAI SDK); the usage record and the metric note what fired; no raw
 * value reaches the logs, even with LOG_BODIES=true.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, readSseData, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

// Checked before any suite starts (a gateway starting meanwhile can delay the connection past its timeout).
const skip = await requireServices('postgres');
const CARD = '4111 1111 1111 1111';
const EMAIL = 'jane.doe@example.com';
const PROMPT = `Charge card ${CARD} and send the receipt to ${EMAIL}.`;
// Traces of the card: its first digits followed by a space or more digits. A bare '4111' also turns up in
// random hex (request and key ids), which made the checks below fail about once in a few hundred runs.
const CARD_TRACES = ['4111 1', '41111111'];
const hasCard = (text: string) => CARD_TRACES.some((trace) => text.includes(trace));
const RAW = [...CARD_TRACES, 'jane.doe', 'example.com', 'bob@corp.io'];

function userText(body: unknown): string {
  const messages = (body as { messages?: Array<{ content: unknown }> }).messages ?? [];
  return JSON.stringify(messages.at(-1)?.content);
}

function contentOf(data: string[]): string {
  let text = '';
  for (const d of data) {
    if (d === '[DONE]') continue;
    const chunk = JSON.parse(d) as { choices?: Array<{ delta?: { content?: string } }> };
    for (const c of chunk.choices ?? []) text += c.delta?.content ?? '';
  }
  return text;
}

describe('guardrails: the default policy (pii) on every request', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({
      mock,
      env: { GUARDRAILS_DEFAULT_POLICY: 'pii', LOG_BODIES: 'true', LOG_LEVEL: 'debug' },
    });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });

  test('JSON: the upstream sees placeholders; a value in the answer is masked too', async () => {
    mock.reset();
    mock.setAnswer({ text: 'Done. I also copied bob@corp.io.' });
    const res = await postJson(`${gw.url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      messages: userMessage(PROMPT),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    assert.equal(
      userText(mock.requests[0]?.body),
      JSON.stringify('Charge card <CREDIT_CARD_1> and send the receipt to <EMAIL_1>.'),
    );
    assert.equal(body.choices[0]?.message.content, 'Done. I also copied <EMAIL_2>.');
  });

  test('every provider dialect gets the masked request (Anthropic, Gemini)', async () => {
    for (const model of ['claude-3-5-haiku-20241022', 'gemini-2.5-flash']) {
      mock.reset();
      const res = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: userMessage(PROMPT) });
      assert.equal(res.status, 200, model);
      const sent = JSON.stringify(mock.requests[0]?.body);
      assert.ok(sent.includes('<CREDIT_CARD_1>') && !hasCard(sent), model);
    }
  });

  test('stream: values split across chunks never reach the client', async () => {
    mock.reset();
    mock.setAnswer({
      chunks: ['Your card 4111 11', '11 1111 11', '11 is on file; mail bob', '@corp', '.io if needed.'],
    });
    const res = await postJson(`${gw.url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      stream: true,
      messages: userMessage('hello'),
    });
    assert.equal(res.status, 200);
    const data = await readSseData(res.response);
    assert.equal(data.at(-1), '[DONE]');
    const text = contentOf(data);
    assert.equal(text, 'Your card <CREDIT_CARD_1> is on file; mail <EMAIL_1> if needed.');
    for (const raw of RAW) assert.ok(!data.join('').includes(raw), raw);
  });

  test('cache keys see the masked text: prompts differing only in a masked value share one entry', async () => {
    mock.reset();
    mock.setAnswer({ text: 'Noted, I will mail <EMAIL_1>.' });
    const ask = (address: string) =>
      postJson(`${gw.url}/v1/chat/completions`, {
        model: 'gpt-4o-mini',
        temperature: 0,
        messages: userMessage(`Remember my address ${address} for the cache test`),
      });
    const first = await ask('ana.garcia@example.org');
    const second = await ask('li.wang@corp.io');
    assert.equal(first.headers.get('x-cache-status'), 'MISS');
    assert.equal(second.headers.get('x-cache-status'), 'HIT');
    assert.equal(mock.requests.length, 1);
    const answer = (await second.json()) as { choices: Array<{ message: { content: string } }> };
    // pii does not restore: the shared answer keeps the placeholder, no other request's value leaks.
    assert.equal(answer.choices[0]?.message.content, 'Noted, I will mail <EMAIL_1>.');
  });

  test('end-user ids and the predicted output are masked on every endpoint (native bodies included)', async () => {
    const cases = [
      {
        path: '/v1/chat/completions',
        body: {
          model: 'gpt-4o-mini',
          messages: userMessage('hi'),
          user: EMAIL,
          prediction: { type: 'content', content: `file for ${EMAIL}` },
        },
      },
      {
        path: '/v1/messages',
        body: {
          model: 'claude-3-5-haiku-20241022',
          max_tokens: 20,
          messages: userMessage('hi'),
          metadata: { user_id: EMAIL },
        },
      },
      { path: '/v1/responses', body: { model: 'gpt-4o', input: 'hi', user: EMAIL, store: false } },
    ];
    for (const { path, body } of cases) {
      mock.reset();
      const res = await postJson(`${gw.url}${path}`, body);
      assert.equal(res.status, 200, path);
      await res.text();
      const sent = JSON.stringify(mock.requests[0]?.body);
      assert.ok(!sent.includes('jane.doe'), `${path}: ${sent}`);
      assert.ok(sent.includes('<EMAIL_1>'), `${path}: ${sent}`);
    }
  });

  test('embeddings input is masked too', async () => {
    mock.reset();
    const res = await postJson(`${gw.url}/v1/embeddings`, {
      model: 'text-embedding-3-small',
      input: `mail ${EMAIL}`,
    });
    assert.equal(res.status, 200);
    assert.deepEqual((mock.requests[0]?.body as { input: unknown } | undefined)?.input, 'mail <EMAIL_1>');
  });

  test('the metric counts actions with bounded labels; the logs hold no raw value (bodies logged)', async () => {
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(
      metrics,
      /llm_guardrail_actions_total\{policy="pii",entity="credit_card",action="mask",direction="input"\} \d+/,
    );
    assert.match(
      metrics,
      /llm_guardrail_actions_total\{policy="pii",entity="email",action="mask",direction="output"\} \d+/,
    );
    gw.gateway.logger.flush();
    await new Promise((r) => setTimeout(r, 100));
    const logs = gw.logs.join('\n');
    assert.match(logs, /guardrail\.fired/);
    assert.match(logs, /"prompt":/, 'bodies are logged (LOG_BODIES=true)');
    for (const raw of RAW) assert.ok(!logs.includes(raw), `log holds ${raw}`);
  });
});

const ADMIN = 'admin-SECRET-guardrails-0123456789';

describe('guardrails: policies attached to API keys', { skip }, () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let database: TestDatabase;
  before(async () => {
    mock = await MockUpstream.start();
    database = await createTestDatabase('guardrails');
    gw = await startGateway({
      mock,
      env: {
        AUTH_MODE: 'keys',
        GATEWAY_ADMIN_KEY: ADMIN,
        DATABASE_URL: database.url,
        USAGE_ENABLED: 'true',
        USAGE_FLUSH_INTERVAL_MS: '20',
      },
      yaml: [
        'guardrails:',
        '  policies:',
        '    strict:',
        "      entities: { credit_card: block, '*': mask }",
        '    assist:',
        '      restore: true',
        "      entities: { '*': mask }",
      ].join('\n'),
    });
    await gw.gateway.stores.database().ready;
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    await database?.drop();
  });

  const createKey = async (body: Record<string, unknown>) => {
    const res = await fetch(`${gw.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'k', user_id: 'alice', ...body }),
    });
    return {
      status: res.status,
      body: (await res.json()) as { key: string; guardrails: string[]; error?: { param: string } },
    };
  };

  const record = async (requestId: string) => {
    const db = gw.gateway.stores.database().db;
    for (let i = 0; i < 500; i++) {
      const row = await db
        .selectFrom('usage_records')
        .selectAll()
        .where('request_id', '=', requestId)
        .executeTakeFirst();
      if (row) return row;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.fail(`no usage record for ${requestId}`);
  };

  test('a key naming an unknown policy is refused (422 naming the field)', async () => {
    const res = await createKey({ guardrails: ['nope'] });
    assert.equal(res.status, 422);
    assert.equal(res.body.error?.param, 'guardrails');
  });

  test('block: 400 content_policy_violation, no upstream call, recorded without the value', async () => {
    const created = await createKey({ guardrails: ['strict'] });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.guardrails, ['strict']);
    mock.reset();
    const res = await postJson(
      `${gw.url}/v1/chat/completions`,
      { model: 'gpt-4o-mini', messages: userMessage(PROMPT) },
      { authorization: `Bearer ${created.body.key}` },
    );
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'content_policy_violation');
    assert.ok(!hasCard(body.error.message));
    assert.equal(mock.requests.length, 0);
    const row = await record(res.headers.get('x-request-id') as string);
    assert.equal(row.http_status, 400);
    const fired = JSON.parse(row.guardrails ?? '[]') as Array<Record<string, unknown>>;
    assert.ok(fired.some((f) => f.entity === 'credit_card' && f.action === 'block' && f.policy === 'strict'));
    assert.ok(!hasCard(JSON.stringify(row)));

    // The same key without a card: masked, not blocked.
    mock.reset();
    const ok = await postJson(
      `${gw.url}/v1/chat/completions`,
      { model: 'gpt-4o-mini', messages: userMessage(`mail ${EMAIL}`) },
      { authorization: `Bearer ${created.body.key}` },
    );
    assert.equal(ok.status, 200);
    assert.equal(userText(mock.requests[0]?.body), JSON.stringify('mail <EMAIL_1>'));
  });

  test("an organization's or team's policies apply to every key in it (with the key's own)", async () => {
    const admin = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${gw.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const unknown = await admin('POST', '/admin/orgs', { name: 'g-org', guardrails: ['nope'] });
    assert.equal(unknown.status, 422);
    assert.equal((unknown.body.error as { param: string }).param, 'guardrails');
    const org = await admin('POST', '/admin/orgs', { name: 'g-org', guardrails: ['strict'] });
    assert.equal(org.status, 201, JSON.stringify(org.body));
    assert.deepEqual(org.body.guardrails, ['strict']);
    const team = await admin('POST', '/admin/teams', { name: 'g-team', org_id: org.body.id });
    const inOrg = await createKey({ user_id: undefined, team_id: team.body.id });
    const send = (key: string) =>
      postJson(
        `${gw.url}/v1/chat/completions`,
        { model: 'gpt-4o-mini', messages: userMessage(PROMPT) },
        { authorization: `Bearer ${key}` },
      );
    mock.reset();
    const blocked = await send(inOrg.body.key);
    assert.equal(blocked.status, 400, "the organization's strict policy blocks the card");
    assert.equal(
      ((await blocked.json()) as { error: { code: string } }).error.code,
      'content_policy_violation',
    );
    assert.equal(mock.requests.length, 0);

    // A team's policy, changed by PATCH, applies at once on this instance; a key outside it is untouched.
    const solo = await admin('POST', '/admin/teams', { name: 'g-solo' });
    const soloKey = await createKey({ user_id: undefined, team_id: solo.body.id });
    assert.equal((await send(soloKey.body.key)).status, 200);
    assert.ok(hasCard(JSON.stringify(mock.requests[0]?.body)), 'no policy: the card as sent');
    const patched = await admin('PATCH', `/admin/teams/${solo.body.id}`, { guardrails: ['assist'] });
    assert.deepEqual(patched.body.guardrails, ['assist']);
    mock.reset();
    assert.equal((await send(soloKey.body.key)).status, 200);
    assert.ok(!hasCard(JSON.stringify(mock.requests[0]?.body)), "the team's policy masks the card");
  });

  test('restore: the upstream never sees the value; the streamed answer has it back (OpenAI SDK)', async () => {
    const created = await createKey({ guardrails: ['assist'] });
    mock.reset();
    mock.setAnswer({ chunks: ['I will write to <EMA', 'IL_1> now', ', and to bob@corp.io.'] });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: created.body.key, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: `Draft a note to ${EMAIL}` }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(userText(mock.requests[0]?.body), JSON.stringify('Draft a note to <EMAIL_1>'));
    assert.equal(text, `I will write to ${EMAIL} now, and to <EMAIL_2>.`);
  });
});
