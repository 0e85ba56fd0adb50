/**
 * Finds out what a gateway build offers before measuring it: a feature that is not there is reported as
 * "not available on this build" instead of being measured as something it is not. Every check sends real
 * requests and reads the headers the feature promises (DESIGN §3): X-RateLimit-Limit, X-Cost,
 * X-Cache-Status / X-Cache-Type, and 401 without a key.
 */
import { request } from 'undici';

export interface ProbeAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export async function post(
  origin: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<ProbeAnswer> {
  const res = await request(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const header = (a: ProbeAnswer, name: string): string | undefined => {
  const v = a.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

const CHAT = '/v1/chat/completions';
const miss = (tag: string) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: `probe ${tag} ${Math.random()}` }],
  temperature: 0.7,
});

/** null = it works; otherwise why the feature is not there. */
export async function probeServes(origin: string, headers: Record<string, string>): Promise<string | null> {
  const a = await post(origin, CHAT, miss('serves'), headers);
  return a.status === 200 ? null : `a plain completion failed with ${a.status}: ${a.text.slice(0, 200)}`;
}

export async function probeKeys(origin: string, headers: Record<string, string>): Promise<string | null> {
  const without = await post(origin, CHAT, miss('nokey'), {});
  if (without.status !== 401)
    return `a request without a key got ${without.status}, not 401: auth keys are not on`;
  return probeServes(origin, headers);
}

export async function probeRateLimit(
  origin: string,
  headers: Record<string, string>,
): Promise<string | null> {
  const a = await post(origin, CHAT, miss('ratelimit'), headers);
  if (a.status !== 200) return `completion failed with ${a.status}: ${a.text.slice(0, 200)}`;
  return header(a, 'x-ratelimit-limit')
    ? null
    : 'no X-RateLimit-Limit header: rate limiting is not on this build';
}

export async function probeAccounting(
  origin: string,
  headers: Record<string, string>,
): Promise<string | null> {
  const a = await post(origin, CHAT, miss('accounting'), headers);
  if (a.status !== 200) return `completion failed with ${a.status}: ${a.text.slice(0, 200)}`;
  return header(a, 'x-cost') !== undefined ? null : 'no X-Cost header: usage accounting is not on this build';
}

export const HIT_BODY = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'What is 2+2?' }],
  temperature: 0,
};

export async function probeExactCache(
  origin: string,
  headers: Record<string, string>,
): Promise<string | null> {
  await post(origin, CHAT, HIT_BODY, headers);
  const second = await post(origin, CHAT, HIT_BODY, headers);
  if (second.status !== 200) return `completion failed with ${second.status}: ${second.text.slice(0, 200)}`;
  const status = header(second, 'x-cache-status');
  return status?.toUpperCase() === 'HIT'
    ? null
    : `second identical request: X-Cache-Status ${status ?? 'absent'}: the exact cache is not on this build`;
}

export const SEMANTIC_SEED = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'How do I reset my password?' }],
  temperature: 0,
};
/**
 * A paraphrase the default matcher serves (verifier probability ≈ 0.95 with USE-Lite). "How can I reset my
 * password?" is refused since the verifier's calibration to a 1 % false-hit bound (issue 18), which left the
 * `semantic@100` point unmeasured for a while.
 */
export const SEMANTIC_QUERY = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'How to reset my password?' }],
  temperature: 0,
};

export async function probeSemanticCache(
  origin: string,
  headers: Record<string, string>,
): Promise<string | null> {
  // The seed's semantic record is written after its answer, off the response path (its embedding takes
  // ≈ 10 ms, more on a busy machine): a paraphrase sent right after may miss. Ask again until it hits; the
  // paraphrase is sent with no-store, or a miss would be stored and the next try be an exact hit.
  let last = '';
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    await post(origin, CHAT, SEMANTIC_SEED, headers);
    const a = await post(origin, CHAT, SEMANTIC_QUERY, { ...headers, 'cache-control': 'no-store' });
    if (a.status !== 200) return `completion failed with ${a.status}: ${a.text.slice(0, 200)}`;
    const type = header(a, 'x-cache-type') ?? '';
    if (/semantic/i.test(type) && header(a, 'x-cache-status')?.toUpperCase() === 'HIT') return null;
    last = `X-Cache-Status ${header(a, 'x-cache-status') ?? 'absent'}, X-Cache-Type ${type || 'absent'}`;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return `a paraphrase was not a semantic hit within 30 s (${last}): the semantic cache is off, or its matcher refuses the pair`;
}

const embeddingsDone = async (origin: string): Promise<number | null> => {
  try {
    const text = await (await fetch(`${origin}/metrics`)).text();
    const m = /^llm_embedding_generation_duration_seconds_count(?:\{[^}]*\})?\s+(\S+)/m.exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return null;
  }
};

/**
 * The semantic layer embeds lookups (semantic-load): a cacheable request with a new text is embedded by the
 * pool (`llm_embedding_generation_duration_seconds_count` grows). No hit is required: on a busy machine an
 * embedding can outlast the bounded wait, and the pool's answer is still counted when it comes.
 */
export async function probeSemanticLookups(
  origin: string,
  headers: Record<string, string>,
): Promise<string | null> {
  const before = await embeddingsDone(origin);
  if (before === null) return 'GET /metrics failed';
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const body = {
      ...SEMANTIC_SEED,
      messages: [{ role: 'user', content: `Probe ${Math.random()}: ${SEMANTIC_QUERY.messages[0]?.content}` }],
    };
    const a = await post(origin, CHAT, body, { ...headers, 'cache-control': 'no-store' });
    if (a.status !== 200) return `completion failed with ${a.status}: ${a.text.slice(0, 200)}`;
    if (((await embeddingsDone(origin)) ?? 0) > before) return null;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return 'no embedding counted within 30 s of cacheable requests: the semantic cache is not on this build';
}

/**
 * An API key: from the admin API
 * (tier `free` = the RATE_LIMIT_DEFAULT_* bucket, which the bench sets far above any rate it sends) when the build has it (database keys), else null. */
export async function createKeyViaAdmin(origin: string, adminKey: string): Promise<string | null> {
  try {
    const a = await post(
      origin,
      '/admin/keys',
      { name: 'bench', user_id: 'bench-user', tier: 'free' },
      { authorization: `Bearer ${adminKey}` },
    );
    if (a.status < 200 || a.status >= 300) return null;
    const json = JSON.parse(a.text) as Record<string, unknown>;
    const key = json.key ?? json.api_key ?? (json.data as Record<string, unknown> | undefined)?.key;
    return typeof key === 'string' ? key : null;
  } catch {
    return null;
  }
}
