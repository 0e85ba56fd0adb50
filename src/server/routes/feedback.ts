/**
 * `POST /v1/feedback` (DESIGN §12; docs/prompts.md): scores an answer by the gateway's request id.
 * Authenticated with the gateway's API keys like every `/v1/` route; the rules live in
 * `experiments/feedback.ts`.
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../../auth/principal.js';
import { authorizationOf } from '../../auth/principal.js';
import { ErrorResponseSchema } from '../../endpoints/common-schema.js';
import type { FeedbackInput, FeedbackService } from '../../experiments/feedback.js';
import { MAX_COMMENT_LENGTH } from '../../experiments/feedback.js';

const FeedbackBody = T.Object(
  {
    request_id: T.String({ minLength: 1, maxLength: 128, description: "The answer's X-Gateway-Request-ID" }),
    metric: T.String({ minLength: 1, maxLength: 64, description: 'A metric declared in feedback.metrics' }),
    value: T.Union([T.Boolean(), T.Number()]),
    comment: T.Optional(T.Union([T.String({ maxLength: MAX_COMMENT_LENGTH }), T.Null()])),
  },
  { additionalProperties: false },
);

export function registerFeedbackRoute(
  app: FastifyInstance,
  feedback: FeedbackService,
  auth: Authenticator,
): void {
  app.post(
    '/v1/feedback',
    {
      schema: {
        summary: 'Score an answer (gateway extension: experiments and reports)',
        tags: ['Gateway'],
        body: FeedbackBody,
        response: { '4xx': ErrorResponseSchema, '5xx': ErrorResponseSchema },
      },
    },
    async (request) => {
      const header = request.headers['x-user-id'];
      const principal = await auth.authenticate({
        authorization: authorizationOf(request.headers),
        userIdHeader: typeof header === 'string' ? header : undefined,
        source: request.ip,
      });
      return feedback.submit(principal, request.body as FeedbackInput);
    },
  );
}
