/**
 * Context precision, after RAGAS (docs.ragas.io "Context Precision"): the judge marks each retrieved
 * passage useful (1) or not (0) for arriving at the reference answer (the target's answer when the item
 * has no reference: RAGAS' "without reference" variant); the score is the mean of precision@k over the
 * ranks k of the useful passages, so useful passages ranked first score higher. 0 when none is useful.
 */
import { defuse, judgePrompt, numbered, slot } from './prompt.js';

export const contextPrecisionV1 = judgePrompt({
  metric: 'context_precision',
  version: 'v1',
  lines: [
    'Given a QUESTION, an ANSWER and numbered CONTEXT passages, decide for each passage whether it was',
    'useful in arriving at the answer: verdict 1 if it was, 0 if it was not.',
    'Give one verdict per passage, in order. Reply with JSON only, no other text, in exactly this shape:',
    '{"verdicts": [{"passage": 1, "reason": "one sentence", "verdict": 1}]}',
    '',
    slot('question'),
    slot('answer'),
    slot('context'),
  ],
  // The reference answer when the item has one (RAGAS compares the passages with it), else the answer.
  values: (input) => ({
    question: defuse('question', input.question),
    answer: defuse('answer', input.reference ?? input.answer),
    context: defuse('context', numbered(input.context)),
  }),
});
