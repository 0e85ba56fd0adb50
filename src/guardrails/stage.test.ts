import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import {
  capturedLogger,
  chatContext,
  chunk,
  completion,
  recordingNext,
  samples,
  stageContext,
} from '../../test/helpers/stage.js';
import type { GuardrailPolicyConfig, GuardrailsConfig } from '../config/guardrails-schema.js';
import type { RequestContext } from '../core/context.js';
import { completionResult, embeddingResult, type StreamResult, streamResult } from '../core/result.js';
import type { ChatCompletionChunk, ChatRequest } from '../providers/types.js';
import { createMetrics } from '../telemetry/metrics.js';
import { MAX_VALIDATIONS } from './budget.js';
import { createGuardrailsFeature } from './feature.js';
import { GUARDRAIL_FINDINGS } from './findings.js';

const clock = fakeClock();

function policy(p: Partial<GuardrailPolicyConfig>): GuardrailPolicyConfig {
  return { input: true, output: true, restore: false, entities: {}, patterns: [], ...p };
}

function setup(config: Partial<GuardrailsConfig> = {}) {
  const metrics = createMetrics({ processMetrics: false });
  const feature = createGuardrailsFeature(
    { default_policy: null, phone_regions: ['US', 'GB'], policies: {}, ...config },
    { metrics },
  );
  return { metrics, stage: feature.stage };
}

const PROMPT = 'My card is 4111 1111 1111 1111 and mail jane.doe@example.com, thanks';

function ctxWith(content: string, keyPolicies?: string[], body: Partial<ChatRequest> = {}): RequestContext {
  const { logger, lines } = capturedLogger('debug');
  const ctx = chatContext(clock, { messages: [{ role: 'user', content }], ...body }, { log: logger });
  if (keyPolicies)
    ctx.principal = { userId: 'u', keyId: 'k', tier: 'free', allowedModels: null, guardrails: keyPolicies };
  (ctx as RequestContext & { lines: unknown[] }).lines = lines;
  return ctx;
}

function sentPrompt(ctx: RequestContext): string {
  const body = ctx.request?.body as ChatRequest;
  return body.messages[0]?.content as string;
}

function opened(chunks: ChatCompletionChunk[]) {
  const rest = chunks.slice(1)[Symbol.iterator]();
  return { head: chunks.slice(0, 1), rest: { next: async () => rest.next() }, close: () => undefined };
}

async function drain(result: StreamResult): Promise<string> {
  let text = '';
  const add = (c: ChatCompletionChunk) => {
    for (const choice of c.choices) text += choice.delta?.content ?? '';
  };
  result.head.forEach(add);
  for (let n = await result.rest.next(); !n.done; n = await result.rest.next()) add(n.value);
  result.end({ complete: true });
  return text;
}

describe('guard stage: requests', () => {
  it('no policy anywhere: the request passes untouched', async () => {
    const { stage } = setup();
    const ctx = ctxWith(PROMPT);
    const before = ctx.request;
    const next = recordingNext(() => completionResult(completion('ok'), 'upstream', null));
    await stage.run(ctx, next.next);
    assert.equal(ctx.request, before);
  });

  it('GUARDRAILS_DEFAULT_POLICY=pii masks every entity for every request, and the answer too (no restore)', async () => {
    const { stage, metrics } = setup({ default_policy: 'pii' });
    const ctx = ctxWith(PROMPT);
    const next = recordingNext(() =>
      completionResult(completion('Noted <CREDIT_CARD_1>; write to bob@corp.io'), 'upstream', null),
    );
    const result = await stage.run(ctx, next.next);
    assert.equal(next.calls.length, 1);
    assert.equal(sentPrompt(ctx), 'My card is <CREDIT_CARD_1> and mail <EMAIL_1>, thanks');
    assert.equal(
      result.kind === 'json' &&
        (result.body as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content,
      'Noted <CREDIT_CARD_1>; write to <EMAIL_2>',
    );
    assert.equal(result.outcome.output.text, 'Noted <CREDIT_CARD_1>; write to <EMAIL_2>');
    const found = GUARDRAIL_FINDINGS.get(ctx);
    assert.deepEqual(
      found?.map((f) => `${f.direction}:${f.entity}:${f.action}:${f.policy}:${f.count}`).sort(),
      ['input:credit_card:mask:pii:1', 'input:email:mask:pii:1', 'output:email:mask:pii:1'],
    );
    const values = await samples(metrics, 'llm_guardrail_actions_total');
    assert.ok(
      values.some(
        (v) => v.labels.entity === 'credit_card' && v.labels.direction === 'input' && v.value === 1,
      ),
    );
  });

  it('a policy attached to the key applies; another key without it is untouched', async () => {
    const { stage } = setup({ policies: { cards: policy({ entities: { credit_card: 'redact' } }) } });
    const ctx = ctxWith(PROMPT, ['cards']);
    await stage.run(ctx, recordingNext(() => completionResult(completion('ok'), 'upstream', null)).next);
    assert.equal(sentPrompt(ctx), 'My card is [REDACTED_CREDIT_CARD] and mail jane.doe@example.com, thanks');
    const other = ctxWith(PROMPT, []);
    await stage.run(other, recordingNext(() => completionResult(completion('ok'), 'upstream', null)).next);
    assert.equal(sentPrompt(other), PROMPT);
  });

  it('block: 400 content_policy_violation, nothing sent upstream, the value not in the message', async () => {
    const { stage } = setup({
      policies: { strict: policy({ entities: { credit_card: 'block', '*': 'mask' } }) },
    });
    const ctx = ctxWith(PROMPT, ['strict']);
    const next = recordingNext(() => completionResult(completion('ok'), 'upstream', null));
    await assert.rejects(stage.run(ctx, next.next), (err: Error & { status: number; code: string }) => {
      assert.equal(err.status, 400);
      assert.equal(err.code, 'content_policy_violation');
      assert.match(err.message, /policy "strict".*credit_card/);
      assert.ok(!err.message.includes('4111'));
      return true;
    });
    assert.equal(next.calls.length, 0);
    assert.ok(GUARDRAIL_FINDINGS.get(ctx)?.some((f) => f.action === 'block' && f.entity === 'credit_card'));
  });

  it('the strictest action across levels wins (a key cannot weaken the global policy)', async () => {
    const { stage } = setup({
      default_policy: 'pii',
      policies: {
        lax: policy({ entities: { '*': 'log_only' } }),
        cardblock: policy({ entities: { credit_card: 'block' } }),
      },
    });
    const lax = ctxWith(PROMPT, ['lax']);
    await stage.run(lax, recordingNext(() => completionResult(completion('ok'), 'upstream', null)).next);
    assert.equal(sentPrompt(lax), 'My card is <CREDIT_CARD_1> and mail <EMAIL_1>, thanks');
    await assert.rejects(
      stage.run(
        ctxWith(PROMPT, ['cardblock']),
        recordingNext(() => completionResult(completion('ok'), 'upstream', null)).next,
      ),
      /content_policy|blocked/,
    );
  });

  it('log_only: the request is sent as it is, the finding recorded', async () => {
    const { stage } = setup({ policies: { watch: policy({ entities: { '*': 'log_only' } }) } });
    const ctx = ctxWith(PROMPT, ['watch']);
    await stage.run(ctx, recordingNext(() => completionResult(completion('ok'), 'upstream', null)).next);
    assert.equal(sentPrompt(ctx), PROMPT);
    assert.equal(GUARDRAIL_FINDINGS.get(ctx)?.length, 2);
  });

  it('a passthrough request whose answer is checked is translated: its native body never reaches the call', async () => {
    const native = { api: 'anthropic-messages' as const, body: { messages: [] }, headers: {} };
    const withNative = (ctx: RequestContext) => {
      ctx.request = {
        ...(ctx.request as { kind: 'chat'; model: string; stream: boolean; body: ChatRequest }),
        native,
      };
      return ctx;
    };
    const nativeSeen = (ctx: RequestContext) =>
      ctx.request?.kind === 'chat' ? ctx.request.native : undefined;
    // Output checked (the pii policy checks answers), input clean: the native body still goes.
    const checked = withNative(ctxWith('hello there'));
    let seen: unknown = 'not called';
    await setup({ default_policy: 'pii' }).stage.run(checked, async (c) => {
      seen = nativeSeen(c);
      return completionResult(completion('ok'), 'upstream', null);
    });
    assert.equal(seen, undefined);
    // Input-only policy: the answer is not checked, so the native body goes as it is.
    const inputOnly = withNative(ctxWith('hello there', ['in']));
    await setup({ policies: { in: policy({ output: false, entities: { email: 'mask' } }) } }).stage.run(
      inputOnly,
      async (c) => {
        seen = nativeSeen(c);
        return completionResult(completion('ok'), 'upstream', null);
      },
    );
    assert.equal(seen, native);
  });

  it('content parts, every role, and embeddings input are checked; the native body is dropped when changed', async () => {
    const { stage } = setup({ default_policy: 'pii' });
    const ctx = ctxWith('x', undefined, {
      messages: [
        { role: 'system', content: 'Admin is root@corp.io' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'IP 10.0.12.7' },
            { type: 'image_url', image_url: { url: 'https://x/y.png' } },
          ],
        },
      ] as ChatRequest['messages'],
    });
    ctx.request = {
      ...(ctx.request as { kind: 'chat'; model: string; stream: boolean; body: ChatRequest }),
      native: { api: 'anthropic-messages', body: { raw: 'root@corp.io' }, headers: {} },
    };
    await stage.run(ctx, recordingNext(() => completionResult(completion('ok'), 'upstream', null)).next);
    const body = ctx.request?.body as ChatRequest;
    assert.equal(body.messages[0]?.content, 'Admin is <EMAIL_1>');
    assert.deepEqual(
      (body.messages[1]?.content as Array<{ text?: string }> | undefined)?.[0]?.text,
      'IP <IP_ADDRESS_1>',
    );
    assert.equal(ctx.request && 'native' in ctx.request ? ctx.request.native : undefined, undefined);

    const emb = stageContext(clock, { endpoint: 'embeddings' });
    emb.request = {
      kind: 'embeddings',
      model: 'e',
      stream: false,
      body: { model: 'e', input: ['call +44 20 7946 0958', 'plain'] },
    };
    await stage.run(
      emb,
      recordingNext(() =>
        embeddingResult(
          { object: 'list', data: [], model: 'e', usage: { prompt_tokens: 1, total_tokens: 1 } },
          null,
        ),
      ).next,
    );
    assert.deepEqual(emb.request.body.input, ['call <PHONE_1>', 'plain']);
  });

  it('the predicted output and the end-user ids are checked like message text', async () => {
    const { stage } = setup({
      policies: {
        strict: policy({ entities: { credit_card: 'block', '*': 'mask' } }),
        masks: policy({ entities: { '*': 'mask' } }),
      },
    });
    const predicted = (content: unknown) =>
      ({ prediction: { type: 'content', content } }) as unknown as Partial<ChatRequest>;
    const blocked = ctxWith('hello', ['strict'], predicted('const card = "4111 1111 1111 1111";'));
    const next = recordingNext(() => completionResult(completion('ok'), 'upstream', null));
    await assert.rejects(stage.run(blocked, next.next), { code: 'content_policy_violation' });
    assert.equal(next.calls.length, 0);

    const ctx = ctxWith('hello', ['masks'], {
      ...predicted([{ type: 'text', text: 'mail alice.smith@corp.example' }]),
      user: 'alice.smith@corp.example',
      safety_identifier: 'bob@corp.example',
    } as Partial<ChatRequest>);
    await stage.run(ctx, recordingNext(() => completionResult(completion('ok'), 'upstream', null)).next);
    const body = (ctx.request as { body: ChatRequest & Record<string, unknown> }).body;
    assert.deepEqual(body.prediction, {
      type: 'content',
      content: [{ type: 'text', text: 'mail <EMAIL_1>' }],
    });
    assert.equal(body.user, '<EMAIL_1>');
    assert.equal(body.safety_identifier, '<EMAIL_2>');
    // An id that is not a detected value passes as it is.
    const plain = ctxWith('hello', ['masks'], { user: 'user-4711' });
    const before = plain.request;
    await stage.run(plain, recordingNext(() => completionResult(completion('ok'), 'upstream', null)).next);
    assert.equal(plain.request, before);

    const emb = stageContext(clock, { endpoint: 'embeddings' });
    emb.request = {
      kind: 'embeddings',
      model: 'e',
      stream: false,
      body: { model: 'e', input: 'plain', user: 'alice.smith@corp.example' },
    };
    emb.principal = { userId: 'u', keyId: 'k', tier: 'free', allowedModels: null, guardrails: ['masks'] };
    await stage.run(
      emb,
      recordingNext(() =>
        embeddingResult(
          { object: 'list', data: [], model: 'e', usage: { prompt_tokens: 1, total_tokens: 1 } },
          null,
        ),
      ).next,
    );
    assert.deepEqual(emb.request.body, { model: 'e', input: 'plain', user: '<EMAIL_1>' });
  });

  it('restore: a value masked in this request never takes a placeholder number the request already holds', async () => {
    const { stage } = setup({ policies: { r: policy({ restore: true, entities: { '*': 'mask' } }) } });
    // Turn 2 of a conversation: the model's own value came back as <EMAIL_2> in turn 1 and is history now.
    const ctx = ctxWith('', ['r'], {
      messages: [
        { role: 'user', content: 'Who manages alice@a.example?' },
        { role: 'assistant', content: 'The manager of alice@a.example is <EMAIL_2>.' },
        { role: 'user', content: 'Please also add dave@d.example in cc and email the manager.' },
      ],
    });
    const result = await stage.run(ctx, async () => {
      const sent = (ctx.request as { body: ChatRequest }).body.messages.map((m) => m.content);
      assert.deepEqual(sent, [
        'Who manages <EMAIL_1>?',
        'The manager of <EMAIL_1> is <EMAIL_2>.',
        'Please also add <EMAIL_3> in cc and email the manager.',
      ]);
      return completionResult(
        completion('Emailing the manager <EMAIL_2> now, with cc to <EMAIL_3>; and bob@b.example.'),
        'upstream',
        null,
      );
    });
    const body = (result as { body: { choices: Array<{ message: { content: string } }> } }).body;
    // <EMAIL_2> is the model's value (not restored); the model's new value takes the next free number.
    assert.equal(
      body.choices[0]?.message.content,
      'Emailing the manager <EMAIL_2> now, with cc to dave@d.example; and <EMAIL_4>.',
    );
  });

  it('max_input_tokens refuses a long prompt before the call', async () => {
    const { stage } = setup({ policies: { short: policy({ max_input_tokens: 10 }) } });
    const next = recordingNext(() => completionResult(completion('ok'), 'upstream', null));
    await assert.rejects(
      stage.run(ctxWith('word '.repeat(100), ['short']), next.next),
      /max_input_tokens \(10\)/,
    );
    assert.equal(next.calls.length, 0);
  });

  it('an unknown policy on a key fails closed with a message naming it', async () => {
    const { stage } = setup();
    await assert.rejects(
      stage.run(
        ctxWith(PROMPT, ['gone']),
        recordingNext(() => completionResult(completion('ok'), 'upstream', null)).next,
      ),
      /guardrail policy "gone"/,
    );
  });

  it('an unknown default policy fails at start', () => {
    assert.throws(() => setup({ default_policy: 'nope' }), /GUARDRAILS_DEFAULT_POLICY.*"nope"/);
  });
});

describe('guard stage: streamed answers', () => {
  const pieces = ['Sure: jane.d', 'oe@exam', 'ple.com and 4111 11', '11 1111 1111', ' done'];
  const stream = (extra: ChatCompletionChunk[] = []) =>
    streamResult(
      opened([chunk(null), ...pieces.map((p) => chunk(p)), chunk('', 'stop'), ...extra]),
      'upstream',
      null,
      () => 0,
    );

  for (const [action, expected] of [
    ['mask', 'Sure: <EMAIL_1> and <CREDIT_CARD_1> done'],
    ['redact', 'Sure: [REDACTED_EMAIL] and [REDACTED_CREDIT_CARD] done'],
    ['log_only', 'Sure: jane.doe@example.com and 4111 1111 1111 1111 done'],
  ] as const) {
    it(`${action}: values split across chunks are caught; the outcome keeps only what was sent`, async () => {
      const { stage } = setup({ policies: { p: policy({ input: false, entities: { '*': action } }) } });
      const ctx = ctxWith('hi', ['p'], { stream: true });
      const result = await stage.run(ctx, async () => stream());
      assert.equal(result.kind, 'stream');
      assert.equal(await drain(result as StreamResult), expected);
      assert.equal(result.outcome.output.text, expected);
    });
  }

  it('block: the stream ends with content_policy_violation before the value is sent', async () => {
    const { stage } = setup({
      policies: { p: policy({ input: false, entities: { credit_card: 'block' } }) },
    });
    const ctx = ctxWith('hi', ['p'], { stream: true });
    const result = (await stage.run(ctx, async () => stream())) as StreamResult;
    let sent = result.head.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    await assert.rejects(async () => {
      for (let n = await result.rest.next(); !n.done; n = await result.rest.next())
        sent += n.value.choices[0]?.delta?.content ?? '';
    }, /content_policy_violation|blocked by guardrail policy "p"/);
    assert.ok(!sent.includes('4111'));
    assert.ok(sent.startsWith('Sure: jane.doe@example.com'));
  });

  it('restore puts the request values back, also split across chunks', async () => {
    const { stage } = setup({ policies: { r: policy({ restore: true, entities: { '*': 'mask' } }) } });
    const ctx = ctxWith('mail jane.doe@example.com', ['r'], { stream: true });
    const result = await stage.run(ctx, async () => {
      assert.equal(sentPrompt(ctx), 'mail <EMAIL_1>');
      return streamResult(
        opened([chunk(null), chunk('Done: <EMA'), chunk('IL_1'), chunk('> ok', 'stop')]),
        'upstream',
        null,
        () => 0,
      );
    });
    assert.equal(await drain(result as StreamResult), 'Done: jane.doe@example.com ok');
    // The captured text (LOG_BODIES completion) never holds the raw value.
    assert.equal(result.outcome.output.text, 'Done: <EMAIL_1> ok');
  });

  it('a streamed refusal is checked like content, also split across chunks', async () => {
    const { stage } = setup({ default_policy: 'pii' });
    const ctx = ctxWith('hello', undefined, { stream: true });
    const refusal = (text: string, finish: ChatCompletionChunk.Choice['finish_reason'] = null) => {
      const c = chunk('', finish);
      (c.choices[0] as ChatCompletionChunk.Choice).delta = { refusal: text };
      return c;
    };
    const result = (await stage.run(ctx, async () =>
      streamResult(
        opened([
          chunk(null),
          refusal('I will not mail jane.d'),
          refusal('oe@exam'),
          refusal('ple.com, sorry.', 'stop'),
        ]),
        'upstream',
        null,
        () => 0,
      ),
    )) as StreamResult;
    let text = '';
    const add = (c: ChatCompletionChunk) => {
      for (const choice of c.choices) text += choice.delta?.refusal ?? '';
    };
    result.head.forEach(add);
    for (let n = await result.rest.next(); !n.done; n = await result.rest.next()) add(n.value);
    result.end({ complete: true });
    assert.equal(text, 'I will not mail <EMAIL_1>, sorry.');
  });

  it('logs name entity types and counts, never a value', async () => {
    const { stage } = setup({ default_policy: 'pii' });
    const ctx = ctxWith(PROMPT, undefined, { stream: true });
    const result = (await stage.run(ctx, async () => stream())) as StreamResult;
    await drain(result);
    const lines = JSON.stringify((ctx as RequestContext & { lines: unknown[] }).lines);
    assert.match(lines, /guardrail\.fired/);
    for (const raw of ['4111', 'jane.doe', 'example.com']) assert.ok(!lines.includes(raw), raw);
    assert.doesNotMatch(lines, /validation_bound_reached/);
  });

  it('the log line says when the request reached its validation bound (later phones decided on shape)', async () => {
    const { stage } = setup({ default_policy: 'pii' });
    // Distinct phone-shaped candidates, never valid numbers: each spends the bound.
    const many = Array.from({ length: MAX_VALIDATIONS + 10 }, (_, i) => `+1 ${200 + (i % 800)} 2${i} 55`);
    const ctx = ctxWith(many.join(', '));
    await stage.run(ctx, recordingNext(() => completionResult(completion('ok'), 'upstream', null)).next);
    const lines = (ctx as RequestContext & { lines: Array<Record<string, unknown>> }).lines;
    const fired = lines.find((l) => l.event === 'guardrail.fired' && l.direction === 'input');
    assert.equal(fired?.validation_bound_reached, true);
  });
});
