/**
 * A versioned judge prompt. Each metric's prompt lives in its own file (`faithfulness-v1.ts`, …) and is
 * never edited once released: a change is a new version, and every stored score names the version that
 * produced it, so scores from different prompts are never compared unknowingly.
 *
 * A judge prompt is a prompt template like any other (one user message, Mustache, the gateway's own
 * template engine, src/prompts/template.ts): with `--admin-key` on a gateway with prompts, `eval run`
 * registers it in the prompt registry as `eval-faithfulness` version 1 (judge/registry.ts) and calls the
 * judge through `POST /v1/prompts/{id}/completions`; scores then name `eval-faithfulness@1`. Otherwise it
 * renders the same template here and sends the text (`faithfulness@v1`). Both give the same message.
 */
import { compilePrompt, declareVariables, type PromptMessage } from '../../prompts/template.js';

export interface JudgeInput {
  question: string;
  answer: string;
  context: readonly string[];
  /** The reference answer, when the item has one. */
  reference: string | null;
}

export type JudgeMetricName = 'faithfulness' | 'answer_relevancy' | 'context_precision';

export interface JudgePrompt {
  metric: JudgeMetricName;
  /** The file's version, `v1`: the registry version is its number. */
  version: string;
  /** The prompt's id in the prompt registry: `eval-faithfulness`. */
  registryId: string;
  /** The registry version number (1 for `v1`). */
  registryVersion: number;
  /** The template: one user message. */
  messages: readonly PromptMessage[];
  /** The template's variables, each a required string. */
  variables: Record<string, { type: 'string'; required: true }>;
  /** The variables' values for an item (closing tags defused). */
  values(input: JudgeInput): Record<string, string>;
  /** The single user message sent to the judge. Starts with a tag line naming metric and version. */
  render(input: JudgeInput): string;
}

export interface JudgePromptSpec {
  metric: JudgeMetricName;
  version: `v${number}`;
  /** The template's lines (the tag line comes first on its own). */
  lines: readonly string[];
  values(input: JudgeInput): Record<string, string>;
}

/** Builds a judge prompt from its template lines; `{{name}}` inside `<name>` sections. */
export function judgePrompt(spec: JudgePromptSpec): JudgePrompt {
  const messages: PromptMessage[] = [{ role: 'user', content: [tagLine(spec), ...spec.lines].join('\n') }];
  const decls = declareVariables(undefined, messages);
  const variables = Object.fromEntries(
    Object.keys(decls).map((name) => [name, { type: 'string' as const, required: true as const }]),
  );
  const compiled = compilePrompt(messages, declareVariables(variables, messages));
  return {
    metric: spec.metric,
    version: spec.version,
    registryId: `eval-${spec.metric.replaceAll('_', '-')}`,
    registryVersion: Number(spec.version.slice(1)),
    messages,
    variables,
    values: spec.values,
    render: (input) =>
      compiled
        .render(spec.values(input))
        .map((m) => m.content)
        .join('\n'),
  };
}

/** `faithfulness@v1` */
export const promptId = (p: Pick<JudgePrompt, 'metric' | 'version'>): string => `${p.metric}@${p.version}`;

/** `eval-faithfulness@1` */
export const registryRef = (p: JudgePrompt): string => `${p.registryId}@${p.registryVersion}`;

/** The first line of every judge message: lets logs (and the test upstream) tell judge calls apart. */
export const tagLine = (p: Pick<JudgePrompt, 'metric' | 'version'>): string =>
  `[llm-gateway eval judge: ${promptId(p)}]`;

/** A `<tag>` section of the template around the variable of the same name. */
export const slot = (tag: string): string => `<${tag}>\n{{${tag}}}\n</${tag}>`;

/** A section's text, with the tag's own closing sequence defused inside it. */
export const defuse = (tag: string, text: string): string => text.replaceAll(`</${tag}>`, `<\\/${tag}>`);

export const numbered = (passages: readonly string[]): string =>
  passages.map((p, i) => `[${i + 1}] ${p}`).join('\n');
