import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { SeriesCounter, SeriesHistogram } from './series.js';

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];

/** The same metrics twice: prom-client's own classes and the pre-bound ones, each on its own registry. */
function pair() {
  const make = (series: boolean) => {
    const registry = new Registry();
    const C = series ? SeriesCounter : Counter;
    const H = series ? SeriesHistogram : Histogram;
    return {
      registry,
      requests: new C({
        name: 'x_requests_total',
        help: 'Requests, by model and status.',
        labelNames: ['model', 'status'] as const,
        registers: [registry],
      }),
      plain: new C({ name: 'x_plain_total', help: 'No labels.', registers: [registry] }),
      duration: new H({
        name: 'x_duration_seconds',
        help: 'Durations, by model.',
        labelNames: ['model'] as const,
        buckets: BUCKETS,
        registers: [registry],
      }),
      unlabelled: new H({ name: 'x_unlabelled_seconds', help: 'No labels.', registers: [registry] }),
    };
  };
  return { ours: make(true), theirs: make(false) };
}

type Side = ReturnType<typeof pair>['ours'];

describe('pre-bound series', () => {
  test('the exposition is identical to prom-client’s for the same updates (names, labels, buckets, help)', async () => {
    const { ours, theirs } = pair();
    const run = (m: Side) => {
      for (let i = 0; i < 50; i++) {
        m.requests.inc({ model: i % 3 === 0 ? 'a' : 'b', status: '200' });
        m.requests.inc({ status: '500', model: 'a' }, 2); // another key order: the same series
        m.plain.inc();
        m.plain.inc(0.5);
        m.duration.observe({ model: 'a' }, i / 37);
        m.duration.observe({ model: 'b' }, 0.0001 * i);
        m.duration.observe({ model: 'c' }, 500); // above every bucket: only +Inf, sum and count
        m.unlabelled.observe(i / 10);
      }
      m.requests.inc({ model: 'n', status: 200 }); // a number and a string of the same value: one series
      m.requests.inc({ model: 'n', status: '200' });
    };
    run(ours);
    run(theirs);
    const text = await ours.registry.metrics();
    assert.equal(text, await theirs.registry.metrics());
    assert.match(text, /x_requests_total\{model="a",status="200"\} 17/);
    assert.match(text, /x_requests_total\{model="n",status="200"\} 2/);
    assert.match(text, /x_duration_seconds_bucket\{le="0.005",model="b"\} 50/);
  });

  test('after reset() and remove() the next updates still land in what /metrics shows', async () => {
    const { ours, theirs } = pair();
    for (const m of [ours, theirs]) {
      m.requests.inc({ model: 'a', status: '200' });
      m.duration.observe({ model: 'a' }, 0.2);
      m.plain.inc();
      m.registry.resetMetrics();
      m.requests.inc({ model: 'a', status: '200' }, 3);
      m.duration.observe({ model: 'a' }, 0.3);
      m.plain.inc(4);
      m.requests.remove({ model: 'a', status: '200' });
      m.requests.inc({ model: 'a', status: '200' });
      m.duration.remove({ model: 'a' });
      m.duration.observe({ model: 'a' }, 1.5);
    }
    const text = await ours.registry.metrics();
    assert.equal(text, await theirs.registry.metrics());
    assert.match(text, /x_requests_total\{model="a",status="200"\} 1\n/);
    assert.match(text, /x_plain_total 4\n/);
    assert.match(text, /x_duration_seconds_count\{model="a"\} 1\n/);
  });

  test('labels() children and get() work as with prom-client', async () => {
    const { ours } = pair();
    ours.requests.labels('a', '200').inc();
    ours.requests.inc({ model: 'a', status: '200' });
    ours.duration.labels('a').observe(0.02);
    ours.duration.observe({ model: 'a' }, 0.02);
    const values = (await ours.requests.get()).values;
    assert.deepEqual(
      values.map((v) => [v.labels, v.value]),
      [[{ model: 'a', status: '200' }, 2]],
    );
    const count = (await ours.duration.get()).values.find((v) => v.metricName === 'x_duration_seconds_count');
    assert.equal(count?.value, 2);
  });

  test('what prom-client refuses is still refused: unknown labels, negative increments, non-numbers', () => {
    const { ours } = pair();
    const bad = { model: 'a', oops: 'x' } as unknown as { model: string };
    assert.throws(() => ours.requests.inc(bad), /not included in initial labelset/);
    ours.requests.inc({ model: 'a', status: '200' });
    assert.throws(() => ours.requests.inc({ model: 'a', status: '200' }, -1), /decrease/);
    ours.duration.observe({ model: 'a' }, 0.1);
    assert.throws(() => ours.duration.observe({ model: 'a' }, Number.NaN), /not a valid number/);
    assert.throws(
      () => ours.duration.observe({ model: 'a' }, Number.POSITIVE_INFINITY),
      /not a valid number/,
    );
  });
});
