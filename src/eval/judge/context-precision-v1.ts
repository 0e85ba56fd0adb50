/**
 * Context precision, after RAGAS (docs.ragas.io "Context Precision"): the judge marks each retrieved
 * passage useful (1) or not (0) for arriving at the reference answer (the target's answer when the item
 * has no reference: RAGAS' "without reference" variant); the score is the mean of precision@k over the
 * ranks k of the useful passages, so useful passages ranked first score higher. 0 when none is useful.
 */
import { type JudgePrompt, numbered, section, tagLine } from './prompt.js';

export const contextPrecisionV1: JudgePrompt = {
  metric: 'context_precision',
  version: 'v1',
  render(input) {
    const target = input.reference ?? input.answer;
    return [
      tagLine(this),
      'Given a QUESTION, an ANSWER and numbered CONTEXT passages, decide for each passage whether it was',
      'useful in arriving at the answer: verdict 1 if it was, 0 if it was not.',
      'Give one verdict per passage, in order. Reply with JSON only, no other text, in exactly this shape:',
      '{"verdicts": [{"passage": 1, "reason": "one sentence", "verdict": 1}]}',
      '',
      section('question', input.question),
      section('answer', target),
      section('context', numbered(input.context)),
    ].join('\n');
  },
};
