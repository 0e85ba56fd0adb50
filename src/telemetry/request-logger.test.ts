import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino, { type Logger } from 'pino';
import { createLineWriter } from './log-line.js';
import { createLogger } from './logger.js';
import { createRequestLoggers } from './request-logger.js';

/** The process logger as the gateway makes it, writing into a list of lines. */
function processLogger(level = 'info') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line);
      cb();
    },
  });
  return { lines, root: createLogger({ level, destination }) };
}

const timeless = (line: string | undefined) => line?.replace(/"time":("[^"]*"|\d+)/, '"time":0');
const CHILD_COUNT = Symbol('children made');

/** Counts the pino children made of `root` (the request loggers must make none for `request.end`). */
function counting(root: Logger): Logger & { [CHILD_COUNT]: number } {
  const view = Object.create(root) as Logger & { [CHILD_COUNT]: number };
  view[CHILD_COUNT] = 0;
  view.child = function (this: Logger, ...args: Parameters<Logger['child']>) {
    view[CHILD_COUNT]++;
    return root.child.apply(this, args);
  } as Logger['child'];
  return view;
}

const IDS: Array<[string, string | null]> = [
  ['0197a3c4-5d2a-7b3e-9a41-0123456789ab', null],
  ['0197a3c4-5d2a-7b3e-9a41-0123456789ac', 'client "7" \\ \u2028 é'],
];

describe('request loggers', () => {
  for (const [id, clientId] of IDS) {
    test(`lines are a pino child's lines (client id ${clientId === null ? 'absent' : 'present'})`, () => {
      const { lines, root } = processLogger();
      const log = createRequestLoggers(root).forRequest(id, clientId);
      let real = root.child({ request_id: id });
      if (clientId !== null) real = real.child({ client_request_id: clientId });

      // request.end, serialised by the line writer from the request logger's own chindings.
      const writer = createLineWriter(['event', 'status']);
      writer.write(log as Logger, 'info', { event: 'request.end', status: 200 }, 'request completed');
      writer.write(real, 'info', { event: 'request.end', status: 200 }, 'request completed');
      assert.equal(timeless(lines[0]), timeless(lines[1]));
      assert.match(lines[0] ?? '', new RegExp(`"request_id":"${id}"`));

      // Any other line goes through pino: the same line as the child's, with or without a message.
      log.warn({ event: 'x', api_key: 'sk-secret' }, 'careful');
      real.warn({ event: 'x', api_key: 'sk-secret' }, 'careful');
      log.error({ err: new Error('boom') });
      real.error({ err: new Error('boom') });
      assert.equal(timeless(lines[2]), timeless(lines[3]));
      assert.ok(!lines[2]?.includes('sk-secret'), 'redaction still applies');
      const withoutStack = (l: string | undefined) => timeless(l)?.replace(/"stack":"[^"]*"/, '');
      assert.equal(withoutStack(lines[4]), withoutStack(lines[5]));
      assert.equal(lines.length, 6);

      // A child of the request logger carries the request's bindings and its own.
      const traced = log.child({ trace_id: 'ab' });
      traced.info({ event: 'y' }, 'traced');
      real.child({ trace_id: 'ab' }).info({ event: 'y' }, 'traced');
      assert.equal(timeless(lines[6]), timeless(lines[7]));
      assert.deepEqual((log as Logger).bindings(), real.bindings());
    });
  }

  test('request.end makes no pino child; a level the logger leaves out makes none either', () => {
    const { lines, root } = processLogger('info');
    const parent = counting(root);
    const loggers = createRequestLoggers(parent);
    const made = parent[CHILD_COUNT]; // the one-time check of the chindings
    const log = loggers.forRequest('req-1', 'c-1');
    createLineWriter(['event']).write(log as Logger, 'info', { event: 'request.end' }, 'done');
    log.debug({ event: 'request.start' }, 'started');
    assert.equal(parent[CHILD_COUNT], made);
    assert.equal(lines.length, 1);
    assert.equal((log as Logger).isLevelEnabled('debug'), false);
    log.info({ event: 'z' }, 'through pino');
    const afterFirst = parent[CHILD_COUNT];
    assert.ok(afterFirst > made, 'the first pino line makes the child');
    log.info({ event: 'z' }, 'again');
    assert.equal(parent[CHILD_COUNT], afterFirst, 'once');
    assert.equal(lines.length, 3);
  });

  test('a logger whose chindings pino would write differently gets real children', () => {
    const lines: string[] = [];
    const root = pino(
      { serializers: { request_id: (v: string) => `id:${v}` } },
      { write: (line: string) => lines.push(line) },
    );
    const log = createRequestLoggers(root).forRequest('r1', null);
    createLineWriter(['event']).write(log as Logger, 'info', { event: 'e' }, 'm');
    assert.match(lines[0] ?? '', /"request_id":"id:r1"/);
  });
});
