/**
 * Bodies must be JSON (DESIGN §7, secure defaults): a POST/PUT/PATCH body whose `Content-Type` is not
 * `application/json` (parameters allowed, case-insensitive; a charset other than UTF-8 is refused too) gets
 * 415 without being read or parsed. A web page can send `text/plain`, form and multipart bodies to any
 * address without a CORS preflight; refusing them means a page a developer visits cannot drive a gateway
 * on their machine. (docs/decisions/0084-secure-defaults.md)
 */
import type { FastifyRequest, preParsingHookHandler } from 'fastify';
import { UnsupportedMediaTypeError } from '../core/errors.js';
import { quoted } from '../core/quote.js';

/** Whether a `Content-Type` header names JSON in UTF-8 (`application/json`, `…; charset=utf-8`). */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  // What nearly every client sends: no parsing.
  if (header === 'application/json' || header === 'application/json; charset=utf-8') return true;
  const [type = '', ...params] = header.split(';');
  if (type.trim().toLowerCase() !== 'application/json') return false;
  for (const param of params) {
    const [name = '', value = ''] = param.split('=');
    if (name.trim().toLowerCase() !== 'charset') continue;
    const charset = value
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') return false;
  }
  return true;
}

/**
 * The 415 for a request body that is not JSON, naming what was sent (quoted, at most 64 characters): a
 * missing header, an empty one, or the header's text — also one that is not a media type at all
 * (`application/json, text/plain`).
 */
export function unsupportedMediaType(header: string | undefined): UnsupportedMediaTypeError {
  const sent =
    header === undefined
      ? 'a body without Content-Type'
      : header.trim() === ''
        ? `an empty Content-Type header`
        : `Content-Type ${quoted(header)}`;
  return new UnsupportedMediaTypeError(
    `Unsupported media type: the gateway received ${sent}. Send the body as JSON with Content-Type: application/json.`,
  );
}

/**
 * A Fastify content-type parser for every type but JSON: refuses the body without reading it.
 *
 * @example app.addContentTypeParser('*', refuseNonJson);
 */
export function refuseNonJson(
  request: FastifyRequest,
  _payload: unknown,
  done: (err: Error | null, body?: unknown) => void,
): void {
  done(unsupportedMediaType(request.headers['content-type']), undefined);
}

/**
 * Whether a `Content-Encoding` header names a coding the gateway would have to undo (anything but
 * `identity`). Bodies are read as they arrive; a gzip body would otherwise fail as "not valid JSON".
 */
export function isEncodedBody(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const codings = (Array.isArray(header) ? header.join(',') : header).split(',');
  return codings.some((c) => c.trim() !== '' && c.trim().toLowerCase() !== 'identity');
}

/** The 415 for a body sent with a `Content-Encoding`, naming it. */
export function unsupportedEncoding(header: string | string[]): UnsupportedMediaTypeError {
  const sent = Array.isArray(header) ? header.join(', ') : header;
  return new UnsupportedMediaTypeError(
    `Unsupported Content-Encoding ${quoted(sent)}: the gateway reads request bodies uncompressed. Send the body without Content-Encoding.`,
  );
}

/**
 * A Fastify `preParsing` hook: a body with a `Content-Encoding` gets 415 before it is read (on every route;
 * a request without a body is not concerned).
 *
 * @example app.addHook('preParsing', refuseEncodedBody);
 */
export const refuseEncodedBody: preParsingHookHandler = (request, _reply, payload, done) => {
  const header = request.headers['content-encoding'];
  if (header !== undefined && isEncodedBody(header) && hasBody(request)) {
    done(unsupportedEncoding(header));
    return;
  }
  done(null, payload);
};

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

type StringParser = (
  request: FastifyRequest,
  body: string,
  done: (err: Error | null, body?: unknown) => void,
) => void;

/** Wraps the `application/json` parser so a charset other than UTF-8 is refused (415) too. */
export function utf8JsonOnly(parse: StringParser): StringParser {
  return (request, body, done) => {
    const header = request.headers['content-type'];
    if (!isJsonContentType(header)) return done(unsupportedMediaType(header), undefined);
    parse(request, body, done);
  };
}
