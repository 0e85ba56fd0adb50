/**
 * Starts a real gateway (app instance listening on 127.0.0.1, port 0) wired to a mock upstream, with logs
 * captured in memory so tests can read them.
 */

import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, beforeEach } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import type { RetryClock } from '../../src/resilience/retry.js';
import { type MockOptions, MockUpstream } from '../fixtures/mock-upstream/server.js';

export const TEST_KEYS = {
  openai: 'sk-test-openai-SECRET-0123456789abcdef',
  anthropic: 'sk-ant-test-SECRET-0123456789abcdef',
  gemini: 'AIza-test-SECRET-0123456789abcdef',
};

export interface TestGateway {
  url: string;
  gateway: Gateway;
  /** Every log line written so far (JSON text). */
  logs: string[];
  close(): Promise<void>;
}

export interface StartOptions {
  mock: MockUpstream;
  /** Extra YAML merged over the defaults. */
  yaml?: string;
  /** Extra env (overrides the test defaults). */
  env?: Record<string, string | undefined>;
  clock?: RetryClock;
}

/** Env pointing every provider at the mock with fast retries. */
export function mockEnv(mock: MockUpstream): Record<string, string> {
  return {
    OPENAI_API_KEY: TEST_KEYS.openai,
    OPENAI_BASE_URL: `${mock.url}/v1`,
    ANTHROPIC_API_KEY: TEST_KEYS.anthropic,
    ANTHROPIC_BASE_URL: mock.url,
    GEMINI_API_KEY: TEST_KEYS.gemini,
    GEMINI_BASE_URL: mock.url,
    LLM_RETRY_BASE_MS: '1',
    LLM_RETRY_MAX_MS: '50',
    LOG_LEVEL: 'info',
    // Nothing written to disk by tests unless a test asks for it.
    GATEWAY_DATA_DIR: 'memory://',
    // The default limit (20 burst, 10/min per user) would refuse most suites' traffic; the rate-limit
    // tests turn it on with their own limits.
    RATE_LIMIT_ENABLED: 'false',
    // No usage records (and so no database opened) unless a test asks for them: PGlite is heavy.
    USAGE_ENABLED: 'false',
  };
}

export async function startGateway(options: StartOptions): Promise<TestGateway> {
  const env = { ...mockEnv(options.mock), ...options.env };
  const config = loadConfig({ env, yamlText: options.yaml });
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
      cb();
    },
  });
  const gateway = await createGateway({ config, env, logDestination: destination, clock: options.clock });
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = gateway.app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, gateway, logs, close: () => gateway.close(2000) };
}

/** POSTs JSON to the gateway. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  headers: Headers;
  json: () => Promise<unknown>;
  text: () => Promise<string>;
  response: Response;
}> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: () => response.json() as Promise<unknown>,
    text: () => response.text(),
    response,
  };
}

/** Reads an SSE body into its `data:` payloads (raw strings, `[DONE]` included; comment-only blocks skipped). */
export async function readSseData(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.split('\n').some((l) => l.startsWith('data: ')))
    .map((block) =>
      block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n'),
    );
}

export const userMessage = (text = 'Say hello') => [{ role: 'user', content: text }];

/** What `useGateway` hands a describe block: read these inside tests (they are set by `before`). */
export interface GatewayFixture {
  readonly mock: MockUpstream;
  readonly gw: TestGateway;
  /** `${gw.url}/v1/chat/completions` */
  readonly chatUrl: string;
}

/**
 * Registers before/after hooks that start a mock upstream and a gateway wired to it for the enclosing
 * describe block (and stop them after), and resets the mock before each test.
 *
 * @example
 * describe('…', () => {
 *   const t = useGateway({ env: { LLM_TIMEOUT: '1' } }, { frameIntervalMs: 10 });
 *   test('…', async () => { await postJson(t.chatUrl, body); assert.equal(t.mock.requests.length, 1); });
 * });
 */
export function useGateway(
  options: Omit<StartOptions, 'mock'> | ((mock: MockUpstream) => Omit<StartOptions, 'mock'>) = {},
  mockOptions: MockOptions = {},
): GatewayFixture {
  let mock: MockUpstream | undefined;
  let gw: TestGateway | undefined;
  before(async () => {
    mock = await MockUpstream.start(mockOptions);
    gw = await startGateway({ mock, ...(typeof options === 'function' ? options(mock) : options) });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });
  beforeEach(() => mock?.reset());
  return {
    get mock() {
      if (!mock) throw new Error('useGateway: read the fixture inside a test');
      return mock;
    },
    get gw() {
      if (!gw) throw new Error('useGateway: read the fixture inside a test');
      return gw;
    },
    get chatUrl() {
      return `${this.gw.url}/v1/chat/completions`;
    },
  };
}
