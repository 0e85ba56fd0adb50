import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isEncodedBody,
  isJsonContentType,
  unsupportedEncoding,
  unsupportedMediaType,
} from './content-type.js';

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

test('the 415 names an empty header and one that is not a media type; a long one is cut with its length', () => {
  assert.match(unsupportedMediaType('').message, /received an empty Content-Type header/);
  assert.match(unsupportedMediaType('  ').message, /received an empty Content-Type header/);
  assert.match(
    unsupportedMediaType('application/json, text/plain').message,
    /received Content-Type "application\/json, text\/plain"\./,
  );
  const long = unsupportedMediaType(`text/${'x'.repeat(1_000_000)}`).message;
  assert.ok(long.includes(`"text/${'x'.repeat(59)}…" (1000005 characters)`), long);
  assert.ok(long.length < 250, String(long.length));
  const encoding = unsupportedEncoding('g'.repeat(100_000)).message;
  assert.ok(encoding.includes('(100000 characters)') && encoding.length < 250, encoding);
});

test('a Content-Encoding other than identity is an encoded body, refused with a 415 naming it', () => {
  for (const plain of [undefined, '', 'identity', ' Identity ']) assert.equal(isEncodedBody(plain), false);
  for (const coded of ['gzip', 'br', 'deflate', 'identity, gzip', ['gzip'], 'x-custom']) {
    assert.equal(isEncodedBody(coded), true, String(coded));
  }
  const error = unsupportedEncoding('gzip');
  assert.equal(error.status, 415);
  assert.match(error.message, /Content-Encoding "gzip"/);
});
