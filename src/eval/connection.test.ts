import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { AdminClient, STORE_BATCH } from './connection.js';
import type { ResultRecord } from './results.js';

test('storeResults sends a resumed run in batches the admin API accepts (at most 500 a call)', async () => {
  const sizes: number[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      assert.equal(req.headers.authorization, 'Bearer adm');
      sizes.push((JSON.parse(body) as { results: unknown[] }).results.length);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"stored":1}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const admin = new AdminClient(`http://127.0.0.1:${port}`, 'adm');
    const records = Array.from({ length: 1201 }, (_, i) => ({ item_id: `i${i}` }) as ResultRecord);
    await admin.storeResults('run-1', records);
    assert.equal(STORE_BATCH, 500);
    assert.deepEqual(sizes, [500, 500, 201]);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
