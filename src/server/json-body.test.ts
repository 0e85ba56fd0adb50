import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../core/errors.js';
import {
  exceedsDepth,
  type StringBodyParser,
  withDepthLimit,
  withoutLoneSurrogates,
  withoutNul,
} from './json-body.js';

const nested = (depth: number, open = '[', close = ']') =>
  JSON.parse(`${open.repeat(depth)}${close.repeat(depth)}`);

test('exceedsDepth counts containers; scalars never exceed', () => {
  assert.equal(exceedsDepth(1, 0), false);
  assert.equal(exceedsDepth(null, 0), false);
  assert.equal(exceedsDepth({}, 1), false);
  assert.equal(exceedsDepth({}, 0), true);
  assert.equal(exceedsDepth(nested(128), 128), false);
  assert.equal(exceedsDepth(nested(129), 128), true);
  assert.equal(exceedsDepth({ a: [1, { b: [2] }] }, 4), false);
  assert.equal(exceedsDepth({ a: [1, { b: [2] }] }, 3), true);
});

test('exceedsDepth walks a million levels without recursion', () => {
  assert.equal(exceedsDepth(nested(1_000_000), 128), true);
});

test('withDepthLimit passes shallow bodies and parser errors through; refuses deep ones with a 400', () => {
  const parse: StringBodyParser = (_req, body, done) => {
    try {
      done(null, JSON.parse(body));
    } catch (err) {
      done(err as Error);
    }
  };
  const limited = withDepthLimit(parse, 3);
  const run = (body: string) =>
    new Promise<{ err: Error | null; value: unknown }>((resolve) =>
      limited({} as FastifyRequest, body, (err, value) => resolve({ err, value })),
    );
  return (async () => {
    assert.deepEqual(await run('{"a":[{}]}'), { err: null, value: { a: [{}] } });
    const deep = await run('{"a":[{"b":[]}]}');
    assert.ok(deep.err instanceof GatewayError);
    assert.equal(deep.err.status, 400);
    assert.match(deep.err.message, /deeper than 3 levels/);
    const bad = await run('{');
    assert.ok(bad.err instanceof SyntaxError);
  })();
});

test('withoutNul refuses a NUL in any string with a 400; an escaped backslash before "u0000" is not one', () => {
  const parse: StringBodyParser = (_req, body, done) => done(null, JSON.parse(body));
  const checked = withoutNul(parse);
  const run = (body: string) =>
    new Promise<{ err: Error | null; value: unknown }>((resolve) =>
      checked({} as FastifyRequest, body, (err, value) => resolve({ err, value })),
    );
  return (async () => {
    for (const body of ['{"name":"a\\u0000b"}', '{"a\\u0000":1}', '{"x":["\\\\\\u0000"]}']) {
      const { err } = await run(body);
      assert.ok(err instanceof GatewayError, body);
      assert.equal(err.status, 400);
      assert.match(err.message, /NUL/);
    }
    assert.deepEqual(await run('{"name":"a\\\\u0000b"}'), { err: null, value: { name: 'a\\u0000b' } });
    assert.deepEqual(await run('{"name":"ab"}'), { err: null, value: { name: 'ab' } });
  })();
});

test('withDepthLimit refuses a number beyond a double (1e400 parses as Infinity) with a 400', () => {
  const limited = withDepthLimit((_req, body, done) => done(null, JSON.parse(body)));
  const run = (body: string) =>
    new Promise<{ err: Error | null; value: unknown }>((resolve) =>
      limited({} as FastifyRequest, body, (err, value) => resolve({ err, value })),
    );
  return (async () => {
    for (const body of ['{"max_tokens":1e400}', '{"a":[{"b":-1e999}]}']) {
      const { err } = await run(body);
      assert.ok(err instanceof GatewayError, body);
      assert.equal(err.status, 400);
      assert.match(err.message, /number too large/);
    }
    assert.deepEqual(await run('{"a":1e308,"b":"1e400"}'), { err: null, value: { a: 1e308, b: '1e400' } });
  })();
});

test('withoutLoneSurrogates refuses an unpaired surrogate escape with a 400; pairs and escaped text pass', () => {
  const checked = withoutLoneSurrogates((_req, body, done) => done(null, JSON.parse(body)));
  const run = (body: string) =>
    new Promise<{ err: Error | null; value: unknown }>((resolve) =>
      checked({} as FastifyRequest, body, (err, value) => resolve({ err, value })),
    );
  return (async () => {
    for (const body of [
      '{"name":"\\udfffg"}',
      '{"a":["x\\ud800"]}',
      '{"\\udc00":1}',
      '{"n":"\\ud83d\\ud83d"}',
    ]) {
      const { err } = await run(body);
      assert.ok(err instanceof GatewayError, body);
      assert.equal(err.status, 400);
      assert.match(err.message, /lone surrogate/);
    }
    assert.deepEqual(await run('{"name":"\\ud83d\\ude00"}'), { err: null, value: { name: '\u{1f600}' } });
    assert.deepEqual(await run('{"name":"\\\\udfff"}'), { err: null, value: { name: '\\udfff' } });
  })();
});
