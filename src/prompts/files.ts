/**
 * Prompt files, for prompts kept in git (`llm-gateway prompts import|export`). One YAML (or JSON) document
 * per prompt:
 *
 * ```yaml
 * id: summarise
 * labels: { production: 2, staging: 3 }
 * versions:                 # version 1, 2, 3 … in order
 *   - messages:
 *       - { role: system, content: "You summarise in {{language}}." }
 *     variables: { language: { type: string } }
 *     model: gpt-4o-mini
 *     params: { temperature: 0.2 }
 *     note: first
 * ```
 *
 * Importing is idempotent: a version already stored with the same content is left alone, a new one is
 * added, and a stored version whose content differs is an error (versions are immutable: add a version
 * instead). A file without `versions` holds one version (its fields at the top level): it is added when it
 * differs from the latest one.
 */
import { parse, parseAllDocuments, stringify } from 'yaml';
import { createChatValidator } from '../endpoints/chat/codec.js';
import type { createSchemaCompiler } from '../endpoints/compile.js';
import { MAX_PROMPT_VERSION, PROMPT_ID_PATTERN } from '../endpoints/prompt-ref.js';
import type { ChangeActor } from './audit.js';
import { NewVersionBody, type NewVersionInput, toNewVersion } from './routes.js';
import type { NewVersion, PromptStore, PromptVersion } from './store.js';
import { PromptNotFoundError } from './store.js';

const ID = new RegExp(PROMPT_ID_PATTERN);

export interface PromptFile {
  id: string;
  labels: Record<string, number>;
  versions: NewVersion[];
  /** The file holds one version to append (no `versions` list). */
  single: boolean;
}

/** What an import did. */
export interface ImportResult {
  id: string;
  created: boolean;
  added: number[];
  unchanged: number[];
  labels: Record<string, number>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a file's documents. @throws Error naming the document and field */
export function parsePromptFile(
  text: string,
  compile: ReturnType<typeof createSchemaCompiler>,
): PromptFile[] {
  const validate = compile<NewVersionInput>(NewVersionBody);
  const chat = createChatValidator(compile);
  return parseAllDocuments(text).map((doc, d) => {
    if (doc.errors.length > 0) throw new Error(`document ${d + 1}: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (!isObject(value) || typeof value.id !== 'string')
      throw new Error(`document ${d + 1}: id is required`);
    const { id, labels = {}, versions, ...rest } = value;
    if (!ID.test(id))
      throw new Error(`document ${d + 1}: id "${id}" is not 1 to 64 letters, digits, ".", "_" or "-"`);
    const labelsOk =
      isObject(labels) &&
      Object.entries(labels).every(
        ([name, v]) =>
          ID.test(name) && Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_PROMPT_VERSION,
      );
    if (!labelsOk) {
      throw new Error(
        `${id}: labels is an object of label (1 to 64 letters, digits, ".", "_" or "-") → version number (from 1)`,
      );
    }
    const list = versions === undefined ? [rest] : versions;
    if (!Array.isArray(list) || list.length === 0) throw new Error(`${id}: versions is a non-empty list`);
    return {
      id,
      labels: labels as Record<string, number>,
      single: versions === undefined,
      versions: list.map((v, i) => {
        try {
          return toNewVersion(validate(v), chat);
        } catch (err) {
          const param = (err as { param?: string | null }).param;
          throw new Error(`${id}: version ${i + 1}: ${(err as Error).message}${param ? ` (${param})` : ''}`);
        }
      }),
    };
  });
}

/** One version's fields from a YAML/JSON text (`create --file`, `version --file`). */
export function parseVersionText(text: string, compile: ReturnType<typeof createSchemaCompiler>): NewVersion {
  const validate = compile<NewVersionInput>(NewVersionBody);
  const chat = createChatValidator(compile);
  const value: unknown = parse(text);
  try {
    return toNewVersion(validate(value), chat);
  } catch (err) {
    const param = (err as { param?: string | null }).param;
    throw new Error(`${(err as Error).message}${param ? ` (${param})` : ''}`);
  }
}

function sameContent(a: NewVersion | PromptVersion, b: NewVersion | PromptVersion): boolean {
  const fields = (v: NewVersion | PromptVersion) =>
    JSON.stringify([v.messages, v.variables, v.model, v.params, v.note]);
  return fields(a) === fields(b);
}

/** Imports one prompt file into the store. @throws Error when a stored version differs */
export async function importPrompt(
  store: PromptStore,
  file: PromptFile,
  who: ChangeActor,
): Promise<ImportResult> {
  let stored: PromptVersion[] = [];
  try {
    stored = (await store.versions(file.id)).reverse();
  } catch (err) {
    if (!(err instanceof PromptNotFoundError)) throw err;
  }
  const result: ImportResult = {
    id: file.id,
    created: stored.length === 0,
    added: [],
    unchanged: [],
    labels: {},
  };
  const add = async (v: NewVersion) => {
    const made =
      result.created && result.added.length === 0
        ? await store.create(file.id, v, who)
        : await store.addVersion(file.id, v, who);
    result.added.push(made.version);
  };
  if (file.single) {
    const latest = stored.at(-1);
    const [only] = file.versions as [NewVersion];
    if (latest && sameContent(latest, only)) result.unchanged.push(latest.version);
    else await add(only);
  } else {
    for (const [i, v] of file.versions.entries()) {
      const existing = stored[i];
      if (!existing) await add(v);
      else if (sameContent(existing, v)) result.unchanged.push(existing.version);
      else {
        throw new Error(
          `${file.id}: version ${i + 1} differs from the stored one; versions are immutable — append a new version instead`,
        );
      }
    }
  }
  const current = Object.keys(file.labels).length > 0 ? (await store.get(file.id)).labels : {};
  for (const [label, version] of Object.entries(file.labels)) {
    // Unchanged labels are not written again (no audit entry per CI run).
    if (current[label] !== version) await store.setLabel(file.id, label, version, who);
    result.labels[label] = version;
  }
  return result;
}

/** A prompt's versions and labels as a YAML document (the import format). */
export async function exportPrompt(store: PromptStore, id: string): Promise<string> {
  const summary = await store.get(id);
  const versions = (await store.versions(id)).reverse();
  return stringify({
    id,
    labels: summary.labels,
    versions: versions.map((v) => ({
      messages: v.messages,
      variables: v.variables,
      model: v.model,
      params: v.params,
      note: v.note,
    })),
  });
}
