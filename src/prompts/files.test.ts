import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSchemaCompiler } from '../endpoints/compile.js';
import { parsePromptFile } from './files.js';

const compile = createSchemaCompiler();
const doc = (head: string) => `${head}
versions:
  - messages:
      - { role: user, content: "Hello {{name}}" }
`;

test('a prompt file names ids, labels and label versions a request can use', () => {
  const [ok] = parsePromptFile(doc('id: greet\nlabels: { production: 1, staging.v2: 1 }'), compile);
  assert.deepEqual(ok?.labels, { production: 1, 'staging.v2': 1 });
  for (const [head, problem] of [
    ['id: "greet me"', /id "greet me" is not 1 to 64 letters/],
    ['id: greet\nlabels: { "prod uction": 1 }', /labels is an object of label/],
    ['id: greet\nlabels: { production: 0 }', /labels is an object of label/],
    // Beyond any version number (the int4 column would refuse it with a database error).
    ['id: greet\nlabels: { production: 2147483648 }', /labels is an object of label/],
  ] as const) {
    assert.throws(() => parsePromptFile(doc(head), compile), problem, head);
  }
});

test('a prompt file whose params no chat request accepts is refused (versions are immutable)', () => {
  const withParams = (params: string) => `id: hot
versions:
  - messages: [{ role: user, content: hi }]
    params: ${params}
`;
  assert.throws(() => parsePromptFile(withParams('{ temperature: 5 }'), compile), /params\.temperature/);
  assert.throws(() => parsePromptFile(withParams('{ max_tokens: lots }'), compile), /params\.max_tokens/);
  // Valid params, and rules that depend on what the request adds (its tools), pass; twice, one compiler.
  for (let i = 0; i < 2; i++) {
    const [ok] = parsePromptFile(withParams('{ temperature: 0.2, tool_choice: required }'), compile);
    assert.deepEqual(ok?.versions[0]?.params, { temperature: 0.2, tool_choice: 'required' });
  }
});
