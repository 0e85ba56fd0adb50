/**
 * Helpers for the routing tests: mock upstreams and readers for /admin/routes and /metrics. Their clock is
 * the shared fake clock (`fakeClock({ seed })` from fake-clock.ts: moved by hand, seeded random).
 */
import { MockUpstream } from '../fixtures/mock-upstream/server.js';

/** Starts `n` mock upstreams, each one "deployment" on its own port. */
export function startMocks(n: number, options: Parameters<typeof MockUpstream.start>[0] = {}) {
  return Promise.all(Array.from({ length: n }, () => MockUpstream.start(options)));
}

/** Config YAML of the alias `smart`: OpenAI's gpt-4o-mini, falling back to Anthropic's Haiku. */
export const SMART_ROUTE = `
routes:
  smart:
    deployments:
      - { provider: openai, model: gpt-4o-mini }
      - { provider: anthropic, model: claude-3-5-haiku-latest }
`;

export const ADMIN_KEY = 'admin-test-key-0123456789';

export interface AdminDeployment {
  id: string;
  provider: string;
  model: string;
  state: 'closed' | 'open' | 'half_open';
  error_rate: number;
  requests_in_window: number;
  consecutive_failures: number;
  retry_in_ms: number | null;
  latency_ms: number | null;
  ttft_ms: number | null;
  samples: number;
}

export interface AdminRoutes {
  routes: Array<{ name: string; strategy: string; deployments: AdminDeployment[] }>;
  deployments: AdminDeployment[];
}

export async function adminRoutes(gatewayUrl: string): Promise<AdminRoutes> {
  const res = await fetch(`${gatewayUrl}/admin/routes`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  if (res.status !== 200) throw new Error(`/admin/routes answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as AdminRoutes;
}

/** The value of one sample on /metrics, e.g. `llm_circuit_state{deployment="a"}`; undefined when absent. */
export async function metricValue(gatewayUrl: string, sample: string): Promise<number | undefined> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}
