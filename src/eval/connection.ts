/**
 * Where `eval run` sends its requests: a running gateway (`--gateway URL`), or a gateway started in this
 * process from the local config (the default; it listens on a loopback port of its own and owns its
 * database as any gateway does). Also the admin API client that stores runs (`--admin-key`).
 */
import { Writable } from 'node:stream';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { createGateway } from '../gateway.js';
import type { ResultRecord } from './results.js';

export interface Connection {
  baseUrl: string;
  /** What the report says about the gateway (never a key). */
  label: string;
  close(): Promise<void>;
}

/** Starts a gateway in this process (logs discarded: the evaluation reports its own progress). */
export async function startInProcess(
  config: Config,
  env: NodeJS.ProcessEnv,
  clock: Clock,
): Promise<Connection> {
  const gateway = await createGateway({
    config: { ...config, server: { ...config.server, host: '127.0.0.1', port: 0 } },
    env,
    clock,
    logDestination: new Writable({ write: (_chunk, _enc, cb) => cb() }),
  });
  const address = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  return { baseUrl: address, label: 'in process (local config)', close: () => gateway.close(5000) };
}

export const remote = (url: string): Connection => ({
  baseUrl: url.replace(/\/+$/, ''),
  label: url.replace(/\/\/[^@/]*@/, '//'),
  close: async () => undefined,
});

/** Results per admin call (`POST /admin/evals/runs/{id}/results` takes at most 500). */
export const STORE_BATCH = 500;

/** The admin API of evaluation runs (src/eval/store.ts), used with `--admin-key`. */
export class AdminClient {
  constructor(
    private readonly baseUrl: string,
    private readonly adminKey: string,
  ) {}

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.adminKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (!response.ok) {
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        // not JSON
      }
      throw new Error(`${method} ${path}: HTTP ${response.status}: ${message}`);
    }
    return text ? (JSON.parse(text) as unknown) : null;
  }

  /** One admin call answered as it is (status and JSON body), never thrown for an HTTP error. */
  async raw(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.adminKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { error: { message: text.slice(0, 300) } };
    }
    return { status: response.status, body: parsed };
  }

  createRun(run: Record<string, unknown>): Promise<unknown> {
    return this.#call('POST', '/admin/evals/runs', run);
  }
  /** Stores results, at most `STORE_BATCH` a call (the admin API's limit; a resumed run sends all it had). */
  async storeResults(runId: string, results: readonly ResultRecord[]): Promise<void> {
    for (let i = 0; i < results.length; i += STORE_BATCH) {
      const batch = results.slice(i, i + STORE_BATCH);
      await this.#call('POST', `/admin/evals/runs/${encodeURIComponent(runId)}/results`, { results: batch });
    }
  }
  finishRun(runId: string, status: 'finished' | 'failed', summary: unknown): Promise<unknown> {
    return this.#call('PATCH', `/admin/evals/runs/${encodeURIComponent(runId)}`, {
      status,
      finished: true,
      summary,
    });
  }
  async getRun(runId: string): Promise<{ run: Record<string, unknown>; results: ResultRecord[] }> {
    const id = encodeURIComponent(runId);
    const run = (await this.#call('GET', `/admin/evals/runs/${id}`)) as Record<string, unknown>;
    const { data } = (await this.#call('GET', `/admin/evals/runs/${id}/results`)) as { data: ResultRecord[] };
    return { run, results: data };
  }
}
