import assert from 'node:assert/strict';
import { Agent, createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { drainingResponse } from './draining-response.js';

const state = { shuttingDown: false };
/** Responses the test answers itself (to flip the state while a request is in flight). */
const held: ServerResponse[] = [];
let server: Server;
let url: string;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

before(async () => {
  server = createServer({ ServerResponse: drainingResponse(state) }, (req, res) => {
    if (req.url === '/hold') {
      held.push(res);
      return;
    }
    // Both ways Node writes headers: implicitly on end(), and explicitly with writeHead.
    if (req.url === '/implicit') res.end('ok');
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  agent.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function request(path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get(`${url}${path}`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    }).on('error', reject);
  });
}

test('keep-alive connections stay open while the gateway serves', async () => {
  state.shuttingDown = false;
  for (const path of ['/explicit', '/implicit']) {
    const res = await request(path);
    assert.equal(res.headers.connection, 'keep-alive', path);
  }
});

test('shutting down: every response says Connection: close, in-flight ones included', async () => {
  state.shuttingDown = true;
  try {
    for (const path of ['/explicit', '/implicit']) {
      const res = await request(path);
      assert.equal(res.headers.connection, 'close', path);
    }
  } finally {
    state.shuttingDown = false;
  }
  // A request that arrived before the shutdown began and is answered after it.
  const pending = request('/hold');
  while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
  state.shuttingDown = true;
  try {
    held[0]?.writeHead(200).end('late');
    assert.equal((await pending).headers.connection, 'close');
  } finally {
    state.shuttingDown = false;
  }
});
