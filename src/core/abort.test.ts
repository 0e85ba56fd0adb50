import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { addAbortListener, once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { RequestAbort, standardSignal } from './abort.js';

describe('RequestAbort', () => {
  test('aborts once: aborted, reason, listeners in order, each called once, none after', () => {
    const abort = new RequestAbort();
    const calls: string[] = [];
    const fn = (event: Event) => calls.push(`fn:${event.type}`);
    const object = { handleEvent: (event: Event) => calls.push(`object:${event.type}`) };
    abort.signal.addEventListener('abort', fn);
    abort.signal.addEventListener('abort', fn); // the same listener twice is one listener, as on EventTarget
    abort.signal.addEventListener('abort', object, { once: true });
    abort.signal.addEventListener('other', () => calls.push('other'));
    const removed = () => calls.push('removed');
    abort.signal.addEventListener('abort', removed);
    abort.signal.removeEventListener('abort', removed);
    abort.signal.onabort = () => calls.push('onabort');
    assert.equal(abort.signal.aborted, false);
    assert.doesNotThrow(() => abort.signal.throwIfAborted());

    const reason = new Error('client gone');
    abort.abort(reason);
    abort.abort(new Error('second'));
    assert.equal(abort.signal.aborted, true);
    assert.equal(abort.signal.reason, reason, 'the first reason stays');
    assert.throws(
      () => abort.signal.throwIfAborted(),
      (err) => err === reason,
    );
    assert.deepEqual(calls, ['onabort', 'fn:abort', 'object:abort']);

    abort.signal.addEventListener('abort', () => calls.push('late'));
    assert.equal(calls.includes('late'), false, 'a listener added after the abort is never called');
  });

  test('with no reason, the reason is a DOMException named AbortError, as AbortController gives', () => {
    const abort = new RequestAbort();
    abort.abort();
    assert.ok(abort.signal.reason instanceof DOMException);
    assert.equal(abort.signal.reason.name, 'AbortError');
  });

  test('a listener that throws does not stop the others; the error is rethrown on its own tick', async () => {
    const abort = new RequestAbort();
    const after: string[] = [];
    abort.signal.addEventListener('abort', () => {
      throw new Error('listener bug');
    });
    abort.signal.addEventListener('abort', () => after.push('second'));
    const uncaught = new Promise<Error>((resolve) => {
      const listeners = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      process.once('uncaughtException', (err) => {
        for (const l of listeners) process.on('uncaughtException', l);
        resolve(err);
      });
    });
    abort.abort(new Error('x'));
    assert.deepEqual(after, ['second']);
    assert.equal((await uncaught).message, 'listener bug');
  });

  test('Node’s addAbortListener takes the signal', () => {
    const abort = new RequestAbort();
    let called = 0;
    const disposable = addAbortListener(abort.signal, () => called++);
    abort.abort(new Error('x'));
    assert.equal(called, 1);
    disposable[Symbol.dispose]();
  });

  test('standardSignal: a standard AbortSignal that follows it, usable in AbortSignal.any', () => {
    const abort = new RequestAbort();
    const standard = standardSignal(abort.signal);
    assert.ok(standard instanceof AbortSignal);
    assert.equal(standardSignal(abort.signal), standard, 'made once');
    const any = AbortSignal.any([standard, new AbortController().signal]);
    const reason = new Error('deadline');
    abort.abort(reason);
    assert.equal(standard.aborted, true);
    assert.equal(any.aborted, true);
    assert.equal(any.reason, reason);

    const already = new RequestAbort();
    already.abort(reason);
    assert.equal(standardSignal(already.signal).reason, reason, 'an aborted signal gives an aborted one');
    const plain = new AbortController().signal;
    assert.equal(standardSignal(plain), plain, 'a standard signal is returned as it is');
  });

  test('undici takes the signal: an abort cuts a request waiting on the upstream', async () => {
    // An upstream that never answers.
    const server = createServer(() => {});
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const abort = new RequestAbort();
      const pending = request(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
        signal: abort.signal,
      });
      const reason = new Error('client gone');
      setImmediate(() => abort.abort(reason));
      await assert.rejects(pending, (err) => err === reason);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

test('on this Node, signals and extended copies share one hidden class (a fresh one per object on Node 20 before)', () => {
  const abortModule = fileURLToPath(new URL('./abort.ts', import.meta.url));
  const shapesModule = fileURLToPath(new URL('./shapes.ts', import.meta.url));
  const out = execFileSync(
    process.execPath,
    [
      '--allow-natives-syntax',
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { RequestAbort } from ${JSON.stringify(abortModule)};
       import { extend } from ${JSON.stringify(shapesModule)};
       const same = (make) => { const a = []; for (let i = 0; i < 2000; i++) a.push(make(i)); return %HaveSameMap(a[1998], a[1999]); };
       const body = (i) => JSON.parse('{"model":"m","messages":[{"role":"user","content":"hi ' + i + '"}]}');
       console.log(JSON.stringify({
         signal: same(() => new RequestAbort().signal),
         body: same((i) => extend(body(i), { model: 'x', stream: false, stream_options: undefined })),
         headers: same((i) => extend({ authorization: 'Bearer k' }, { 'x-request-id': String(i) })),
       }));`,
    ],
    { encoding: 'utf8' },
  );
  assert.deepEqual(JSON.parse(out), { signal: true, body: true, headers: true });
});
