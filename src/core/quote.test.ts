import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QUOTED_CHARS, quoted, shortened } from './quote.js';

test('a short value is quoted whole, as a JSON string', () => {
  assert.equal(quoted('text/plain'), '"text/plain"');
  assert.equal(quoted('a"b\n'), '"a\\"b\\n"');
  assert.equal(quoted('x'.repeat(QUOTED_CHARS)), JSON.stringify('x'.repeat(QUOTED_CHARS)));
});

test('a long value is cut to 64 characters with an ellipsis and its length', () => {
  const out = quoted('x'.repeat(9_000_000));
  assert.equal(out, `"${'x'.repeat(64)}…" (9000000 characters)`);
  assert.ok(quoted('y'.repeat(200), 10).startsWith(`"${'y'.repeat(10)}…"`));
});

test('a cut never leaves half a surrogate pair', () => {
  const value = `${'a'.repeat(63)}😀${'b'.repeat(10)}`;
  const out = quoted(value);
  assert.equal(out, `"${'a'.repeat(63)}…" (${value.length} characters)`);
  assert.equal(shortened(value), `${'a'.repeat(63)}…`);
});

test('a long name is shortened with an ellipsis, unquoted', () => {
  assert.equal(shortened('metadata'), 'metadata');
  assert.equal(shortened('k'.repeat(100_000)), `${'k'.repeat(64)}…`);
});
