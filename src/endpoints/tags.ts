/**
 * Spend tags of a request (DESIGN §7–§8, decision 0108): `metadata.tags` in the body — an array of strings,
 * or one comma-separated string (OpenAI's `metadata` values are strings) — and the `X-Gateway-Tags` header
 * (comma-separated). Both are merged, trimmed, de-duplicated (first occurrence wins) and bounded; the usage
 * record keeps them and `/admin/spend?group_by=tag` reports by them.
 *
 * @example
 * requestTags(['team-a', 'batch'], 'nightly') // → ['team-a', 'batch', 'nightly']
 */
import { ValidationError } from '../core/errors.js';
import { holdsGatewayKey } from '../core/secret-shape.js';

/** Most tags one request may carry (body and header together). */
export const MAX_TAGS = 10;
/** Longest tag. */
export const MAX_TAG_LENGTH = 64;
/** Letters, digits and `_ - . : / @ + =`; no spaces or commas (the separator). */
const TAG = /^[\p{L}\p{N}_\-.:/@+=]+$/u;

export const TAGS_HEADER = 'x-gateway-tags';

function split(value: string): string[] {
  return value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

function fromBody(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return split(value);
  if (Array.isArray(value)) {
    return value.map((t, i) => {
      if (typeof t !== 'string') {
        throw new ValidationError(`metadata.tags[${i}] must be a string.`, `metadata.tags[${i}]`);
      }
      return t.trim();
    });
  }
  throw new ValidationError(
    'metadata.tags must be an array of strings or one comma-separated string.',
    'metadata.tags',
  );
}

function fromHeader(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).flatMap(split);
}

/**
 * The request's tags: `metadata.tags` (as sent) and the `X-Gateway-Tags` header.
 * @throws ValidationError (422) naming `metadata.tags` or `X-Gateway-Tags` when a tag is empty, too long or
 * has other characters, or when there are more than MAX_TAGS.
 */
export function requestTags(bodyTags: unknown, header: string | string[] | undefined): string[] {
  const tags: string[] = [];
  const add = (list: string[], param: string) => {
    for (const tag of list) {
      if (tag === '') throw new ValidationError(`${param} must not contain an empty tag.`, param);
      if (tag.length > MAX_TAG_LENGTH) {
        throw new ValidationError(
          `${param}: the tag "${tag.slice(0, 16)}…" is longer than ${MAX_TAG_LENGTH} characters.`,
          param,
        );
      }
      if (!TAG.test(tag)) {
        throw new ValidationError(
          `${param}: the tag "${tag}" may only hold letters, digits and _ - . : / @ + =.`,
          param,
        );
      }
      if (holdsGatewayKey(tag)) {
        // It would be stored and reported as a spend tag (decision 0210); the value is not echoed.
        throw new ValidationError(`${param}: a tag looks like a gateway API key; tags name spend.`, param);
      }
      if (!tags.includes(tag)) tags.push(tag);
      if (tags.length > MAX_TAGS) {
        throw new ValidationError(`A request may carry at most ${MAX_TAGS} tags (${param}).`, param);
      }
    }
  };
  add(fromBody(bodyTags), 'metadata.tags');
  add(fromHeader(header), 'X-Gateway-Tags');
  return tags;
}

/** The tags in a body's `metadata` (an object), if any. */
export function metadataTags(metadata: unknown): unknown {
  return typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)
    ? (metadata as Record<string, unknown>).tags
    : undefined;
}
