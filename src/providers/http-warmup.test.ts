import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WARM_UP_CALLS, warmUpHttpClient } from './http-warmup.js';

const tcpHandles = () =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap');

test('the warm-up makes its calls of both shapes on loopback and leaves nothing open', async () => {
  const before = tcpHandles();
  assert.equal(await warmUpHttpClient(3), 6);
  // libuv releases closed handles a few loop turns later: wait for them, a bounded number of turns.
  for (let turn = 0; turn < 200 && tcpHandles().length > before.length; turn++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert.deepEqual(tcpHandles(), before, 'its server and its connections are closed');
  assert.ok(WARM_UP_CALLS >= 10, 'enough calls for V8 to compile the client code it runs');
});
