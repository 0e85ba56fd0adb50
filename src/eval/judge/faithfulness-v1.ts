/**
 * Faithfulness, after RAGAS (Es et al. 2023, "RAGAS: Automated Evaluation of Retrieval Augmented
 * Generation", §3; docs.ragas.io "Faithfulness"): the answer is broken into statements, each is checked
 * against the retrieved context, and the score is supported statements / all statements. RAGAS uses two
 * calls (statements, then verdicts); v1 asks for both in one JSON answer.
 */
import { defuse, judgePrompt, numbered, slot } from './prompt.js';

export const faithfulnessV1 = judgePrompt({
  metric: 'faithfulness',
  version: 'v1',
  lines: [
    'You are grading whether an ANSWER is faithful to a CONTEXT.',
    '1. Break the answer into short, self-contained factual statements (resolve pronouns).',
    '2. For each statement decide whether it can be directly inferred from the context:',
    '   verdict 1 if it can, 0 if it cannot (not mentioned, or contradicted). Use no outside knowledge.',
    'Reply with JSON only, no other text, in exactly this shape:',
    '{"statements": [{"statement": "…", "reason": "one sentence", "verdict": 1}]}',
    'An answer with no factual statement (a refusal) gives {"statements": []}.',
    '',
    slot('question'),
    slot('context'),
    slot('answer'),
  ],
  values: (input) => ({
    question: defuse('question', input.question),
    context: defuse('context', numbered(input.context)),
    answer: defuse('answer', input.answer),
  }),
});
