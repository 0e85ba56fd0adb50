/**
 * `llm-gateway prompts …` — prompt administration against the gateway's database (DATABASE_URL, else the
 * PGlite database under GATEWAY_DATA_DIR), with the same rules as the admin API (docs/prompts.md).
 * While the gateway runs on PGlite (one process holds the directory), use the admin API instead.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Config } from '../config/schema.js';
import { type Clock, systemClock } from '../core/clock.js';
import { GatewayError } from '../core/errors.js';
import { createSchemaCompiler } from '../endpoints/compile.js';
import { MAX_PROMPT_VERSION } from '../endpoints/prompt-ref.js';
import { diffVersions } from '../prompts/diff.js';
import { exportPrompt, importPrompt, parsePromptFile, parseVersionText } from '../prompts/files.js';
import { PromptNotFoundError, PromptStore, type PromptVersion } from '../prompts/store.js';
import { cliActor } from './actor.js';
import { openCliDatabase } from './database.js';
import { UsageError } from './keys.js';

export const PROMPTS_USAGE = `Usage:
  llm-gateway prompts list [--all] [--json]
  llm-gateway prompts show ID [--version N | --label LABEL] [--json]
  llm-gateway prompts create ID --file FILE        (FILE: YAML/JSON with messages, variables, model, params, note)
  llm-gateway prompts version ID --file FILE       add the next version
  llm-gateway prompts label ID LABEL VERSION       point a label (production, staging, …) at a version
  llm-gateway prompts diff ID FROM TO              what changed between two versions
  llm-gateway prompts archive ID
  llm-gateway prompts import FILE…                 prompts kept in git (idempotent; see docs/prompts.md)
  llm-gateway prompts export ID [--out FILE]       versions and labels as YAML
`;

interface Io {
  out(text: string): void;
}

function versionNumber(raw: string | undefined, what: string): number {
  const n = Number(raw);
  if (!raw || !Number.isInteger(n) || n < 1 || n > MAX_PROMPT_VERSION) {
    throw new UsageError(`${what}: a version number (1, 2, … up to ${MAX_PROMPT_VERSION})`);
  }
  return n;
}

function showVersion(v: PromptVersion): string {
  const head = `${v.id} v${v.version}  model=${v.model ?? '(the request’s)'}  ${v.createdAt}${v.note ? `  — ${v.note}` : ''}`;
  const vars = Object.entries(v.variables)
    .map(([name, s]) => `${name}: ${s.type}${s.required ? '' : '?'}`)
    .join(', ');
  const messages = v.messages.map((m) => `  [${m.role}] ${m.content.replaceAll('\n', '\n    ')}`).join('\n');
  return `${head}\n  variables: ${vars || 'none'}\n  params: ${JSON.stringify(v.params)}\n${messages}\n`;
}

/** Runs one `prompts` subcommand; returns the exit code. */
export async function runPromptsCommand(
  args: string[],
  config: Readonly<Config>,
  io: Io,
  clock: Pick<Clock, 'wallNow'> = systemClock,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      all: { type: 'boolean' },
      json: { type: 'boolean' },
      file: { type: 'string', short: 'f' },
      out: { type: 'string', short: 'o' },
      version: { type: 'string' },
      label: { type: 'string' },
      config: { type: 'string', short: 'c' },
    },
    allowPositionals: true,
  });
  const [sub, ...rest] = positionals;
  const compile = createSchemaCompiler();
  const readVersion = async () => {
    if (!values.file) throw new UsageError('--file is required');
    return parseVersionText(await readFile(values.file, 'utf8'), compile);
  };
  const database = await openCliDatabase(config, {
    lockedHint:
      'While the gateway runs, manage prompts through its admin API instead (docs/prompts.md), e.g.\n' +
      '  curl -H "Authorization: Bearer $GATEWAY_ADMIN_KEY" http://127.0.0.1:8000/admin/prompts',
  });
  const store = new PromptStore(() => database);
  const who = { actor: cliActor() };
  try {
    switch (sub) {
      case 'list': {
        const prompts = await store.list(values.all === true);
        if (values.json) io.out(`${JSON.stringify(prompts, null, 2)}\n`);
        else if (prompts.length === 0) io.out('no prompts\n');
        else {
          for (const p of prompts) {
            const labels = Object.entries(p.labels).map(([l, v]) => `${l}=v${v}`);
            io.out(
              `${p.id}  latest=v${p.latest_version}  ${labels.join(' ') || 'no labels'}${p.archived ? '  archived' : ''}\n`,
            );
          }
        }
        return 0;
      }
      case 'show': {
        const id = need(rest[0], 'show needs the prompt id');
        const summary = await store.get(id);
        const number = values.version
          ? versionNumber(values.version, '--version')
          : values.label
            ? summary.labels[values.label]
            : summary.latest_version;
        if (number === undefined) throw new UsageError(`no label "${values.label}" on ${id}`);
        const version = await store.version(id, number);
        io.out(values.json ? `${JSON.stringify(version, null, 2)}\n` : showVersion(version));
        return 0;
      }
      case 'create': {
        const id = need(rest[0], 'create needs the prompt id');
        io.out(showVersion(await store.create(id, await readVersion(), who)));
        return 0;
      }
      case 'version': {
        const id = need(rest[0], 'version needs the prompt id');
        io.out(showVersion(await store.addVersion(id, await readVersion(), who)));
        return 0;
      }
      case 'label': {
        const [id, label, raw] = rest;
        if (!id || !label) throw new UsageError('label needs ID LABEL VERSION');
        const version = versionNumber(raw, 'VERSION');
        const previous = await store.setLabel(id, label, version, who);
        io.out(`${id}: ${label} → v${version}${previous === null ? '' : ` (was v${previous})`}\n`);
        return 0;
      }
      case 'diff': {
        const id = need(rest[0], 'diff needs ID FROM TO');
        const from = await store.version(id, versionNumber(rest[1], 'FROM'));
        const to = await store.version(id, versionNumber(rest[2], 'TO'));
        const diff = diffVersions(from, to);
        if (values.json) io.out(`${JSON.stringify(diff, null, 2)}\n`);
        else {
          io.out(`--- ${id} v${from.version}\n+++ ${id} v${to.version}\n`);
          for (const [field, change] of Object.entries(diff.changed)) {
            io.out(`${field}: ${JSON.stringify(change.from)} → ${JSON.stringify(change.to)}\n`);
          }
          io.out(`${diff.unified}\n`);
        }
        return 0;
      }
      case 'archive': {
        const id = need(rest[0], 'archive needs the prompt id');
        await store.archive(id, new Date(clock.wallNow()), who);
        io.out(`${id}: archived\n`);
        return 0;
      }
      case 'import': {
        if (rest.length === 0) throw new UsageError('import needs one or more files');
        for (const path of rest) {
          for (const file of parsePromptFile(await readFile(path, 'utf8'), compile)) {
            const r = await importPrompt(store, file, who);
            const labels = Object.entries(r.labels).map(([l, v]) => `${l}=v${v}`);
            io.out(
              `${r.id}: ${r.created ? 'created, ' : ''}added ${r.added.length ? r.added.map((v) => `v${v}`).join(',') : 'nothing'}` +
                `${r.unchanged.length ? `, unchanged ${r.unchanged.map((v) => `v${v}`).join(',')}` : ''}` +
                `${labels.length ? `, labels ${labels.join(' ')}` : ''}\n`,
            );
          }
        }
        return 0;
      }
      case 'export': {
        const id = need(rest[0], 'export needs the prompt id');
        const text = await exportPrompt(store, id);
        if (values.out) await writeFile(values.out, text);
        else io.out(text);
        return 0;
      }
      default:
        throw new UsageError(sub ? `unknown prompts command "${sub}"` : 'missing prompts command');
    }
  } catch (err) {
    if (err instanceof PromptNotFoundError || err instanceof GatewayError) throw new Error(err.message);
    throw err;
  } finally {
    await database.close();
  }
}

function need(value: string | undefined, message: string): string {
  if (!value) throw new UsageError(message);
  return value;
}
