/**
 * A gateway with an admin key and usage records in a fresh PostgreSQL database (dropped after the suite), and
 * an admin API client, for suites of the admin routes that need the database (prompts, experiments, eval runs).
 *
 * @example
 * const t = useAdminGateway('exp_label', 'admin-SECRET-…');
 * test('…', async () => { const res = await t.admin('POST', '/admin/prompts', {...}); });
 */
import { after, before } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, type TestGateway } from './gateway.js';
import { createTestDatabase, type TestDatabase } from './services.js';

export interface AdminGatewayFixture {
  readonly gw: TestGateway;
  readonly mock: MockUpstream;
  /** Calls the admin API with the admin key; `body` as JSON when given. */
  admin(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{
    status: number;
    body: Record<string, unknown> & {
      error?: { message: string; code: string; param: string | null; type: string };
    };
  }>;
}

export function useAdminGateway(label: string, adminKey: string): AdminGatewayFixture {
  let mock: MockUpstream | undefined;
  let gw: TestGateway | undefined;
  let database: TestDatabase | undefined;
  before(async () => {
    mock = await MockUpstream.start();
    database = await createTestDatabase(label);
    gw = await startGateway({
      mock,
      env: {
        AUTH_MODE: 'none',
        GATEWAY_ADMIN_KEY: adminKey,
        USAGE_ENABLED: 'true',
        DATABASE_URL: database.url,
      },
    });
    await gw.gateway.stores.database().ready;
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    await database?.drop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useAdminGateway: read the fixture inside a test');
    return value;
  };
  return {
    get gw() {
      return started(gw);
    },
    get mock() {
      return started(mock);
    },
    async admin(method, path, body) {
      const res = await fetch(`${started(gw).url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return {
        status: res.status,
        body: (await res.json()) as Awaited<ReturnType<AdminGatewayFixture['admin']>>['body'],
      };
    },
  };
}
