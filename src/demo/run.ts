/**
 * `llm-gateway demo` (`npm run demo`): the real gateway in front of a simulated upstream (demo/upstream.ts)
 * that answers every model of the default catalogue, with a seeded admin key and API key, demo traffic,
 * and a printed walkthrough. Self-contained and clearly a demo: every provider of the catalogue points at
 * the simulator with a placeholder key (real provider keys and base URLs in the environment are ignored,
 * so nothing is ever sent to a real provider), the database is in memory unless GATEWAY_DATA_DIR is set,
 * and DATABASE_URL, REDIS_URL and GATEWAY_CONFIG are not used. Only this command starts it.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { BUILTIN_PROVIDERS } from '../config/defaults.js';
import { loadConfig } from '../config/load.js';
import type { Clock } from '../core/clock.js';
import { createGateway, type Gateway } from '../gateway.js';
import { runTraffic } from './traffic.js';
import { SimulatedUpstream } from './upstream.js';

export interface DemoOptions {
  /** The environment (main.ts passes process.env): PORT, HOST, LOG_LEVEL, GATEWAY_ADMIN_KEY … */
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  /** Demo traffic (default on; DEMO_TRAFFIC=0 turns it off). */
  traffic?: boolean;
  /** Tests: 0 = no simulated latency. */
  latencyScale?: number;
  /** Share of upstream calls failing with a retried 503 (default 0.02). */
  failureRate?: number;
  logDestination?: DestinationStream;
  /** Tests: configuration (YAML) on top of the demo's defaults, e.g. feedback metrics. */
  yamlText?: string;
}

export interface Demo {
  /** The gateway's base URL (`http://127.0.0.1:8000`). */
  url: string;
  apiKey: string;
  adminKey: string;
  gateway: Gateway;
  /** The walkthrough printed at start. */
  banner: string;
  close(): Promise<void>;
}

const PLACEHOLDER_KEY = 'demo-placeholder-key-not-a-real-provider-key';

/** Every catalogue provider with models, pointed at the simulator (same path, the simulator's origin). */
export function demoEnv(
  env: Readonly<Record<string, string | undefined>>,
  upstreamUrl: string,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'GATEWAY_CONFIG']) delete out[name];
  for (const provider of Object.values(BUILTIN_PROVIDERS)) {
    if (provider.models.length === 0 || !provider.base_url_env || !provider.api_key_env) continue;
    const path = new URL(provider.base_url).pathname.replace(/\/$/, '');
    out[provider.base_url_env] = `${upstreamUrl}${path}`;
    out[provider.api_key_env] = PLACEHOLDER_KEY;
  }
  out.GATEWAY_ADMIN_KEY = env.GATEWAY_ADMIN_KEY || `demo-admin-${randomBytes(18).toString('base64url')}`;
  out.AUTH_MODE = 'keys';
  out.HOST = env.HOST ?? '127.0.0.1';
  out.GATEWAY_DATA_DIR = env.GATEWAY_DATA_DIR ?? 'memory://';
  out.CACHE_ENABLED = env.CACHE_ENABLED ?? 'true';
  out.LOG_LEVEL = env.LOG_LEVEL ?? 'error';
  return out;
}

/**
 * The catalogue's models that the demo serves, as clients name them: the bare name when the provider's
 * prefixes route it (`gpt-4o-mini`), else `provider/model`.
 */
export function demoModels(): { chat: string[]; embeddings: string[] } {
  const all = Object.entries(BUILTIN_PROVIDERS).flatMap(([name, p]) =>
    p.models.map((m) => (p.model_prefixes.some((prefix) => m.startsWith(prefix)) ? m : `${name}/${m}`)),
  );
  return {
    chat: all.filter((m) => !/embedding/.test(m)),
    embeddings: all.filter((m) => /embedding/.test(m)),
  };
}

/** Starts the simulator, the gateway, seeds the keys and starts the traffic. */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const { clock } = options;
  const upstream = await SimulatedUpstream.start({
    clock,
    latencyScale: options.latencyScale ?? 1,
    failureRate: options.failureRate ?? 0.02,
  });
  let gateway: Gateway | null = null;
  try {
    const env = demoEnv(options.env, upstream.url);
    const config = loadConfig({ env, yamlText: options.yamlText });
    gateway = await createGateway({ config, env, clock, logDestination: options.logDestination });
    await gateway.app.listen({ host: config.server.host, port: config.server.port });
    const { port } = gateway.app.server.address() as AddressInfo;
    const host = ['0.0.0.0', '::', ''].includes(config.server.host) ? '127.0.0.1' : config.server.host;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const adminKey = env.GATEWAY_ADMIN_KEY as string;
    const apiKey = await seedKey(url, adminKey);
    const models = demoModels();
    const stop = new AbortController();
    const trafficOn = options.traffic ?? options.env.DEMO_TRAFFIC !== '0';
    const traffic = trafficOn
      ? runTraffic({
          url,
          apiKey,
          chatModels: models.chat,
          embeddingModels: models.embeddings,
          clock,
          intervalMs: 3_000,
          burst: 12,
          signal: stop.signal,
        })
      : Promise.resolve();
    const running = gateway;
    return {
      url,
      apiKey,
      adminKey,
      gateway: running,
      banner: banner(url, apiKey, adminKey, models.chat, trafficOn),
      async close() {
        stop.abort();
        await traffic.catch(() => undefined);
        await running.close(2_000);
        await upstream.close();
      },
    };
  } catch (err) {
    await gateway?.close(0);
    await upstream.close();
    throw err;
  }
}

/** Creates the demo's API key through the admin API (as a user would). */
async function seedKey(url: string, adminKey: string): Promise<string> {
  const res = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'demo', user_id: 'demo-user', tier: 'pro' }),
  });
  const body = (await res.json()) as { key?: string; error?: { message: string } };
  if (res.status !== 201 || !body.key) {
    throw new Error(`the demo could not create its API key: ${body.error?.message ?? res.status}`);
  }
  return body.key;
}

function banner(
  url: string,
  apiKey: string,
  adminKey: string,
  chatModels: string[],
  traffic: boolean,
): string {
  const model = chatModels.find((m) => m.endsWith('-mini')) ?? chatModels[0] ?? 'gpt-4o-mini';
  const chat = `{"model":"${model}","messages":[{"role":"user","content":"Hello!"}]}`;
  return `
================================================================================
  LLM Gateway — DEMO MODE
  A simulated upstream answers every model of the catalogue (${chatModels.length} chat models).
  No provider is called and no provider key is needed: answers and costs are made up.
================================================================================

Console:  ${url}/console        (sign in with the admin key below)
API:      ${url}/v1
API docs: ${url}/docs
Metrics:  ${url}/metrics

API key: ${apiKey}
Admin key: ${adminKey}

Try it:

  curl ${url}/v1/chat/completions \\
    -H "Authorization: Bearer ${apiKey}" -H "Content-Type: application/json" \\
    -d '${chat}'

  # a stream
  curl -N ${url}/v1/chat/completions \\
    -H "Authorization: Bearer ${apiKey}" -H "Content-Type: application/json" \\
    -d '${chat.replace(/}$/, ',"stream":true}')}'

  # the same request twice with "temperature":0 — the second is answered by the cache (X-Cache-Status: HIT)
  curl -i ${url}/v1/chat/completions \\
    -H "Authorization: Bearer ${apiKey}" -H "Content-Type: application/json" \\
    -d '${chat.replace(/}$/, ',"temperature":0}')}'

  # the cost report
  curl ${url}/admin/costs/summary -H "Authorization: Bearer ${adminKey}"

  # Python (pip install openai)
  from openai import OpenAI
  client = OpenAI(base_url="${url}/v1", api_key="${apiKey}")
  print(client.chat.completions.create(model="${model}", messages=[{"role": "user", "content": "Hello!"}]).choices[0].message.content)

  // Node.js (npm install openai)
  const client = new OpenAI({ baseURL: '${url}/v1', apiKey: '${apiKey}' });

${traffic ? 'Demo traffic: a request every few seconds (DEMO_TRAFFIC=0 turns it off).' : 'Demo traffic is off.'}
The data lives in memory and is gone when you stop the demo (Ctrl+C).
`;
}
