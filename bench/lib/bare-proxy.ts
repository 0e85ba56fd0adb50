/**
 * The floor for a Node.js proxy: node:http server + undici pool, bytes passed through (no parsing, no
 * validation, no logging). What Node itself costs per proxied request on this machine, to put the
 * gateway's own work in proportion. Run by the benchmark as the `node-bare` target:
 *   node bench/lib/bare-proxy.ts <port> <upstream origin>   (with --import tsx)
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, upstream] = process.argv.slice(2);
if (!port || !upstream) {
  process.stderr.write('usage: bare-proxy <port> <upstream origin>\n');
  process.exit(2);
}
const pool = new Pool(upstream, { connections: 256, keepAliveTimeout: 60_000 });
const server = createServer(async (req, res) => {
  try {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    const up = await pool.request({
      path: req.url ?? '/',
      method: 'POST',
      headers,
      body: Buffer.concat(chunks),
    });
    res.writeHead(up.statusCode, {
      'content-type': String(up.headers['content-type'] ?? 'application/json'),
    });
    for await (const c of up.body) res.write(c);
    res.end();
  } catch {
    res.destroy();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.close().then(() => process.exit(0));
});
