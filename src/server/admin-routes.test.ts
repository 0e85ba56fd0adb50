import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { NotFoundError } from '../core/errors.js';
import type { AdminRoute } from '../core/feature.js';
import { mountAdminRoutes } from './admin-routes.js';

const failing = (url: string, err: unknown): AdminRoute => ({
  method: 'GET',
  url,
  summary: url,
  handler: async () => {
    throw err;
  },
});

test('an admin route whose database is unreachable answers 503 and logs it; a bug stays a 500, logged', async () => {
  const lines: string[] = [];
  const app = Fastify({
    logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } },
  });
  app.setErrorHandler(async (err, _request, reply) =>
    reply.code((err as { status?: number }).status ?? 500).send({ message: (err as Error).message }),
  );
  mountAdminRoutes(app, [
    failing(
      '/admin/refused',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ),
    failing('/admin/shutdown', Object.assign(new Error('terminating connection'), { code: '57P01' })),
    failing('/admin/terminated', new Error('Connection terminated unexpectedly')),
    failing('/admin/hung', new Error('the database did not answer within 2000 ms')),
    failing('/admin/bug', Object.assign(new Error('relation "nope" does not exist'), { code: '42P01' })),
    failing('/admin/typo', new TypeError("Cannot read properties of undefined (reading 'x')")),
    failing('/admin/missing', new NotFoundError('No such thing.')),
  ]);
  const status = async (url: string) => (await app.inject({ method: 'GET', url })).statusCode;
  for (const url of ['/admin/refused', '/admin/shutdown', '/admin/terminated', '/admin/hung']) {
    assert.equal(await status(url), 503, url);
  }
  assert.equal(await status('/admin/bug'), 500);
  assert.equal(await status('/admin/typo'), 500);
  assert.equal(await status('/admin/missing'), 404, "the gateway's own errors pass as they are");
  const logged = lines.map((l) => JSON.parse(l) as { event?: string; route?: string; dependency?: string });
  const errors = logged.filter((l) => l.event === 'admin.error');
  assert.deepEqual(
    errors.map((l) => [l.route, l.dependency ?? null]),
    [
      ['/admin/refused', 'database'],
      ['/admin/shutdown', 'database'],
      ['/admin/terminated', 'database'],
      ['/admin/hung', 'database'],
      ['/admin/bug', null],
      ['/admin/typo', null],
    ],
  );
  await app.close();
});
