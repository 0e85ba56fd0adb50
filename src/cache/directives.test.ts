import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadRequestError } from '../core/errors.js';
import { parseDirectives } from './directives.js';

test('no cache header: lookup, store, default TTL', () => {
  assert.deepEqual(parseDirectives({ 'content-type': 'application/json' }, 3600), {
    bypass: false,
    noStore: false,
    ttlSeconds: null,
  });
});

test('Cache-Control no-cache / no-store, X-Cache-Bypass and X-Cache-TTL are read', () => {
  assert.deepEqual(parseDirectives({ 'cache-control': 'No-Cache, no-store' }, 3600), {
    bypass: true,
    noStore: true,
    ttlSeconds: null,
  });
  assert.equal(parseDirectives({ 'x-cache-bypass': ' TRUE ' }, 3600).bypass, true);
  assert.equal(parseDirectives({ 'x-cache-bypass': '1' }, 3600).bypass, true);
  assert.equal(parseDirectives({ 'x-cache-bypass': 'false' }, 3600).bypass, false);
  assert.equal(parseDirectives({ 'cache-control': 'max-age=0' }, 3600).bypass, false);
  assert.equal(parseDirectives({ 'x-cache-ttl': '60' }, 3600).ttlSeconds, 60);
});

test('an X-Cache-TTL that is not a whole number in range is a 400 naming the header', () => {
  for (const ttl of ['0', '3601', '1.5', 'soon', '']) {
    assert.throws(
      () => parseDirectives({ 'x-cache-ttl': ttl }, 3600),
      (err: unknown) => err instanceof BadRequestError && /X-Cache-TTL/.test(err.message),
      ttl,
    );
  }
});
