/**
 * The demo upstream's evaluation mode (`npm run eval:example`, docs/evaluation.md; decision 0142): fixed,
 * deterministic answers to the two kinds of message `llm-gateway eval run` sends, so an evaluation run
 * through the demo has scores that mean something and are the same on every run. Only the demo's simulated
 * upstream (and the test mock upstream) use it; a real provider is of course never scripted.
 *
 * - A judge prompt (its first line is `[llm-gateway eval judge: METRIC@vN]`) gets a parseable JSON verdict
 *   computed from word overlap: a statement is supported when at least half of its content words occur in
 *   the context; a passage is useful when it holds at least a third of the answer's content words; the
 *   generated questions are built from the answer's content words (the real question is not shown, as in
 *   RAGAS); "I don't know" answers are noncommittal.
 * - A RAG question (`Context: … Question: …`, src/eval/targets.ts) is answered by a simulated model chosen
 *   by the model name: `*mini*` the context sentence sharing most words with the question (faithful),
 *   `*haiku*` the first sentence of the context, `*flash*` the best sentence plus an invented one
 *   (unfaithful), anything else the best sentence.
 * Any other message gets null (the demo's usual made-up answer).
 */

const STOP = new Set(
  'the a an and or of to in on at for by with from is are was were be been this that these those it its as what which who whom when where why how did does do has have had into than then there their they about after before over under'.split(
    ' ',
  ),
);

export const contentWords = (text: string): string[] =>
  (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 2 && !STOP.has(w));

const sentences = (text: string): string[] =>
  (text.match(/[^.!?]+[.!?]?/g) ?? []).map((s) => s.trim()).filter((s) => s.length > 0);

const sectionOf = (text: string, tag: string): string =>
  new RegExp(`<${tag}>\\n([\\s\\S]*?)\\n</${tag}>`).exec(text)?.[1] ?? '';

const passagesOf = (numbered: string): string[] =>
  numbered
    .split('\n')
    .map((l) => l.replace(/^\[\d+\]\s*/, '').trim())
    .filter(Boolean);

function overlap(a: string, b: string): number {
  const bw = new Set(contentWords(b));
  const aw = contentWords(a);
  return aw.length === 0 ? 0 : aw.filter((w) => bw.has(w)).length / aw.length;
}

/** The deterministic judge's JSON verdict, or null when the message is not a judge prompt. */
export function judgeReply(message: string): string | null {
  const tag = /^\[llm-gateway eval judge: (\w+)@(\w+)\]/.exec(message);
  if (!tag) return null;
  const metric = tag[1];
  const answer = sectionOf(message, 'answer');
  const context = sectionOf(message, 'context');
  if (metric === 'faithfulness') {
    const statements = sentences(answer).map((statement) => {
      const supported = overlap(statement, context) >= 0.5;
      return {
        statement,
        reason: supported ? 'stated in the context' : 'not found in the context',
        verdict: supported ? 1 : 0,
      };
    });
    return JSON.stringify({ statements });
  }
  if (metric === 'context_precision') {
    const verdicts = passagesOf(context).map((p, i) => {
      const useful = overlap(answer, p) >= 1 / 3;
      return {
        passage: i + 1,
        reason: useful ? 'supports the answer' : 'unrelated to the answer',
        verdict: useful ? 1 : 0,
      };
    });
    return JSON.stringify({ verdicts });
  }
  if (metric === 'answer_relevancy') {
    // Like a real judge, it sees only the answer: the questions are built from the answer's content words.
    const noncommittal = /\b(i don't know|cannot answer|not in the context|no idea)\b/i.test(answer) ? 1 : 0;
    const topic = contentWords(answer).slice(0, 10).join(' ');
    const questions = [`What is ${topic}?`, `Which ${topic}?`, `Tell me about ${topic}.`];
    return JSON.stringify({
      questions,
      noncommittal,
      reason: noncommittal ? 'the answer declines' : 'mock judge',
    });
  }
  return JSON.stringify({ error: 'unknown metric' });
}

/** The simulated model's answer to a RAG prompt (see the file comment), or null when it is not one. */
export function ragReply(model: string, message: string): string | null {
  const m = /Context:\n([\s\S]*?)\n\nQuestion: ([\s\S]*)$/.exec(message);
  if (!m) return null;
  const [, numbered, question] = m as unknown as [string, string, string];
  const all = passagesOf(numbered).flatMap(sentences);
  if (all.length === 0) return "I don't know.";
  const qWords = new Set(contentWords(question));
  const score = (s: string) => contentWords(s).filter((w) => qWords.has(w)).length;
  const best = all.reduce((a, b) => (score(b) > score(a) ? b : a));
  if (model.includes('haiku')) return all[0] as string;
  if (model.includes('flash'))
    return `${best} Independent surveys later doubled that estimate, according to regional archives.`;
  return best;
}

/** The scripted reply to a message, or null: a judge verdict, else a simulated RAG answer. */
export function evalReply(model: string, message: string): string | null {
  return judgeReply(message) ?? ragReply(model, message);
}
