/**
 * Warms the upstream HTTP client before the gateway reports ready (issue 14: no request in the first minute
 * after `/health/ready` slower than the upstream + 50 ms; decision 0170).
 *
 * The first upstream call of a fresh process paid for work that has nothing to do with the upstream:
 * undici compiles its HTTP parser (llhttp, WebAssembly) on its first connection, and its client, pool and
 * body-reading code runs for the first time (V8 compiles it as it goes). Measured on a fresh gateway with
 * PostgreSQL: the first request's upstream time-to-first-byte 25.5 ms, then 8.0, 6.9, 3.3 ms.
 *
 * So before ready, a few requests go through undici to a throw-away server on a loopback port of this
 * process — never to a provider: no key, no cost, no rate limit touched. The same shapes as a provider
 * call: a JSON POST answered with JSON (read whole) and with an event stream (read chunk by chunk). A failure
 * is logged and ignored: warming up must never keep the gateway from starting.
 */
import { createServer, type Server } from 'node:http';
import { Agent } from 'undici';
import { systemClock } from '../core/clock.js';
import { postJson } from './http-json.js';

/** How many calls of each shape (enough for V8 to compile the client's hot functions with its baseline tiers). */
export const WARM_UP_CALLS = 40;

const ANSWER = JSON.stringify({
  id: 'warm-up',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});
const EVENTS = ['data: {"choices":[{"index":0,"delta":{"content":"ok"}}]}\n\n', 'data: [DONE]\n\n'];

function loopbackServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const event of EVENTS) res.write(event);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(ANSWER) });
      res.end(ANSWER);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ server, origin: `http://127.0.0.1:${port}` });
    });
  });
}

/** Resolves with the number of calls made; rejects only when the loopback server could not start. */
export async function warmUpHttpClient(calls: number = WARM_UP_CALLS): Promise<number> {
  const { server, origin } = await loopbackServer();
  // Its own agent: the gateway's dispatcher keeps no connection to a server that is about to close.
  const agent = new Agent({ connections: 2 });
  let made = 0;
  try {
    const body = JSON.stringify({ model: 'warm-up', messages: [{ role: 'user', content: 'ok' }] });
    const headers = { 'content-type': 'application/json' };
    const signal = new AbortController().signal;
    const json = {
      provider: 'warm-up',
      url: { origin, path: '/json' },
      headers,
      body,
      signal,
      clock: systemClock,
    };
    for (let i = 0; i < calls; i++) {
      // The shapes of a provider call: a JSON answer read whole (as the adapters do), and an event stream.
      await postJson(agent, json);
      const stream = await agent.request({ origin, path: '/stream', method: 'POST', headers, body });
      for await (const chunk of stream.body) (chunk as Buffer).toString('utf8');
      made += 2;
    }
    return made;
  } finally {
    await agent.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
