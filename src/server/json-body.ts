/**
 * The request-body parser: Fastify's safe JSON parser (rejects `__proto__` and `constructor.prototype`
 * keys) plus a nesting limit. Deeply nested JSON parses fine but overflows the stack of every recursive
 * walker after it (`JSON.stringify` when the body is forwarded upstream, translators, loggers): it is
 * refused here, at the boundary, with a 400.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError } from '../core/errors.js';
import { bodyProblem, exceedsDepth, MAX_JSON_DEPTH, problemError } from '../endpoints/json.js';
import { refuseEncodedBody, refuseNonJson, utf8JsonOnly } from './content-type.js';

export { exceedsDepth, MAX_JSON_DEPTH };

/** A callback-style string body parser, as `app.getDefaultJsonParser()` returns. */
export type StringBodyParser = (
  request: FastifyRequest,
  body: string,
  done: (err: Error | null, body?: unknown) => void,
) => void;

/**
 * Wraps a JSON parser so bodies nested deeper than `maxDepth`, or with a number beyond a double (`1e400`),
 * are rejected.
 *
 * @example
 * app.addContentTypeParser('*', { parseAs: 'string' }, withDepthLimit(app.getDefaultJsonParser('error', 'error')));
 */
export function withDepthLimit(parse: StringBodyParser, maxDepth = MAX_JSON_DEPTH): StringBodyParser {
  return (request, body, done) => {
    parse(request, body, (err, value) => {
      if (err) return done(err, undefined);
      const problem = bodyProblem(value, maxDepth);
      if (problem !== null) return done(problemError(problem, maxDepth), undefined);
      done(null, value);
    });
  };
}

/** A `\u0000` escape in JSON text (not an escaped backslash followed by "u0000"). */
const NUL_ESCAPE = /(?<!\\)(?:\\\\)*\\u0000/;

/**
 * Wraps a JSON parser so bodies with NUL in any string are refused with a 400. What these routes take
 * (admin objects, feedback, prompts, console sign-in) goes to PostgreSQL, which refuses NUL in text: it
 * would be a 5xx ("database unavailable") instead of a clear answer. Pipeline bodies do not pass here.
 */
export function withoutNul(parse: StringBodyParser): StringBodyParser {
  return (request, body, done) => {
    if (body.includes('\\u0000') && NUL_ESCAPE.test(body)) {
      return done(
        new BadRequestError(
          'A string in the request body contains a NUL character (\\u0000).',
          'invalid_request',
        ),
        undefined,
      );
    }
    parse(request, body, done);
  };
}

/** A surrogate escape in JSON text (`\uD800`–`\uDFFF`): the only way a lone surrogate gets into a body. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
/** With the unicode flag, a pair is one code point: this matches lone surrogates only. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Wraps a JSON parser so bodies with a lone surrogate (an unpaired `\uD800`–`\uDFFF` escape) in any string
 * or key are refused with a 400, as `withoutNul` does for NUL: PostgreSQL cannot hold one, and the driver
 * would store U+FFFD instead, silently. Put it outside `withDepthLimit` (the walk follows the value).
 */
export function withoutLoneSurrogates(parse: StringBodyParser): StringBodyParser {
  return (request, body, done) => {
    parse(request, body, (err, value) => {
      if (err) return done(err, undefined);
      if (SURROGATE_ESCAPE.test(body) && hasLoneSurrogate(value)) {
        return done(
          new BadRequestError(
            'A string in the request body contains a lone surrogate (an unpaired \\uD800–\\uDFFF escape).',
            'invalid_request',
          ),
          undefined,
        );
      }
      done(null, value);
    });
  };
}

function hasLoneSurrogate(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (typeof next === 'string') {
      if (LONE_SURROGATE.test(next)) return true;
    } else if (Array.isArray(next)) {
      stack.push(...next);
    } else if (typeof next === 'object' && next !== null) {
      for (const [key, inner] of Object.entries(next)) {
        if (LONE_SURROGATE.test(key)) return true;
        stack.push(inner);
      }
    }
  }
  return false;
}

/** Methods whose requests carry no body by meaning (RFC 9110), whatever their Content-Type says. */
const BODILESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/**
 * An empty body of a GET, HEAD, DELETE or OPTIONS request is no body, even with `Content-Type:
 * application/json` (HTTP clients that set it on every request, `curl -H` in scripts): not a 400.
 */
export function emptyWithoutBody(parse: StringBodyParser): StringBodyParser {
  return (request, body, done) => {
    if (body === '' && BODILESS.has(request.method)) return done(null, undefined);
    parse(request, body, done);
  };
}

/**
 * The app's body parsers. Bodies must be JSON (secure defaults: no cross-site text/plain or form posts):
 * anything else is a 415, never read or parsed, and a compressed body (Content-Encoding) is a 415 naming
 * it, before it is read. JSON is parsed with Fastify's safe parser (no __proto__ / constructor.prototype
 * keys), a nesting limit, no NUL or lone surrogates; a bodiless method's empty body is no body.
 */
export function useJsonBodies(app: FastifyInstance): void {
  const parseJson = withoutNul(
    withoutLoneSurrogates(withDepthLimit(app.getDefaultJsonParser('error', 'error') as StringBodyParser)),
  );
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    utf8JsonOnly(emptyWithoutBody(parseJson)),
  );
  app.addContentTypeParser('*', refuseNonJson);
  app.addHook('preParsing', refuseEncodedBody);
}

/**
 * A scope whose routes parse their own bodies (the pipeline endpoints, count_tokens, input_tokens): JSON in
 * UTF-8 only, as elsewhere (anything else a 415, before the body is read), handed over as its text.
 */
export function useJsonText(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    utf8JsonOnly((_request, body, done) => done(null, body)),
  );
  scope.addContentTypeParser('*', refuseNonJson);
}
