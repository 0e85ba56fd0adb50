import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { readSse } from './sse.js';

let server: Server;
let url: string;

before(async () => {
  // After the end marker the body stays open: an upstream that never finishes its response.
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"a":1}\n\ndata: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

test('after the end marker, a body that does not end is dropped once the drain time is up', async (t) => {
  const { body } = await request(url);
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const events: string[] = [];
  for await (const event of readSse('upstream', body, new AbortController().signal)) {
    events.push(event.data);
    if (event.data === '[DONE]') break;
  }
  assert.deepEqual(events, ['{"a":1}', '[DONE]']);
  t.mock.timers.tick(999);
  assert.equal(body.destroyed, false, 'still draining before the drain time');
  t.mock.timers.tick(1);
  assert.equal(body.destroyed, true, 'dropped at the drain time');
});
