/**
 * Evaluation targets and the requests sent for them. A target is a model or an alias the gateway serves
 * (`gpt-4o-mini`, `fast`), or a prompt version: `prompt:ID@LABEL` (`prompt:support@production`) or
 * `prompt:ID@VERSION` (`prompt:support@3`), sent to `POST /v1/prompts/{id}/completions` with the item's
 * `variables` (DESIGN §12).
 */
import type { ChatMessage, DatasetItem } from './dataset.js';

export type Target =
  | { kind: 'model'; name: string; model: string }
  | { kind: 'prompt'; name: string; promptId: string; label: string | null; version: number | null };

export interface GatewayRequest {
  path: string;
  body: Record<string, unknown>;
}

/** The gateway's own rules for prompt ids and labels (`PROMPT_ID_PATTERN`) and version numbers. */
const PROMPT = /^prompt:([A-Za-z0-9][A-Za-z0-9._-]{0,63})@([A-Za-z0-9][A-Za-z0-9._-]{0,63})$/;
const VERSION = /^[1-9][0-9]{0,8}$/;

/** Parses a `--target` value. @throws Error naming the problem (the CLI exits 2). */
export function parseTarget(text: string): Target {
  const value = text.trim();
  if (value.startsWith('prompt:')) {
    const m = PROMPT.exec(value);
    if (!m) {
      throw new Error(
        `target "${text}": a prompt target is prompt:ID@LABEL or prompt:ID@VERSION (e.g. prompt:support@production; ids and labels are 1 to 64 letters, digits, ".", "_" or "-")`,
      );
    }
    const [, promptId, ref] = m as unknown as [string, string, string];
    if (/^\d+$/.test(ref) && !VERSION.test(ref)) {
      throw new Error(`target "${text}": a version is a whole number from 1`);
    }
    const version = VERSION.test(ref) ? Number(ref) : null;
    return { kind: 'prompt', name: value, promptId, label: version === null ? ref : null, version };
  }
  if (!/^[\w./:@-]{1,200}$/.test(value)) {
    throw new Error(`target "${text}": expected a model or alias name, or prompt:ID@LABEL`);
  }
  return { kind: 'model', name: value, model: value };
}

/**
 * The user message for a question with retrieved passages (the RAG prompt the targets answer): the
 * passages numbered, then the question. Without context the input is sent as it is.
 */
export function ragMessage(question: string, context: readonly string[]): string {
  if (context.length === 0) return question;
  const passages = context.map((p, i) => `[${i + 1}] ${p}`).join('\n');
  return (
    'Answer the question using only the context below. If the context does not contain the answer, say so.\n\n' +
    `Context:\n${passages}\n\nQuestion: ${question}`
  );
}

/** The messages sent for an item: its conversation, with the context folded into the last user message. */
export function itemMessages(item: DatasetItem): ChatMessage[] {
  if (item.input === null) return [];
  if (typeof item.input === 'string')
    return [{ role: 'user', content: ragMessage(item.input, item.context) }];
  const messages = item.input.map((m) => ({ ...m }));
  const last = messages.map((m) => m.role).lastIndexOf('user');
  const lastUser = messages[last];
  if (lastUser) lastUser.content = ragMessage(lastUser.content, item.context);
  return messages;
}

const STREAM = { stream: true, stream_options: { include_usage: true } } as const;

/** The request that runs `item` against `target` (streamed, so the time to the first token is measured). */
export function buildRequest(target: Target, item: DatasetItem, temperature: number): GatewayRequest {
  if (target.kind === 'model') {
    if (item.input === null) {
      throw new Error(`item "${item.id}" has only "variables": it needs a prompt: target`);
    }
    return {
      path: '/v1/chat/completions',
      body: { model: target.model, messages: itemMessages(item), temperature, ...STREAM },
    };
  }
  const body: Record<string, unknown> = {
    ...(target.version !== null ? { version: target.version } : { label: target.label }),
    variables: item.variables ?? {},
    ...STREAM,
  };
  // The prompt's rendered messages come first; the item's own conversation (if any) follows them.
  if (item.input !== null) body.messages = itemMessages(item);
  return { path: `/v1/prompts/${encodeURIComponent(target.promptId)}/completions`, body };
}
