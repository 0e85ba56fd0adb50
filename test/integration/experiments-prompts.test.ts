/**
 * A request is served the prompt it names (audit E, F2; decision 0227). A request for prompt `other`
 * naming an experiment whose variants serve prompt `ex` used to be answered from `ex` (holdout: `other`),
 * and an experiment attached to a prompt or label that does not exist was accepted and then answered
 * requests for that prompt with another prompt's text. Now the mismatch is a 422 naming `experiment`, the
 * missing prompt or label a 404, and creating such an experiment a 422 naming the field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useAdminGateway } from '../helpers/admin-gateway.js';
import { postJson } from '../helpers/gateway.js';
import { requireServices } from '../helpers/services.js';

const ADMIN = 'admin-SECRET-exp-prompts-0123456789';
const skipPostgres = await requireServices('postgres');

describe('experiments serve the prompt a request names (PostgreSQL)', { skip: skipPostgres }, () => {
  const t = useAdminGateway('exp_prompts', ADMIN);
  const admin = t.admin;
  const chat = (body: unknown) => postJson(`${t.gw.url}/v1/chat/completions`, body);
  const completions = (id: string, body: unknown) =>
    postJson(`${t.gw.url}/v1/prompts/${id}/completions`, body);
  const error = async (res: { json(): Promise<unknown> }) =>
    ((await res.json()) as { error: { message: string; param: string | null } }).error;

  test('setup: prompts ex (v1, v2) and other, an experiment on ex@production', async () => {
    for (const [id, text] of [
      ['ex', 'EX {{q}}'],
      ['other', 'OTHER {{q}}'],
    ] as const) {
      const created = await admin('POST', '/admin/prompts', {
        id,
        messages: [{ role: 'user', content: text }],
        model: 'gpt-4o-mini',
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(
        (await admin('PUT', `/admin/prompts/${id}/labels/production`, { version: 1 })).status,
        200,
      );
    }
    const v2 = await admin('POST', '/admin/prompts/ex/versions', {
      messages: [{ role: 'user', content: 'EX2 {{q}}' }],
      model: 'gpt-4o-mini',
    });
    assert.equal(v2.status, 201);
    const exp = await admin('POST', '/admin/experiments', {
      id: 'exp1',
      variants: [
        { name: 'control', weight: 1, prompt: { id: 'ex', version: 1 } },
        { name: 'cand', weight: 1, prompt: { id: 'ex', version: 2 } },
      ],
      holdout: 0.2,
      prompt: { id: 'ex', label: 'production' },
    });
    assert.equal(exp.status, 201, JSON.stringify(exp.body));
  });

  test('a request for another prompt naming the experiment is a 422 for every user; its own prompt joins', async () => {
    for (let u = 0; u < 12; u++) {
      const user = `user-${u}`;
      for (const res of [
        await chat({
          model: 'gpt-4o-mini',
          messages: [],
          user,
          experiment: 'exp1',
          prompt: { id: 'other', variables: { q: 'x' } },
        }),
        await completions('other', { user, experiment: 'exp1', variables: { q: 'x' } }),
      ]) {
        assert.equal(res.status, 422);
        const e = await error(res);
        assert.equal(e.param, 'experiment');
        assert.match(e.message, /Experiment 'exp1' serves prompt 'ex', not the requested prompt 'other'/);
      }
      const own = await completions('ex', { user, experiment: 'exp1', variables: { q: 'x' } });
      assert.equal(own.status, 200, await own.text());
      assert.match(String(own.headers.get('x-gateway-prompt-version')), /^ex@[12]$/);
    }
    // Without the experiment, prompt other is served as asked.
    const plain = await completions('other', { variables: { q: 'x' } });
    assert.equal(plain.headers.get('x-gateway-prompt-version'), 'other@1');
  });

  test('creating an experiment attached to a prompt or label that does not exist, or serving another prompt, is a 422', async () => {
    const variant = { name: 'a', weight: 1, prompt: { id: 'ex', version: 1 } };
    for (const [body, param, message] of [
      [{ prompt: { id: 'nope', label: 'production' } }, 'prompt', /No prompt 'nope'/],
      [{ prompt: { id: 'ex', label: 'nolabel' } }, 'prompt.label', /no label 'nolabel'/],
      [
        { prompt: { id: 'other', label: 'production' } },
        'variants[0].prompt.id',
        /attached to prompt 'other'.*not 'ex'/,
      ],
    ] as const) {
      const res = await admin('POST', '/admin/experiments', {
        id: 'bad',
        status: 'draft',
        variants: [variant],
        ...body,
      });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.error?.param, param);
      assert.match(res.body.error?.message ?? '', message);
    }
    assert.equal((await admin('GET', '/admin/experiments/bad')).status, 404, 'nothing was stored');
  });

  test('experiments stored before the checks: a missing prompt or unset label is a 404, never another prompt', async () => {
    const db = t.gw.gateway.stores.database().db;
    const stored = (id: string, prompt_id: string, label: string) =>
      db
        .insertInto('experiments')
        .values({
          id,
          status: 'running',
          variants: JSON.stringify([{ name: 'a', weight: 1, prompt: { id: 'ex', version: 1 } }]),
          sticky_by: 'user',
          holdout: 0,
          prompt_id,
          label,
        })
        .execute();
    await stored('legacy-nope', 'nope', 'production');
    await stored('legacy-nolabel', 'ex', 'nolabel');
    for (const [res, message] of [
      [
        await chat({ model: 'gpt-4o-mini', messages: [], user: 'u1', prompt: { id: 'nope' } }),
        /No prompt 'nope'/,
      ],
      [await completions('nope', { user: 'u1' }), /No prompt 'nope'/],
      [
        await chat({
          model: 'gpt-4o-mini',
          messages: [],
          prompt: { id: 'ex', label: 'nolabel', variables: { q: 'x' } },
        }),
        /no label 'nolabel'/,
      ],
    ] as const) {
      assert.equal(res.status, 404);
      assert.match((await error(res)).message, message);
    }
  });
});
