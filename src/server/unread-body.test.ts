import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { mock, test } from 'node:test';
import { announcesBody, UnreadBodies, unreadBodyBounds } from './unread-body.js';

/** A request whose body is still arriving, on a socket that records being destroyed. */
function arriving(headers: Record<string, string> = { 'content-length': '100' }) {
  const socket = {
    destroyed: false,
    destroy() {
      this.destroyed = true;
    },
  };
  const req = Object.assign(new EventEmitter(), { socket, headers, complete: false, resume() {} });
  return { req, asRequest: req as unknown as IncomingMessage, socket };
}

test('a body that ends within the bounds is drained and the connection kept', () => {
  const unread = new UnreadBodies({ maxBytes: 10, maxMs: 1000 });
  const { req, asRequest, socket } = arriving();
  unread.drain(asRequest);
  assert.ok(unread.draining(socket as never));
  req.emit('data', Buffer.alloc(6));
  req.emit('end');
  assert.equal(socket.destroyed, false);
  assert.equal(unread.draining(socket as never), false);
  assert.equal(req.listenerCount('data'), 0, 'nothing left listening');
});

test('past the byte bound the connection is destroyed', () => {
  const unread = new UnreadBodies({ maxBytes: 10, maxMs: 1000 });
  const { req, asRequest, socket } = arriving();
  unread.drain(asRequest);
  req.emit('data', Buffer.alloc(6));
  assert.equal(socket.destroyed, false);
  req.emit('data', Buffer.alloc(6));
  assert.equal(socket.destroyed, true);
});

test('past the time bound the connection is destroyed (fake clock)', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const unread = new UnreadBodies({ maxBytes: 10, maxMs: 1000 });
    const { asRequest, socket } = arriving();
    unread.drain(asRequest);
    mock.timers.tick(999);
    assert.equal(socket.destroyed, false);
    mock.timers.tick(1);
    assert.equal(socket.destroyed, true);
  } finally {
    mock.timers.reset();
  }
});

test('a body is announced by a Content-Length above 0 or Transfer-Encoding; the bounds scale with the limit', () => {
  const of = (headers: Record<string, string>) => announcesBody({ headers } as unknown as IncomingMessage);
  assert.equal(of({}), false);
  assert.equal(of({ 'content-length': '0' }), false);
  assert.equal(of({ 'content-length': '5' }), true);
  assert.equal(of({ 'transfer-encoding': 'chunked' }), true);
  assert.deepEqual(unreadBodyBounds(1024), { maxBytes: 4096, maxMs: 10_000 });
});
