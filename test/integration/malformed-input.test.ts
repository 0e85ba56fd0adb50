/**
 * Malformed requests get a 4xx naming the field, and nothing malformed reaches a provider (DESIGN §5):
 * stored-response ids the database could not hold, and (below) the nested fields of the Responses,
 * Messages, Completions and Embeddings APIs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { postJson, useGateway } from '../helpers/gateway.js';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe('stored-response ids with NUL or a lone surrogate', () => {
  const t = useGateway();

  test('previous_response_id: 422 naming it (not a lookup that fails as a 503 on PostgreSQL)', async () => {
    for (const id of ['resp_\u0000x', 'resp_\ud800']) {
      const res = await postJson(`${t.gw.url}/v1/responses`, {
        model: 'gpt-4o',
        input: 'hi',
        previous_response_id: id,
      });
      const body = (await res.json()) as ErrorBody;
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(body.error.param, 'previous_response_id');
      assert.match(body.error.message, /NUL character or a lone surrogate/);
    }
    assert.equal(t.mock.requests.length, 0);
  });
});
