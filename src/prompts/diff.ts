/**
 * The difference between two versions of a prompt (`GET /admin/prompts/{id}/diff?from=&to=`,
 * `llm-gateway prompts diff`): the fields that changed, and the messages as a line diff (longest common
 * subsequence; prompts are short, so the quadratic table is small — bounded by MAX_DIFF_LINES).
 */
import type { PromptVersion } from './store.js';

export interface DiffLine {
  op: ' ' | '+' | '-';
  line: string;
}

export interface VersionDiff {
  id: string;
  from: number;
  to: number;
  /** Fields other than the messages that changed: name → {from, to}. */
  changed: Record<string, { from: unknown; to: unknown }>;
  messages: DiffLine[];
  /** The message diff as text (`+`/`-`/` ` prefixed lines). */
  unified: string;
}

const MAX_DIFF_LINES = 2000;

function linesOf(v: PromptVersion): string[] {
  return v.messages.flatMap((m) => [`[${m.role}]`, ...m.content.split('\n')]).slice(0, MAX_DIFF_LINES);
}

/** A line diff of two texts (longest common subsequence). */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  const table: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    const row = table[i] as number[];
    const below = table[i + 1] as number[];
    for (let j = m - 1; j >= 0; j--) {
      row[j] =
        a[i] === b[j] ? (below[j + 1] as number) + 1 : Math.max(below[j] as number, row[j + 1] as number);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', line: a[i] as string });
      i++;
      j++;
    } else if ((table[i + 1]?.[j] ?? 0) >= (table[i]?.[j + 1] ?? 0)) {
      out.push({ op: '-', line: a[i++] as string });
    } else {
      out.push({ op: '+', line: b[j++] as string });
    }
  }
  while (i < n) out.push({ op: '-', line: a[i++] as string });
  while (j < m) out.push({ op: '+', line: b[j++] as string });
  return out;
}

/** What changed from one version to another. */
export function diffVersions(from: PromptVersion, to: PromptVersion): VersionDiff {
  const changed: VersionDiff['changed'] = {};
  for (const field of ['model', 'params', 'variables', 'note'] as const) {
    if (JSON.stringify(from[field]) !== JSON.stringify(to[field])) {
      changed[field] = { from: from[field], to: to[field] };
    }
  }
  const messages = diffLines(linesOf(from), linesOf(to));
  return {
    id: to.id,
    from: from.version,
    to: to.version,
    changed,
    messages,
    unified: messages.map((d) => `${d.op}${d.line}`).join('\n'),
  };
}
