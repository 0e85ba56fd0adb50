/**
 * Parsing an inbound JSON body at the boundary: a safe parser (a body with `__proto__` or
 * `constructor.prototype` keys is refused, as Fastify's own parser does) and a nesting limit. Deeply nested
 * JSON parses fine but overflows the stack of every recursive walker after it (`JSON.stringify` when the
 * body is forwarded upstream, translators, loggers): it is refused here with a 400.
 */
import sjson from 'secure-json-parse';
import { BadRequestError } from '../core/errors.js';

/** Default nesting limit: far beyond any real request (tool schemas nest a few dozen levels at most). */
export const MAX_JSON_DEPTH = 128;

/**
 * Parses a request body. @throws BadRequestError (`invalid_json`) for anything that is not safe JSON, and
 * (`invalid_request`) for bodies nested deeper than `maxDepth`.
 */
export function parseJsonBody(raw: string, maxDepth = MAX_JSON_DEPTH): unknown {
  let value: unknown;
  try {
    value = sjson.parse(raw, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    throw invalidJson(err);
  }
  const problem = bodyProblem(value, maxDepth);
  if (problem !== null) throw problemError(problem, maxDepth);
  return value;
}

/**
 * What makes a parsed body unusable: nesting deeper than `max` (`depth`), or a number too large for a double
 * (`1e400` parses as Infinity, which passes an integer schema and is sent upstream as `null`: `infinite`).
 * One iterative walk; no recursion.
 */
export function bodyProblem(value: unknown, max: number): 'depth' | 'infinite' | null {
  return walk(value, max, true);
}

function walk(value: unknown, max: number, numbers: boolean): 'depth' | 'infinite' | null {
  const nodes: unknown[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop();
    const depth = depths.pop() as number;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return 'depth';
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) {
        nodes.push(child);
        depths.push(depth + 1);
      } else if (numbers && typeof child === 'number' && !Number.isFinite(child)) return 'infinite';
    }
  }
  return null;
}

/** The 400 for a body the safe parser refused, saying why (the parser's position, or the forbidden key). */
export function invalidJson(err: unknown): BadRequestError {
  const reason = err instanceof Error ? err.message : '';
  if (/forbidden prototype property/.test(reason)) {
    return new BadRequestError(
      'The request body has a "__proto__" or "constructor.prototype" key, which is refused.',
      'invalid_json',
    );
  }
  // V8's SyntaxError names the position ("Unexpected token } in JSON at position 12"); never the body itself.
  const where = /at position \d+/.exec(reason)?.[0];
  return new BadRequestError(
    `The request body is not valid JSON${where ? ` (${where})` : ''}.`,
    'invalid_json',
  );
}

/** The 400 for a `bodyProblem`. */
export function problemError(problem: 'depth' | 'infinite', maxDepth: number): BadRequestError {
  return new BadRequestError(
    problem === 'depth'
      ? `The request body nests deeper than ${maxDepth} levels.`
      : 'The request body has a number too large to represent (beyond ±1.8e308).',
    'invalid_request',
  );
}

/** Whether objects/arrays nest deeper than `max` (the root container is level 1). Iterative: no recursion. */
export function exceedsDepth(value: unknown, max: number): boolean {
  return walk(value, max, false) === 'depth';
}
