/**
 * A log line of known, flat fields (strings, numbers, booleans, null), serialised here and written to the
 * logger's own destination: the exact line pino would write for `log[level](fields, msg)` (same level
 * rendering, time, child bindings such as `request_id` and `trace_id`, field order, JSON encoding and batching
 * destination), without pino's generic per-field work (decision 0153). Used for `request.end`, the one line
 * every request writes.
 *
 * Redaction holds exactly as with pino: a redaction path of two or more segments (`*.api_key`,
 * `headers.authorization`) can only match inside an object, and these fields are never objects; a path of
 * one segment redacts a top-level key, and a line whose keys include a key the logger redacts or serialises
 * is written by pino itself, as is any line of a logger with options this writer does not reproduce
 * (mixin, log formatter, nested key, message prefix, hooks, a destination that wants metadata).
 *
 * @example
 * const line = createLineWriter(['event', 'status']);
 * line.write(ctx.log, 'info', { event: 'request.end', status: 200 }, 'request completed');
 */
import pino from 'pino';

/** A value the writer encodes itself; undefined fields are left out, as pino does. */
export type LineValue = string | number | boolean | null | undefined;
export type LineLevel = 'info' | 'warn' | 'error';

/** What the writer needs of a logger (the request context's logger: pino's, or Fastify's child of it). */
export interface LineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface LineWriter {
  /** Writes `fields` and `msg` at `level` if the logger's level allows it. */
  write(log: LineLogger, level: LineLevel, fields: Readonly<Record<string, LineValue>>, msg: string): void;
}

/** pino's level check, for a logger typed without it; true for a logger that is not pino's. */
export function levelEnabled(log: object, level: string): boolean {
  const check = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return typeof check === 'function' ? check.call(log, level) : true;
}

const symbols = pino.symbols as unknown as Record<string, symbol>;
const sym = (name: string): symbol => {
  const s = symbols[name];
  if (s === undefined) throw new Error(`pino.symbols.${name} is missing (pino version changed?)`);
  return s;
};
const CHINDINGS = sym('chindingsSym');
const LEVEL_STRINGS = sym('lsCacheSym');
const TIME = sym('timeSym');
const STREAM = sym('streamSym');
const STRINGIFIERS = sym('stringifiersSym');
const SERIALIZERS = sym('serializersSym');
const FORMATTERS = sym('formattersSym');
const HOOKS = sym('hooksSym');
const MIXIN = sym('mixinSym');
const NESTED_KEY = sym('nestedKeySym');
const MESSAGE_KEY = sym('messageKeySym');
const MSG_PREFIX = sym('msgPrefixSym');
const END = sym('endSym');
const NEEDS_METADATA = Symbol.for('pino.metadata');

interface Destination {
  write(line: string): unknown;
}

/** The parts of a pino logger the line is made of (pino 9 internals, read through `pino.symbols`). */
type Internals = Record<symbol, unknown>;

/**
 * Creates a writer for lines whose keys are among `keys` (their JSON is computed once here). A line with
 * another key is written by pino.
 */
export function createLineWriter(keys: readonly string[]): LineWriter {
  const prefixes = new Map(keys.map((key) => [key, `,${JSON.stringify(key)}:`]));
  // Whether a logger's redaction and serializers leave these keys alone, per (stringifiers, serializers)
  // pair: the request loggers of one process share them, so this is computed once.
  let checkedStringifiers: unknown;
  let checkedSerializers: unknown;
  let checkedMessageKey: unknown;
  let untouched = false;
  let messagePrefix = '';
  const leavesKeysAlone = (internals: Internals): boolean => {
    const stringifiers = internals[STRINGIFIERS] as Record<string, unknown> | undefined;
    const serializers = internals[SERIALIZERS] as Record<string, unknown> | undefined;
    const messageKey = internals[MESSAGE_KEY];
    if (
      stringifiers !== checkedStringifiers ||
      serializers !== checkedSerializers ||
      messageKey !== checkedMessageKey
    ) {
      checkedStringifiers = stringifiers;
      checkedSerializers = serializers;
      checkedMessageKey = messageKey;
      messagePrefix = `,"${String(messageKey)}":`;
      untouched =
        typeof messageKey === 'string' &&
        [...keys, messageKey].every((k) => stringifiers?.[k] === undefined && serializers?.[k] === undefined);
    }
    return untouched;
  };

  return {
    write(log, level, fields, msg) {
      if (!levelEnabled(log, level)) return;
      const internals = log as unknown as Internals;
      const hooks = internals[HOOKS] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
      const stream = internals[STREAM] as (Destination & Record<symbol, unknown>) | undefined;
      const levelNumber = (log as { levels?: { values: Record<string, number> } }).levels?.values[level];
      const levelString =
        levelNumber === undefined
          ? undefined
          : (internals[LEVEL_STRINGS] as Record<number, string> | undefined)?.[levelNumber];
      if (
        stream === undefined ||
        levelString === undefined ||
        stream[NEEDS_METADATA] === true ||
        internals[MIXIN] ||
        internals[NESTED_KEY] ||
        typeof internals[MSG_PREFIX] === 'string' ||
        (internals[FORMATTERS] as { log?: unknown } | undefined)?.log !== undefined ||
        hooks?.logMethod !== undefined ||
        hooks?.streamWrite !== undefined ||
        !leavesKeysAlone(internals)
      ) {
        log[level](fields, msg);
        return;
      }
      let body = '';
      for (const key in fields) {
        const value = fields[key];
        if (value === undefined) continue;
        const prefix = prefixes.get(key);
        if (prefix === undefined) {
          log[level](fields, msg);
          return;
        }
        body += prefix + encode(value);
      }
      const time = (internals[TIME] as () => string)();
      const chindings = internals[CHINDINGS] as string;
      stream.write(
        `${levelString}${time}${chindings}${body}${messagePrefix}${JSON.stringify(msg)}${internals[END] as string}`,
      );
    },
  };
}

/** JSON of one flat value, as pino writes it when redaction is configured (JSON.stringify; NaN → null). */
function encode(value: string | number | boolean | null): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return 'null';
  }
}
