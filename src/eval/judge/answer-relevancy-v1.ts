/**
 * Answer relevancy, after RAGAS (Es et al. 2023, §3; docs.ragas.io "Response Relevancy"): the judge writes
 * N questions the answer would be a reply to; the score is the mean cosine similarity between those
 * questions and the real question (embeddings: the local embedder), and 0 when the judge finds the answer
 * noncommittal ("I don't know"). It measures whether the answer addresses the question, not whether it is
 * true.
 */
import { defuse, judgePrompt, slot } from './prompt.js';

export const ANSWER_RELEVANCY_QUESTIONS = 3;

export const answerRelevancyV1 = judgePrompt({
  metric: 'answer_relevancy',
  version: 'v1',
  lines: [
    `Read the ANSWER and write ${ANSWER_RELEVANCY_QUESTIONS} different questions that this answer would be a direct reply to.`,
    'Also say whether the answer is noncommittal (evasive, vague, "I don\'t know"): 1 if it is, else 0.',
    'Reply with JSON only, no other text, in exactly this shape:',
    '{"questions": ["…", "…", "…"], "noncommittal": 0, "reason": "one sentence"}',
    '',
    slot('answer'),
  ],
  values: (input) => ({ answer: defuse('answer', input.answer) }),
});
