/**
 * The evaluation dataset (DESIGN §12): JSONL, one item a line. Every line is checked and every problem is
 * reported with its line number at once (the CLI exits 2), so a user fixes a file in one pass.
 *
 * An item (docs/evaluation.md):
 *   {"id": "q01", "input": "Who wrote…?", "context": ["passage", …], "reference": "…", "tags": ["history"],
 *    "regex": "^\\d{4}$", "json_schema": {…}, "variables": {…}}
 * - `input` (a string, or chat messages) or `variables` (prompt targets) is required;
 * - `id` defaults to `line-N` and must be unique; `context` is a passage or a list of passages;
 * - `reference`, `regex`, `json_schema` turn on the metrics that need them.
 */
import { Ajv } from 'ajv';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface DatasetItem {
  id: string;
  /** The question (a string) or the whole conversation. */
  input: string | ChatMessage[] | null;
  /** Prompt variables, for `prompt:` targets. */
  variables: Record<string, unknown> | null;
  context: string[];
  reference: string | null;
  tags: string[];
  regex: string | null;
  jsonSchema: Record<string, unknown> | null;
}

export class DatasetError extends Error {
  constructor(readonly problems: string[]) {
    super(`the dataset has ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

const KNOWN = new Set([
  'id',
  'input',
  'variables',
  'context',
  'reference',
  'tags',
  'regex',
  'json_schema',
  'metadata',
]);
const ROLES = new Set(['system', 'user', 'assistant']);
export const MAX_ITEMS = 100_000;

/** Parses a JSONL text into items. @throws DatasetError listing every bad line (`line N: …`). */
export function parseDataset(text: string): DatasetItem[] {
  const problems: string[] = [];
  const items: DatasetItem[] = [];
  const ids = new Map<string, number>();
  const ajv = new Ajv({ strict: false });
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    if (raw.trim() === '') continue;
    const bad = (message: string) => problems.push(`line ${line}: ${message}`);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      bad(`not valid JSON (${(err as Error).message})`);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      bad('expected a JSON object');
      continue;
    }
    const item = parseItem(value as Record<string, unknown>, line, bad, ajv);
    if (!item) continue;
    const seen = ids.get(item.id);
    if (seen !== undefined) {
      bad(`id "${item.id}" is already used on line ${seen}`);
      continue;
    }
    ids.set(item.id, line);
    items.push(item);
  }
  if (items.length === 0 && problems.length === 0) problems.push('the dataset has no items');
  if (items.length > MAX_ITEMS) problems.push(`the dataset has more than ${MAX_ITEMS} items`);
  if (problems.length > 0) throw new DatasetError(problems);
  return items;
}

function parseItem(
  o: Record<string, unknown>,
  line: number,
  bad: (message: string) => void,
  ajv: Ajv,
): DatasetItem | null {
  const before = { count: 0 };
  const fail = (message: string) => {
    before.count++;
    bad(message);
  };
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) fail(`unknown field "${key}" (known: ${[...KNOWN].join(', ')})`);
  }
  let id = `line-${line}`;
  if (o.id !== undefined) {
    if ((typeof o.id !== 'string' && typeof o.id !== 'number') || String(o.id).length === 0) {
      fail('"id" must be a non-empty string or a number');
    } else if (String(o.id).length > 200) fail('"id" is longer than 200 characters');
    else id = String(o.id);
  }
  const input = parseInput(o.input, fail);
  let variables: Record<string, unknown> | null = null;
  if (o.variables !== undefined) {
    if (typeof o.variables !== 'object' || o.variables === null || Array.isArray(o.variables)) {
      fail('"variables" must be an object');
    } else variables = o.variables as Record<string, unknown>;
  }
  if (o.input === undefined && o.variables === undefined) fail('needs "input" or "variables"');
  const context = parseStrings(o.context, 'context', fail, true);
  const tags = parseStrings(o.tags, 'tags', fail, false);
  const reference = optionalString(o.reference, 'reference', fail);
  const regex = optionalString(o.regex, 'regex', fail);
  if (regex !== null) {
    try {
      new RegExp(regex);
    } catch (err) {
      fail(`"regex" is not a valid regular expression (${(err as Error).message})`);
    }
  }
  let jsonSchema: Record<string, unknown> | null = null;
  if (o.json_schema !== undefined) {
    if (typeof o.json_schema !== 'object' || o.json_schema === null || Array.isArray(o.json_schema)) {
      fail('"json_schema" must be a JSON Schema object');
    } else {
      try {
        ajv.compile(o.json_schema);
        jsonSchema = o.json_schema as Record<string, unknown>;
      } catch (err) {
        fail(`"json_schema" is not a valid JSON Schema (${(err as Error).message})`);
      }
    }
  }
  if (before.count > 0) return null;
  return { id, input, variables, context, reference, tags, regex, jsonSchema };
}

function parseInput(value: unknown, fail: (m: string) => void): DatasetItem['input'] {
  if (value === undefined) return null;
  if (typeof value === 'string') {
    if (value.trim() === '') fail('"input" is empty');
    return value;
  }
  if (!Array.isArray(value) || value.length === 0) {
    fail('"input" must be a string or a non-empty array of {role, content} messages');
    return null;
  }
  const messages: ChatMessage[] = [];
  value.forEach((m: unknown, i) => {
    const msg = m as { role?: unknown; content?: unknown };
    if (typeof msg !== 'object' || msg === null || !ROLES.has(msg.role as string)) {
      fail(`"input[${i}].role" must be system, user or assistant`);
    } else if (typeof msg.content !== 'string') fail(`"input[${i}].content" must be a string`);
    else messages.push({ role: msg.role as ChatMessage['role'], content: msg.content });
  });
  if (!messages.some((m) => m.role === 'user')) fail('"input" needs at least one user message');
  return messages;
}

function parseStrings(value: unknown, name: string, fail: (m: string) => void, single: boolean): string[] {
  if (value === undefined || value === null) return [];
  if (single && typeof value === 'string') return [value];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    fail(`"${name}" must be ${single ? 'a string or ' : ''}an array of strings`);
    return [];
  }
  return value as string[];
}

function optionalString(value: unknown, name: string, fail: (m: string) => void): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    fail(`"${name}" must be a string`);
    return null;
  }
  return value;
}

/** The question the judge sees: the input's text, the last user message, or the variables as JSON. */
export function questionOf(item: DatasetItem): string {
  if (typeof item.input === 'string') return item.input;
  if (Array.isArray(item.input)) return item.input.filter((m) => m.role === 'user').at(-1)?.content ?? '';
  return JSON.stringify(item.variables ?? {});
}
