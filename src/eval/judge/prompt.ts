/**
 * A versioned judge prompt. Each metric's prompt lives in its own file (`faithfulness-v1.ts`, …) and is
 * never edited once released: a change is a new version, and every stored score names the version that
 * produced it (`faithfulness@v1`), so scores from different prompts are never compared unknowingly.
 * (When the gateway's prompt registry is available these can move there; docs/evaluation.md.)
 */
export interface JudgeInput {
  question: string;
  answer: string;
  context: readonly string[];
  /** The reference answer, when the item has one. */
  reference: string | null;
}

export interface JudgePrompt {
  metric: 'faithfulness' | 'answer_relevancy' | 'context_precision';
  version: string;
  /** The single user message sent to the judge. Starts with a tag line naming metric and version. */
  render(input: JudgeInput): string;
}

/** `faithfulness@v1` */
export const promptId = (p: JudgePrompt): string => `${p.metric}@${p.version}`;

/** The first line of every judge message: lets logs (and the test upstream) tell judge calls apart. */
export const tagLine = (p: JudgePrompt): string => `[llm-gateway eval judge: ${promptId(p)}]`;

/** Wraps a text in a tag, with the tag's own closing sequence defused inside it. */
export function section(tag: string, text: string): string {
  return `<${tag}>\n${text.replaceAll(`</${tag}>`, `<\\/${tag}>`)}\n</${tag}>`;
}

export const numbered = (passages: readonly string[]): string =>
  passages.map((p, i) => `[${i + 1}] ${p}`).join('\n');
