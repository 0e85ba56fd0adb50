/**
 * Client text quoted back in an error message, bounded (docs/decisions/0085-bounded-input.md, 0238): a
 * message and its log line must not grow with what a client sent. Whatever the client sent, at most
 * `max` characters of it are quoted; a longer value is cut with an ellipsis and its length is said.
 */

/** How much of a client's value an error message quotes. */
export const QUOTED_CHARS = 64;

/**
 * The value as a JSON string literal of at most `max` characters, then `…` and the whole length when it
 * was longer. A cut never splits a surrogate pair.
 *
 * @example
 * quoted('text/plain');          // '"text/plain"'
 * quoted('x'.repeat(9_000_000)); // '"xx…xx…" (9000000 characters)': 64 x, then the ellipsis
 */
export function quoted(value: string, max = QUOTED_CHARS): string {
  if (value.length <= max) return JSON.stringify(value);
  const end = isHighSurrogate(value.charCodeAt(max - 1)) ? max - 1 : max;
  return `${JSON.stringify(`${value.slice(0, end)}…`)} (${value.length} characters)`;
}

/**
 * A name (an object key, a path segment) cut to at most `max` characters with `…`, unquoted: for `param`
 * paths, whose segments are the client's keys.
 */
export function shortened(name: string, max = QUOTED_CHARS): string {
  if (name.length <= max) return name;
  const end = isHighSurrogate(name.charCodeAt(max - 1)) ? max - 1 : max;
  return `${name.slice(0, end)}…`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
