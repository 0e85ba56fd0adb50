/**
 * Assertions on the gateway's OpenAI-style error answers.
 */
import assert from 'node:assert/strict';

export interface ErrorExpectation {
  status: number;
  type: string;
  code?: string | null;
  param?: string | null;
  /** The message must match. */
  message?: RegExp;
}

export interface ErrorEnvelope {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * Checks status, the `X-Request-ID` and `X-Gateway-Request-ID` headers and that the body is exactly
 * `{"error": {"message", "type", "param", "code"}}` with the expected values. Returns the body.
 */
export async function expectError(
  res: { status: number; headers: Headers; text: () => Promise<string> },
  want: ErrorExpectation,
): Promise<ErrorEnvelope> {
  const text = await res.text();
  assert.equal(res.status, want.status, `status (body: ${text})`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.ok(res.headers.get('x-request-id'), 'X-Request-ID header on an error');
  assert.match(
    res.headers.get('x-gateway-request-id') ?? '',
    /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    'X-Gateway-Request-ID (a UUIDv7) on an error',
  );
  const body = JSON.parse(text) as ErrorEnvelope;
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.doesNotMatch(body.error.message, /\n\s+at /, 'no stack trace');
  assert.equal(body.error.type, want.type);
  if (want.code !== undefined) assert.equal(body.error.code, want.code);
  if (want.param !== undefined) assert.equal(body.error.param, want.param, `param (${body.error.message})`);
  if (want.message) assert.match(body.error.message, want.message);
  return body;
}
