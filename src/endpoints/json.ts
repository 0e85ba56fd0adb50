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
  } catch {
    throw new BadRequestError('The request body is not valid JSON.', 'invalid_json');
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
      } else if (typeof child === 'number' && !Number.isFinite(child)) return 'infinite';
    }
  }
  return null;
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
  const nodes: unknown[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop();
    const depth = depths.pop() as number;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return true;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}
