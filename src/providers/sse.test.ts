import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { type Dispatcher, request } from 'undici';
import { ProviderUnavailableError } from '../core/errors.js';
import { type EventTranslator, readSse, sseItems, streamCutOff, translateEvents } from './sse.js';

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

/** A plain readable body, as recorded fixtures use (no `dump`: it is destroyed once the stream is done). */
function bodyOf(readable: Readable): Dispatcher.ResponseData['body'] {
  return readable as unknown as Dispatcher.ResponseData['body'];
}

/** Numbers events (`n`); `{"end":true}` completes the stream; `bad: true` fails it after its number. */
const numbers: EventTranslator<number> = {
  event(event, out) {
    const data = JSON.parse(event.data) as { n?: number; end?: boolean; bad?: boolean };
    if (data.n !== undefined) out.push(data.n); // `{"ping":true}` translates to nothing
    if (data.bad) throw new ProviderUnavailableError('upstream sent a bad event.', 'upstream');
    if (data.end) return true;
    return false;
  },
  end() {
    throw streamCutOff('upstream');
  },
};

async function drain<T>(items: AsyncIterable<T>): Promise<[T[], unknown]> {
  const seen: T[] = [];
  try {
    for await (const item of items) seen.push(item);
  } catch (err) {
    return [seen, err];
  }
  return [seen, null];
}

const frames = (...ns: number[]) => ns.map((n) => `data: {"n":${n}}\n\n`).join('');

test('items translated before a socket error are handed out first, then the typed error', async () => {
  const body = new Readable({ read() {} });
  const items = sseItems('upstream', bodyOf(body), new AbortController().signal, numbers);
  body.push(frames(1, 2));
  setImmediate(() => body.destroy(Object.assign(new Error('reset'), { code: 'ECONNRESET' })));
  const [seen, err] = await drain(items);
  assert.deepEqual(seen, [1, 2]);
  assert.ok(err instanceof ProviderUnavailableError);
  assert.match(err.message, /upstream broke off its answer \(ECONNRESET\)/);
});

test('a body closed without an error or an end is a failure, not a quiet end', async () => {
  const body = new Readable({ read() {} });
  const items = sseItems('upstream', bodyOf(body), new AbortController().signal, numbers);
  body.push(frames(7));
  setImmediate(() => body.destroy());
  const [seen, err] = await drain(items);
  assert.deepEqual(seen, [7]);
  assert.ok(err instanceof ProviderUnavailableError);
  assert.match(err.message, /ERR_STREAM_PREMATURE_CLOSE/);
});

test('an abort reports the abort reason, not a network error', async () => {
  const body = new Readable({ read() {} });
  const abort = new AbortController();
  const items = sseItems('upstream', bodyOf(body), abort.signal, numbers);
  const reason = new ProviderUnavailableError('attempt timed out', 'upstream');
  abort.abort(reason);
  body.destroy(new Error('aborted'));
  const [, err] = await drain(items);
  assert.equal(err, reason);
});

test("the translator's error is reported as it is, after the items before it, and the body is let go", async () => {
  const body = Readable.from([`${frames(1)}data: {"bad":true}\n\n${frames(2)}`]);
  const [seen, err] = await drain(sseItems('upstream', bodyOf(body), new AbortController().signal, numbers));
  assert.deepEqual(seen, [1]);
  assert.ok(err instanceof ProviderUnavailableError);
  assert.equal(err.message, 'upstream sent a bad event.');
  assert.equal(body.destroyed, true);
});

test('events after the completing one, even in the same read, are not handed out', async () => {
  const body = Readable.from([`${frames(1)}data: {"end":true}\n\n${frames(2)}`]);
  const [seen, err] = await drain(sseItems('upstream', bodyOf(body), new AbortController().signal, numbers));
  assert.deepEqual(seen, [1]);
  assert.equal(err, null);
});

test('a body that ends before the completing event is cut off; its last unterminated event still counts', async () => {
  const body = Readable.from([`${frames(1)}data: {"n":2}`]); // no blank line after the last event
  const [seen, err] = await drain(sseItems('upstream', bodyOf(body), new AbortController().signal, numbers));
  assert.deepEqual(seen, [1, 2]);
  assert.ok(err instanceof ProviderUnavailableError);
  assert.match(err.message, /closed the stream before the answer was complete/);
});

test('a body without a single event (a JSON answer, an HTML page) is said not to be an event stream', async () => {
  for (const text of ['{"id":"chatcmpl-1","choices":[]}', '<html><body>Bad gateway</body></html>', '']) {
    const body = Readable.from(text === '' ? [] : [text]);
    const [seen, err] = await drain(
      sseItems('upstream', bodyOf(body), new AbortController().signal, numbers),
    );
    assert.deepEqual(seen, []);
    assert.ok(err instanceof ProviderUnavailableError);
    assert.match(err.message, /not an event stream/, JSON.stringify(text));
  }
});

test("a read's first item is handed out before the rest of the read is translated", async () => {
  // One upstream read often carries a whole answer: the client's first byte must not wait for all of it.
  const translated: number[] = [];
  const counting: EventTranslator<number> = {
    event(event, out) {
      const done = numbers.event(event, out);
      if (!done) translated.push(out[out.length - 1] as number);
      return done;
    },
    end: numbers.end,
  };
  const body = Readable.from([`${frames(1, 2, 3, 4)}data: {"end":true}\n\n`]);
  const items = sseItems('upstream', bodyOf(body), new AbortController().signal, counting);
  assert.deepEqual(await items.next(), { value: 1, done: false });
  assert.deepEqual(translated, [1], 'only the first event was translated');
  const [rest, err] = await drain(items);
  assert.deepEqual(rest, [2, 3, 4]);
  assert.deepEqual(translated, [1, 2, 3, 4]);
  assert.equal(err, null);
});

test('a body that ended is not drained: no dump and no drain timer per stream', async () => {
  const body = new Readable({ read() {} });
  let dumps = 0;
  Object.assign(body, {
    dump: () => {
      dumps++;
      return Promise.resolve(null);
    },
  });
  const items = sseItems('upstream', bodyOf(body), new AbortController().signal, numbers);
  body.push(`${frames(1)}data: {"end":true}\n\n`);
  body.push(null);
  const [seen, err] = await drain(items);
  assert.deepEqual(seen, [1]);
  assert.equal(err, null);
  assert.equal(dumps, 0);
});

test('events split across reads at any byte are put together; multi-byte characters too', async () => {
  const text = `data: {"n":1}\n\ndata: {"n":2,"s":"é✓"}\n\ndata: {"end":true}\n\n`;
  const bytes = Buffer.from(text);
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 3) pieces.push(bytes.subarray(i, i + 3));
  const [seen, err] = await drain(
    sseItems('upstream', bodyOf(Readable.from(pieces)), new AbortController().signal, numbers),
  );
  assert.deepEqual(seen, [1, 2]);
  assert.equal(err, null);
});

test('a consumer that falls behind pauses the body, and taking items resumes it', async () => {
  const body = new Readable({ read() {} });
  const items = sseItems('upstream', bodyOf(body), new AbortController().signal, numbers);
  const all = Array.from({ length: 100 }, (_, i) => i);
  body.push(frames(...all));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(body.isPaused(), true, 'paused with 100 items waiting');
  const seen: number[] = [];
  for (let i = 0; i < 70; i++) seen.push((await items.next()).value as number);
  assert.equal(body.isPaused(), false, 'resumed once fewer than half the bound wait');
  body.push('data: {"end":true}\n\n');
  const [rest, err] = await drain(items);
  assert.deepEqual([...seen, ...rest], all);
  assert.equal(err, null);
});

test('a paused body resumes when its waiting events translate to nothing (pings)', async () => {
  const body = new Readable({ read() {} });
  const items = sseItems('upstream', bodyOf(body), new AbortController().signal, numbers);
  body.push('data: {"ping":true}\n\n'.repeat(100));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(body.isPaused(), true, 'paused with 100 events waiting');
  const first = items.next(); // translates the pings, finds no item, and must let the body go on
  assert.equal(body.isPaused(), false, 'resumed once the waiting events were translated');
  body.push(`${frames(7)}data: {"end":true}\n\n`);
  assert.deepEqual(await first, { value: 7, done: false });
  assert.deepEqual(await items.next(), { value: undefined, done: true });
});

test('a consumer that stops early lets the body go and sees nothing more', async () => {
  const body = new Readable({ read() {} });
  const items = sseItems('upstream', bodyOf(body), new AbortController().signal, numbers);
  body.push(frames(1, 2, 3));
  assert.deepEqual(await items.next(), { value: 1, done: false });
  await items.return?.();
  assert.equal(body.destroyed, true);
  assert.deepEqual(await items.next(), { value: undefined, done: true });
});

test('a consumer that stops after a failure was queued does not see the failure', async () => {
  // One event gives an item and then fails the stream: the item is handed out, the failure waits.
  const body = Readable.from(['data: {"n":1,"bad":true}\n\n']);
  const items = sseItems('upstream', bodyOf(body), new AbortController().signal, numbers);
  assert.deepEqual(await items.next(), { value: 1, done: false });
  await items.return?.();
  assert.deepEqual(await items.next(), { value: undefined, done: true });
});

test('translateEvents applies the same translation to events from any source', async () => {
  async function* events() {
    for (const data of ['{"n":4}', '{"n":5}', '{"end":true}', '{"n":6}'])
      yield { data, event: undefined, id: undefined };
  }
  const [seen, err] = await drain(translateEvents(events(), numbers));
  assert.deepEqual(seen, [4, 5]);
  assert.equal(err, null);
});
