import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino, { type Logger } from 'pino';
import { createLineWriter, type LineLevel, type LineValue } from './log-line.js';
import { createLogger } from './logger.js';

const KEYS = ['event', 'status', 'model', 'user_id', 'cost_usd', 'stream', 'error_message', 'prompt'];

/** Raw lines as the destination receives them. */
function sink() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line);
      cb();
    },
  });
  return { lines, destination };
}

/** The gateway's logger as a request sees it: fastify's child (with options) and the trace child. */
function requestLogger(level = 'info') {
  const { lines, destination } = sink();
  const root = createLogger({ level, destination });
  const log = root.child({ request_id: 'req-7', client_request_id: 'c"1' }, {}).child({ trace_id: 'ab' });
  return { lines, log };
}

/** A view of `log` whose log methods fail: the writer must not hand the line to pino. */
function withoutPino(log: Logger): Logger {
  const view = Object.create(log) as Logger;
  for (const level of ['info', 'warn', 'error'] as const) {
    view[level] = () => assert.fail(`the line went through pino's ${level}()`);
  }
  return view;
}

/**
 * Both ways of writing the same line, for comparison (the time differs by a few ms at most). `direct`:
 * the writer must serialise the line itself.
 */
function both(
  log: Logger,
  lines: string[],
  level: LineLevel,
  fields: Record<string, LineValue>,
  msg: string,
  direct = false,
) {
  const writer = createLineWriter(KEYS);
  writer.write(direct ? withoutPino(log) : log, level, fields, msg);
  log[level](fields, msg);
  const timeless = (line: string | undefined) => line?.replace(/"time":("[^"]*"|\d+)/, '"time":0');
  return { ours: timeless(lines.at(-2)), pinos: timeless(lines.at(-1)) };
}

const TRICKY = [
  'plain',
  'quote " and backslash \\ and slash /',
  'new\nline\ttab\r\u0000\u001f',
  'unicode é 漢字 😀 \u2028 \u2029',
  'lone surrogate \ud800 end',
  '</script><b>',
  '',
  'x'.repeat(500),
];

describe('log lines written without pino’s generic path', () => {
  test('the line is byte for byte the one pino writes (production logger: redaction, iso time, bindings)', async () => {
    const { lines, log } = requestLogger();
    for (const text of TRICKY) {
      for (const level of ['info', 'warn', 'error'] as const) {
        const fields = {
          event: 'request.end',
          status: 200,
          model: text,
          user_id: null,
          cost_usd: 0.0000027,
          stream: false,
          error_message: undefined,
          prompt: text,
        };
        const { ours, pinos } = both(log, lines, level, fields, `done ${text}`, true);
        assert.ok(ours !== undefined && pinos !== undefined);
        assert.equal(ours, pinos);
      }
    }
    for (const n of [0, -1, 1.5e-7, 1e21, 123.456, Number.NaN, Number.POSITIVE_INFINITY]) {
      const { ours, pinos } = both(log, lines, 'info', { event: 'n', status: n, stream: true }, 'n', true);
      assert.equal(ours, pinos);
    }
    const parsed = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
    assert.equal(parsed.level, 'info');
    assert.equal(parsed.request_id, 'req-7');
    assert.equal(parsed.trace_id, 'ab');
    assert.equal(parsed.service, 'llm-gateway');
  });

  test('a plain pino logger (numeric level, epoch time, no redaction) gets its own format too', () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line.trimEnd()) }).child({
      request_id: 'r',
    });
    const { ours, pinos } = both(
      log,
      lines,
      'warn',
      { event: 'e', status: 401, model: 'm' },
      'rejected',
      true,
    );
    assert.equal(ours, pinos);
    assert.equal((JSON.parse(lines[0] ?? '{}') as { level: number }).level, 40);
  });

  test('a key the logger redacts is still redacted: such lines are written by pino itself', () => {
    const lines: string[] = [];
    const log = pino(
      { redact: { paths: ['user_id', 'headers.authorization', '*.api_key'], censor: '[redacted]' } },
      { write: (line: string) => void lines.push(line.trimEnd()) },
    );
    const { ours, pinos } = both(log, lines, 'info', { event: 'e', user_id: 'alice-secret' }, 'm');
    assert.equal(ours, pinos);
    assert.equal((JSON.parse(ours ?? '{}') as { user_id: string }).user_id, '[redacted]');
    assert.ok(!lines.join('\n').includes('alice-secret'));
  });

  test('a logger option the writer does not reproduce (mixin, serializer, message prefix) hands the line to pino', () => {
    const lines: string[] = [];
    const write = (line: string) => void lines.push(line.trimEnd());
    const loggers = [
      pino({ mixin: () => ({ extra: 1 }) }, { write }),
      pino({ serializers: { model: () => 'serialised' } }, { write }),
      pino({ msgPrefix: '[x] ' }, { write }),
      pino({ formatters: { log: (o: object) => ({ ...o, formatted: true }) } }, { write }),
    ];
    for (const log of loggers) {
      const { ours, pinos } = both(log, lines, 'info', { event: 'e', model: 'm' }, 'msg');
      assert.equal(ours, pinos);
    }
    assert.match(lines[0] ?? '', /"extra":1/);
    assert.match(lines[2] ?? '', /"model":"serialised"/);
  });

  test('a key the writer was not told about is written by pino (nothing is dropped)', () => {
    const { lines, log } = requestLogger();
    const { ours, pinos } = both(log, lines, 'info', { event: 'e', surprise: 'kept' }, 'm');
    assert.equal(ours, pinos);
    assert.match(ours ?? '', /"surprise":"kept"/);
  });

  test('nothing is written below the logger’s level', () => {
    const { lines, log } = requestLogger('warn');
    createLineWriter(KEYS).write(log, 'info', { event: 'e' }, 'm');
    assert.equal(lines.length, 0);
    createLineWriter(KEYS).write(log, 'warn', { event: 'e' }, 'm');
    assert.equal(lines.length, 1);
  });
});
