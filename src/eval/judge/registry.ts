/**
 * The judge prompts in the gateway's prompt registry (decision 0141): with `--admin-key`, `eval run` makes
 * sure each judge prompt it needs is stored as `eval-<metric>` at the version of its file (v1 → 1), then
 * calls the judge through `POST /v1/prompts/{id}/completions` with the item as variables, so the judge's
 * prompt is versioned, audited and diffable like any prompt, and every score names `eval-faithfulness@1`.
 *
 * Idempotent: a prompt or version that is missing is added (a version only when it is the next number);
 * a stored version with the same messages and variables is used as it is; a stored version that differs —
 * someone changed the prompt in the registry — is never overwritten or used: that metric keeps the file's
 * prompt, with a warning. A gateway without the prompt admin API leaves every metric on its file.
 */
import type { JudgePrompt } from './prompt.js';

export type AdminCall = (
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: unknown }>;

/** What registration decided for one judge prompt. */
export interface Registered {
  prompt: JudgePrompt;
  /** True: call it through the registry; false: render the file. */
  registry: boolean;
  /** Why the file is used (null when the registry is). */
  note: string | null;
}

interface StoredVersion {
  version?: number;
  messages?: Array<{ role: string; content: string }>;
  variables?: Record<string, { type?: string; required?: boolean }>;
}

/** Whether a stored version is this prompt: the same messages and the same declared variables. */
export function sameVersion(stored: StoredVersion, prompt: JudgePrompt): boolean {
  const messages = (stored.messages ?? []).map((m) => ({ role: m.role, content: m.content }));
  if (JSON.stringify(messages) !== JSON.stringify(prompt.messages)) return false;
  const names = Object.keys(stored.variables ?? {}).sort();
  return JSON.stringify(names) === JSON.stringify(Object.keys(prompt.variables).sort());
}

function body(prompt: JudgePrompt) {
  return {
    messages: prompt.messages,
    variables: prompt.variables,
    // No model: the judge is the request's (`--judge`); a version's model would override it.
    model: null,
    params: { temperature: 0 },
    note: `llm-gateway eval judge prompt ${prompt.metric}@${prompt.version} (src/eval/judge/)`,
  };
}

const message = (b: unknown): string =>
  (b as { error?: { message?: string } } | null)?.error?.message ?? 'unknown error';

/** Finds or adds one judge prompt in the registry. */
export async function registerOne(call: AdminCall, prompt: JudgePrompt): Promise<Registered> {
  const id = encodeURIComponent(prompt.registryId);
  const n = prompt.registryVersion;
  const file = (note: string): Registered => ({ prompt, registry: false, note });
  const stored = await call('GET', `/admin/prompts/${id}/versions/${n}`);
  if (stored.status === 200) {
    return sameVersion(stored.body as StoredVersion, prompt)
      ? { prompt, registry: true, note: null }
      : file(
          `${prompt.registryId} version ${n} in the prompt registry differs from the file's ${prompt.metric}@${prompt.version}; the file is used (add the next version to the file instead of editing the registry's)`,
        );
  }
  if (stored.status !== 404)
    return file(`the prompt registry answered ${stored.status}: ${message(stored.body)}`);
  const summary = await call('GET', `/admin/prompts/${id}`);
  if (summary.status === 404) {
    // No such prompt (or no prompt API at all: then the create fails too and the file is used).
    if (n !== 1)
      return file(`${prompt.registryId} is not in the prompt registry and ${n} is not its first version`);
    const created = await call('POST', '/admin/prompts', { id: prompt.registryId, ...body(prompt) });
    if (created.status === 201) return { prompt, registry: true, note: null };
    return file(
      `the prompt registry refused ${prompt.registryId}: ${created.status} ${message(created.body)}`,
    );
  }
  if (summary.status !== 200)
    return file(`the prompt registry answered ${summary.status}: ${message(summary.body)}`);
  const latest = (summary.body as { latest_version?: number }).latest_version ?? 0;
  if (latest !== n - 1) {
    return file(
      `${prompt.registryId} has version ${latest} in the prompt registry, so version ${n} cannot be added as the file's ${prompt.metric}@${prompt.version}`,
    );
  }
  const added = await call('POST', `/admin/prompts/${id}/versions`, body(prompt));
  if (added.status === 201) return { prompt, registry: true, note: null };
  return file(
    `the prompt registry refused ${prompt.registryId} version ${n}: ${added.status} ${message(added.body)}`,
  );
}

/** Registers every prompt (in order); a failed call leaves that metric on its file. */
export async function registerJudgePrompts(
  call: AdminCall,
  prompts: readonly JudgePrompt[],
): Promise<Registered[]> {
  const out: Registered[] = [];
  for (const prompt of prompts) {
    out.push(
      await registerOne(call, prompt).catch((err: Error) => ({
        prompt,
        registry: false,
        note: `the prompt registry could not be reached: ${err.message}`,
      })),
    );
  }
  return out;
}
