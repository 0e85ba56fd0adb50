import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { OtherBreakers } from './other-breakers.js';

async function series(registry: Registry): Promise<Array<[string, number]>> {
  const metric = await registry.getSingleMetric('llm_circuit_state')?.get();
  return (metric?.values ?? []).map((v) => [String(v.labels.deployment), v.value]);
}

test('one `other` series: the worst state of the breakers outside the configuration, absent when all are closed', async () => {
  const registry = new Registry();
  const gauge = new Gauge({
    name: 'llm_circuit_state',
    help: 'h',
    labelNames: ['deployment'],
    registers: [registry],
  });
  const others = new OtherBreakers(gauge);
  others.change('openai/a', 'open');
  others.change('openai/b', 'open');
  assert.deepEqual(await series(registry), [['other', 2]]);
  others.change('openai/a', 'half_open');
  assert.deepEqual(await series(registry), [['other', 2]], 'b is still open');
  others.change('openai/b', 'closed');
  assert.deepEqual(await series(registry), [['other', 1]], 'a is half-open');
  others.forget('openai/a');
  assert.deepEqual(await series(registry), [], 'evicted: nothing left that is not closed');
  others.change('openai/c', 'open');
  others.change('openai/c', 'closed');
  others.forget('openai/c');
  assert.deepEqual(await series(registry), []);
});
