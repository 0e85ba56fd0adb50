import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validate, version } from 'uuid';
import { TEST_EPOCH_MS } from '../../test/helpers/fake-clock.js';
import { clientRequestId, createRequestIds } from './request-id.js';

/** A wall clock the test sets by hand. */
const handClock = () => {
  const clock = { t: TEST_EPOCH_MS, wallNow: () => clock.t };
  return clock;
};
const millisOf = (id: string) => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);

describe('request ids', () => {
  test('the gateway mints UUIDv7 ids carrying the clock’s wall time, unique and in issue order', () => {
    const clock = handClock();
    const ids = createRequestIds(clock);
    const minted: string[] = [];
    for (let i = 0; i < 1000; i++) {
      minted.push(ids.next());
      if (i % 100 === 99) clock.t += 1;
    }
    for (const id of minted) {
      assert.ok(validate(id), id);
      assert.equal(version(id), 7, id);
    }
    assert.equal(new Set(minted).size, minted.length, 'unique');
    assert.deepEqual([...minted].sort(), minted, 'ordered, also within one millisecond');
    assert.equal(millisOf(minted[0] as string), TEST_EPOCH_MS, 'the timestamp is the injected clock’s');
    assert.equal(millisOf(minted[999] as string), TEST_EPOCH_MS + 9);
  });

  test('a clock that goes back never repeats an id nor sorts before the last one', () => {
    const clock = handClock();
    const ids = createRequestIds(clock);
    const first = ids.next();
    clock.t -= 60_000;
    const second = ids.next();
    assert.ok(second > first);
  });

  test('two sources minting in the same millisecond do not collide', () => {
    const clock = handClock();
    const a = createRequestIds(clock);
    const b = createRequestIds(clock);
    const all = new Set<string>();
    for (let i = 0; i < 500; i++) {
      all.add(a.next());
      all.add(b.next());
    }
    assert.equal(all.size, 1000);
  });

  test('a client id is kept when it is 1–128 printable ASCII characters, else ignored', () => {
    assert.equal(clientRequestId('req-42'), 'req-42');
    assert.equal(clientRequestId('trace id/with spaces:ok'), 'trace id/with spaces:ok');
    assert.equal(clientRequestId('x'.repeat(128)), 'x'.repeat(128));
    assert.equal(clientRequestId('x'.repeat(129)), null);
    assert.equal(clientRequestId(''), null);
    assert.equal(clientRequestId('caf\u00e9'), null);
    assert.equal(clientRequestId('a\tb'), null);
    assert.equal(clientRequestId(['a', 'b']), null, 'sent twice: ambiguous');
    assert.equal(clientRequestId(undefined), null);
  });
});
