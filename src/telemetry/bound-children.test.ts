import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { BoundChildren } from './bound-children.js';

test('children bound once per key count into the labelled series; past the bound they still count', async () => {
  const registry = new Registry();
  const counter = new Counter({
    name: 'c',
    help: 'h',
    labelNames: ['a', 'b'] as const,
    registers: [registry],
  });
  let binds = 0;
  const by = new BoundChildren((l: { a: string; b: string }) => {
    binds++;
    return counter.labels(l);
  }, 2);
  const inc = (a: string, b: string) => {
    const key = `${a}\0${b}`;
    (by.get(key) ?? by.bind(key, { a, b })).inc();
  };
  inc('x', '1');
  inc('x', '1');
  inc('y', '2');
  inc('z', '3');
  inc('z', '3');
  assert.equal(binds, 4, 'x and y bound once; z (over the bound of 2) bound per call');
  const text = await registry.metrics();
  assert.match(text, /c\{a="x",b="1"\} 2/);
  assert.match(text, /c\{a="y",b="2"\} 1/);
  assert.match(text, /c\{a="z",b="3"\} 2/);
});
