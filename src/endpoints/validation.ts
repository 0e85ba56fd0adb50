/**
 * Schema validation of inbound bodies: Ajv's errors turned into one 422 that names the most specific field
 * in OpenAI's `param` notation (`messages[2].content[0].image_url.url`).
 */
import { ValidationError } from '../core/errors.js';
import { quoted, shortened } from '../core/quote.js';
import { STORABLE_TEXT } from './common-schema.js';

/** One Ajv error (the fields used here). */
export interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  /** Set when the failing value is a property name (`propertyNames`). */
  propertyName?: string;
  /** With ajv's `verbose` option: the schema the failing keyword belongs to. */
  parentSchema?: unknown;
}

const RANGE_KEYWORDS = new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']);

/** "between 0 and 999999" when the number's schema has both bounds (ajv's `verbose`), else null. */
function rangeOf(e: AjvError): string | null {
  if (!RANGE_KEYWORDS.has(e.keyword) || typeof e.parentSchema !== 'object' || e.parentSchema === null) {
    return null;
  }
  const s = e.parentSchema as Record<string, unknown>;
  const low = s.minimum ?? s.exclusiveMinimum;
  const high = s.maximum ?? s.exclusiveMaximum;
  if (typeof low !== 'number' || typeof high !== 'number') return null;
  const exclusive = s.exclusiveMinimum !== undefined || s.exclusiveMaximum !== undefined;
  return `must be between ${low} and ${high}${exclusive ? ' (bounds excluded)' : ''}`;
}

/** What a failed `pattern` means, for the patterns whose regex would not tell a client. */
function patternRule(e: AjvError): string | null {
  if (e.keyword !== 'pattern') return null;
  return e.params.pattern === STORABLE_TEXT ? 'must not contain a NUL character or a lone surrogate' : null;
}

/** Keywords about the value's shape; any other keyword is a constraint the value's type was right for. */
const SHAPE_KEYWORDS = new Set(['type', 'anyOf', 'oneOf', 'const', 'enum', 'required', 'discriminator']);

/** ajv errors → one 422 naming the most specific field. */
export function fromValidation(errors: AjvError[]): ValidationError {
  // The deepest path is the most specific; on ties keep ajv's order (first failure).
  const first = errors.reduce((best, e) => (depth(e.instancePath) > depth(best.instancePath) ? e : best));
  const atPath = errors.filter((e) => e.instancePath === first.instancePath);
  let param = toParam(first.instancePath);
  let message: string;
  const missing = atPath.find((e) => e.keyword === 'required');
  const tag = atPath.find((e) => e.keyword === 'discriminator');
  const extra = atPath.find((e) => e.keyword === 'additionalProperties');
  // A constraint (maxItems, maximum, pattern …) means one branch of a union had the right type: name it
  // rather than the types of the branches that did not match.
  const constraint = atPath.find((e) => !SHAPE_KEYWORDS.has(e.keyword));
  if (missing) {
    const field = String(missing.params.missingProperty);
    param = param ? `${param}.${field}` : field;
    message = `${param} is required.`;
  } else if (tag) {
    const field = String(tag.params.tag);
    param = param ? `${param}.${field}` : field;
    const value = tag.params.tagValue;
    message =
      value === undefined
        ? `${param} is required.`
        : typeof value === 'string'
          ? `${param} has an invalid value ${quoted(value)}.`
          : `${param} must be a string.`;
  } else if (extra) {
    // The client's own key: bounded like every quoted value (decision 0238).
    const field = shortened(String(extra.params.additionalProperty));
    param = param ? `${param}.${field}` : field;
    message = `${param} is not a known field.`;
  } else if (constraint) {
    const subject = constraint.propertyName === undefined ? param || 'body' : `${param || 'body'} keys`;
    message = `${subject} ${rangeOf(constraint) ?? patternRule(constraint) ?? constraint.message ?? 'is invalid'}.`;
  } else {
    const allowed = atPath.flatMap((e) =>
      e.keyword === 'const'
        ? [e.params.allowedValue]
        : e.keyword === 'enum' && Array.isArray(e.params.allowedValues)
          ? e.params.allowedValues
          : [],
    );
    const types = [
      ...new Set(atPath.filter((e) => e.keyword === 'type').flatMap((e) => String(e.params.type).split(','))),
    ];
    const options = [
      ...(allowed.length > 0 ? [`one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`] : []),
      ...(types.length > 0 ? [`of type ${types.join(' or ')}`] : []),
    ];
    message = `${param || 'body'} ${options.length > 0 ? `must be ${options.join(' or ')}` : (first.message ?? 'is invalid')}.`;
  }
  return new ValidationError(message, param || null);
}

function depth(path: string): number {
  return path === '' ? 0 : path.split('/').length;
}

/**
 * `/messages/0/content/1/type` → `messages[0].content[1].type`. A segment is a client's key where the schema
 * allows any (`metadata`, `logit_bias`): each is cut to 64 characters (decision 0238).
 */
export function toParam(instancePath: string): string {
  let out = '';
  for (const raw of instancePath.split('/').slice(1)) {
    const seg = shortened(raw.replaceAll('~1', '/').replaceAll('~0', '~'));
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}
