import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJsonContentType, unsupportedMediaType } from './content-type.js';

test('JSON in UTF-8 is accepted in any case and with parameters; everything else is not', () => {
  for (const ok of [
    'application/json',
    'APPLICATION/JSON',
    'application/json; charset=utf-8',
    'application/json;charset="UTF8"',
  ]) {
    assert.ok(isJsonContentType(ok), ok);
  }
  for (const bad of [
    undefined,
    '',
    'text/plain',
    'text/plain; charset=utf-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=latin1',
    'application/jsonp',
    'application/vnd.api+json',
  ]) {
    assert.ok(!isJsonContentType(bad), String(bad));
  }
});

test('the 415 names what was sent, shortened', () => {
  const err = unsupportedMediaType('text/plain');
  assert.equal(err.status, 415);
  assert.equal(err.code, 'unsupported_media_type');
  assert.match(err.message, /Content-Type "text\/plain"/);
  assert.match(unsupportedMediaType(undefined).message, /without Content-Type/);
  assert.ok(unsupportedMediaType(`text/${'x'.repeat(10_000)}`).message.length < 400);
});
