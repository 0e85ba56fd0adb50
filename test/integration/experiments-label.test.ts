/**
 * One running experiment per prompt label (decision 0176): a second experiment attached to the same label
 * used to be accepted and, when its id sorted first, silently took over all the traffic of the one already
 * running (which still said "running" and stopped getting requests). Now creating it running, or starting
 * it, is a 409 naming the running one; as a draft it waits until that one stops.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useAdminGateway } from '../helpers/admin-gateway.js';
import { postJson } from '../helpers/gateway.js';
import { requireServices } from '../helpers/services.js';

const ADMIN = 'admin-SECRET-exp-label-0123456789';
const skipPostgres = await requireServices('postgres');

describe('experiments attached to a prompt label (PostgreSQL)', { skip: skipPostgres }, () => {
  const t = useAdminGateway('exp_label', ADMIN);
  const admin = t.admin;
  /** The variants served to a few end users asking for the prompt by its production label. */
  const served = async () => {
    const variants = new Set<string>();
    for (let u = 0; u < 8; u++) {
      const res = await postJson(`${t.gw.url}/v1/prompts/tips/completions`, {
        variables: { topic: 'tides' },
        user: `user-${u}`,
      });
      assert.equal(res.status, 200, await res.text());
      variants.add(String(res.headers.get('x-gateway-variant')));
    }
    return variants;
  };
  const experiment = (id: string, variant: string, status?: 'draft') => ({
    id,
    variants: [{ name: variant, weight: 1, model: 'gpt-4o' }],
    prompt: { id: 'tips', label: 'production' },
    ...(status ? { status } : {}),
  });

  test('a second experiment on a running label is refused until the first stops', async () => {
    const prompt = await admin('POST', '/admin/prompts', {
      id: 'tips',
      messages: [{ role: 'user', content: 'Three tips about {{topic}}.' }],
      model: 'gpt-4o-mini',
    });
    assert.equal(prompt.status, 201, JSON.stringify(prompt.body));
    assert.equal((await admin('PUT', '/admin/prompts/tips/labels/production', { version: 1 })).status, 200);

    assert.equal((await admin('POST', '/admin/experiments', experiment('exp-b', 'b-only'))).status, 201);
    assert.deepEqual(await served(), new Set(['b-only']));

    // "exp-a" sorts before "exp-b": accepted, it would take over every request.
    const clash = await admin('POST', '/admin/experiments', experiment('exp-a', 'a-only'));
    assert.equal(clash.status, 409, JSON.stringify(clash.body));
    assert.equal(clash.body.error?.code, 'conflict');
    assert.match(clash.body.error?.message ?? '', /'exp-b' is already running on tips@production/);
    assert.deepEqual(await served(), new Set(['b-only']), 'the running experiment keeps its traffic');

    // As a draft it is stored, but cannot start while exp-b runs.
    assert.equal(
      (await admin('POST', '/admin/experiments', experiment('exp-a', 'a-only', 'draft'))).status,
      201,
    );
    assert.equal((await admin('POST', '/admin/experiments/exp-a/start')).status, 409);
    assert.deepEqual(await served(), new Set(['b-only']));

    assert.equal((await admin('POST', '/admin/experiments/exp-b/stop')).body.status, 'stopped');
    const started = await admin('POST', '/admin/experiments/exp-a/start');
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal(started.body.status, 'running');
    assert.deepEqual(await served(), new Set(['a-only']));
    // Starting the running one again is fine (idempotent), and exp-b cannot come back while exp-a runs.
    assert.equal((await admin('POST', '/admin/experiments/exp-a/start')).status, 200);
    assert.equal((await admin('POST', '/admin/experiments/exp-b/start')).status, 409);
  });

  test('two requests racing for one label: one experiment runs, the other gets the 409', async () => {
    // The check before the write lets both through when they arrive together; the database's index
    // (migration 0011) refuses the second write.
    for (const label of ['race-create', 'race-start']) {
      assert.equal((await admin('PUT', `/admin/prompts/tips/labels/${label}`, { version: 1 })).status, 200);
    }
    const on = (id: string, label: string, status?: 'draft') => ({
      ...experiment(id, `${id}-variant`, status),
      prompt: { id: 'tips', label },
    });
    const created = await Promise.all(
      ['race-1', 'race-2', 'race-3'].map((id) => admin('POST', '/admin/experiments', on(id, 'race-create'))),
    );
    assert.deepEqual(
      created.map((r) => r.status).sort(),
      [201, 409, 409],
      JSON.stringify(created.map((r) => r.body)),
    );
    const winner = created.find((r) => r.status === 201)?.body.id as string;
    for (const lost of created.filter((r) => r.status === 409)) {
      assert.match(
        lost.body.error?.message ?? '',
        new RegExp(`'${winner}' is already running on tips@race-create`),
      );
    }

    for (const id of ['start-1', 'start-2', 'start-3']) {
      assert.equal((await admin('POST', '/admin/experiments', on(id, 'race-start', 'draft'))).status, 201);
    }
    const started = await Promise.all(
      ['start-1', 'start-2', 'start-3'].map((id) => admin('POST', `/admin/experiments/${id}/start`)),
    );
    assert.deepEqual(started.map((r) => r.status).sort(), [200, 409, 409]);
    const list = (await admin('GET', '/admin/experiments')).body.data as Array<{
      id: string;
      status: string;
    }>;
    const running = list.filter((e) => e.id.startsWith('start-') && e.status === 'running');
    assert.equal(running.length, 1);
  });

  test('a variant whose prompt cannot be served is refused at creation, not 404 for its users', async () => {
    const draft = await admin('POST', '/admin/prompts', {
      id: 'draft-only',
      messages: [{ role: 'user', content: 'Draft about {{topic}}.' }],
    });
    assert.equal(draft.status, 201, JSON.stringify(draft.body));
    const gone = await admin('POST', '/admin/prompts', {
      id: 'gone',
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(gone.status, 201);
    assert.equal((await admin('PUT', '/admin/prompts/gone/labels/production', { version: 1 })).status, 200);
    assert.equal((await admin('POST', '/admin/prompts/gone/archive')).status, 200);

    const control = { name: 'control', weight: 1, prompt: { id: 'tips', version: 1 } };
    for (const [prompt, param, message] of [
      [{ id: 'tips', label: 'canary' }, 'variants[1].prompt.label', /no label 'canary'/],
      [{ id: 'draft-only' }, 'variants[1].prompt.label', /no label 'production'/],
      [{ id: 'nope', label: 'production' }, 'variants[1].prompt', /No prompt 'nope'/],
      [{ id: 'gone', version: 1 }, 'variants[1].prompt.id', /archived/],
      [{ id: 'tips', version: 7 }, 'variants[1].prompt', /no version 7/],
    ] as const) {
      const res = await admin('POST', '/admin/experiments', {
        id: 'typo',
        status: 'draft',
        variants: [control, { name: 'candidate', weight: 1, prompt }],
      });
      assert.equal(res.status, 422, `${JSON.stringify(prompt)}: ${JSON.stringify(res.body)}`);
      const error = res.body.error as { param?: string; message: string } | undefined;
      assert.equal(error?.param, param, JSON.stringify(prompt));
      assert.match(error?.message ?? '', message);
    }
    assert.equal((await admin('GET', '/admin/experiments/typo')).status, 404, 'nothing was stored');
    // Set labels are fine, by name or (production) by default.
    const ok = await admin('POST', '/admin/experiments', {
      id: 'typo',
      status: 'draft',
      variants: [control, { name: 'candidate', weight: 1, prompt: { id: 'tips' } }],
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });
});
