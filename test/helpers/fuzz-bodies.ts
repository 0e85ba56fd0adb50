/**
 * Deterministic request-body fuzzing for POST /v1/chat/completions: valid bodies, structural mutations of
 * them (dropped and added fields, wrong types, huge numbers, nested junk, unicode, prototype-pollution
 * keys), truncated JSON, non-object JSON, random bytes, deep nesting and odd content types. The same seed
 * always yields the same cases, so a failure is reproducible from its seed and index.
 *
 * @example
 * for (const c of fuzzCases(0xc0ffee, 1000)) await send(c.body, c.contentType);
 */

import { mulberry32 } from '../../src/core/random.js';

export interface FuzzCase {
  /** Index and mutation kind, for failure messages. */
  name: string;
  body: string | Buffer;
  /** undefined = no Content-Type header. */
  contentType: string | undefined;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Rng = () => number;

const MODELS = ['gpt-4o', 'claude-3-5-haiku-latest', 'gemini-2.5-flash'];
const KEYS = [
  'model',
  'messages',
  'role',
  'content',
  'temperature',
  'top_p',
  'n',
  'stream',
  'stop',
  'max_tokens',
  'max_completion_tokens',
  'tools',
  'tool_choice',
  'response_format',
  'type',
  'function',
  'name',
  'arguments',
  'parameters',
  'tool_calls',
  'tool_call_id',
  'image_url',
  'url',
  'detail',
  'text',
  'stream_options',
  'include_usage',
  'seed',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'metadata',
  'user',
  'refusal',
  'json_schema',
  'schema',
  'strict',
  'parallel_tool_calls',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '',
  ' ',
  'ключ',
  '🔥',
  'a.b',
  'a/b',
  '$ref',
  '0',
];
const STRINGS = [
  '',
  ' ',
  'x',
  'user',
  'assistant',
  'system',
  'tool',
  'developer',
  'function',
  'text',
  'image_url',
  'null',
  'true',
  '0',
  '-1',
  'NaN',
  'gpt-4o',
  'claude-3-5-haiku-latest',
  'gemini-2.5-flash',
  'openai/gpt-4o',
  'nope/model',
  'auto',
  'none',
  'required',
  'json_object',
  'json_schema',
  'data:image/png;base64,iVBORw0KGgo=',
  'https://example.com/a.png',
  '\u0000',
  '\uFEFFbom',
  '\u202Ertl',
  'zero\u200Bwidth',
  '😀🎉👩‍👩‍👧',
  '\uD800',
  '\uDFFF',
  'ñandú',
  '中文字符',
  '\\',
  '"',
  '</script>',
  '%00',
  '{"a":1}',
];
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  2,
  2.0000001,
  3,
  128,
  129,
  4096,
  -2,
  2 ** 31,
  2 ** 53 + 2,
  -(2 ** 53),
  1e308,
  -1e308,
  Number.MIN_VALUE,
  1e-320,
  123456789.123,
];

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
const chance = (rng: Rng, p: number) => rng() < p;

/** Sets an own property, even `__proto__` (plain assignment would change the prototype instead). */
function setOwn(target: { [key: string]: Json }, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function junk(rng: Rng, depth = 0): Json {
  const r = rng();
  if (depth > 3 || r < 0.55) {
    const leaf = rng();
    if (leaf < 0.15) return null;
    if (leaf < 0.25) return chance(rng, 0.5);
    if (leaf < 0.5) return pick(rng, NUMBERS);
    if (leaf < 0.55) return 'x'.repeat(1 + Math.floor(rng() * 20_000));
    return pick(rng, STRINGS);
  }
  if (r < 0.75) return Array.from({ length: Math.floor(rng() * 4) }, () => junk(rng, depth + 1));
  const obj: { [key: string]: Json } = {};
  for (let i = Math.floor(rng() * 4); i > 0; i--) setOwn(obj, pick(rng, KEYS), junk(rng, depth + 1));
  return obj;
}

/** A valid request with a random selection of optional fields. */
export function validBody(rng: Rng): { [key: string]: Json } {
  const body: { [key: string]: Json } = {
    model: pick(rng, MODELS),
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: pick(rng, ['Hello', 'Weather in Paris?', 'ñandú 😀', 'a b c']) },
    ],
  };
  const tools: Json = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather for a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    },
  ];
  const optional: Array<[string, () => Json]> = [
    ['temperature', () => pick(rng, [0, 0.7, 1, 2, null])],
    ['top_p', () => pick(rng, [0, 0.5, 1])],
    ['max_tokens', () => pick(rng, [1, 16, 1024])],
    ['max_completion_tokens', () => 64],
    ['stop', () => pick(rng, ['\n', ['END', 'STOP'], null])],
    ['seed', () => pick(rng, [0, 42, -7, 2 ** 40])],
    ['stream', () => chance(rng, 0.5)],
    ['stream_options', () => ({ include_usage: chance(rng, 0.5) })],
    ['user', () => 'user-123'],
    ['metadata', () => ({ team: 'fuzz' })],
    ['presence_penalty', () => pick(rng, [-2, 0, 2])],
    ['response_format', () => pick<Json>(rng, [{ type: 'text' }, { type: 'json_object' }])],
    ['tools', () => tools],
    ['parallel_tool_calls', () => chance(rng, 0.5)],
    ['vendor_extension', () => ({ keep: true })],
  ];
  for (const [key, value] of optional) if (chance(rng, 0.3)) body[key] = value();
  if (body.tools && chance(rng, 0.5)) body.tool_choice = pick<Json>(rng, ['auto', 'required', 'none']);
  if (chance(rng, 0.2)) {
    (body.messages as Json[]).push(
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    );
  }
  if (chance(rng, 0.15)) {
    (body.messages as Json[]).push({
      role: 'user',
      content: [
        { type: 'text', text: 'What is this?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
      ],
    });
  }
  return body;
}

/** Every container in the tree with the key or index that leads to each child. */
function slots(root: Json): Array<{ parent: Json[] | { [key: string]: Json }; key: string | number }> {
  const out: Array<{ parent: Json[] | { [key: string]: Json }; key: string | number }> = [];
  const walk = (node: Json) => {
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        out.push({ parent: node, key: i });
        walk(child);
      });
    } else if (node !== null && typeof node === 'object') {
      for (const key of Object.keys(node)) {
        out.push({ parent: node, key });
        walk(node[key] as Json);
      }
    }
  };
  walk(root);
  return out;
}

/** One structural mutation, in place. */
function mutate(rng: Rng, root: { [key: string]: Json }): void {
  const all = slots(root);
  const slot = all.length > 0 ? pick(rng, all) : null;
  const op = rng();
  if (!slot || op < 0.2) {
    // Add a field somewhere (the root when nothing else).
    const containers = [root, ...all.map((s) => s.parent)].filter((p) => !Array.isArray(p));
    setOwn(pick(rng, containers) as { [key: string]: Json }, pick(rng, KEYS), junk(rng));
    return;
  }
  const { parent, key } = slot;
  if (op < 0.45) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key as string];
  } else if (op < 0.8) {
    const value = junk(rng);
    if (Array.isArray(parent)) parent[key as number] = value;
    else setOwn(parent, key as string, value);
  } else if (op < 0.9) {
    const value = Array.isArray(parent) ? parent[key as number] : parent[key as string];
    const wrapped: Json = chance(rng, 0.5) ? [value ?? null] : { value: value ?? null };
    if (Array.isArray(parent)) parent[key as number] = wrapped;
    else setOwn(parent, key as string, wrapped);
  } else if (Array.isArray(parent)) {
    for (let i = Math.floor(rng() * 200); i > 0; i--) parent.push(parent[key as number] ?? null);
  } else {
    setOwn(parent, key as string, pick<Json>(rng, [[], {}, '', 0]));
  }
}

function deepNesting(rng: Rng): string {
  const depth = pick(rng, [100, 1000, 5000, 20_000]);
  const [open, close] = chance(rng, 0.5) ? ['[', ']'] : ['{"a":', '}'];
  const value = `${open.repeat(depth)}1${close.repeat(depth)}`;
  const where = pick(rng, ['root', 'field', 'content']);
  if (where === 'root') return value;
  if (where === 'field')
    return `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"extra":${value}}`;
  return `{"model":"${pick(rng, MODELS)}","messages":[{"role":"user","content":${value}}]}`;
}

function protoPollution(rng: Rng): string {
  const model = pick(rng, MODELS);
  const variants = [
    `{"__proto__":{"polluted":true},"model":"${model}","messages":[{"role":"user","content":"x"}]}`,
    `{"model":"${model}","messages":[{"role":"user","content":"x","__proto__":{"role":"system"}}]}`,
    `{"constructor":{"prototype":{"polluted":true}},"model":"${model}","messages":[{"role":"user","content":"x"}]}`,
    `{"model":"${model}","messages":[{"role":"user","content":"x"}],"metadata":{"__proto__":"x"}}`,
    `{"model":"${model}","messages":[{"role":"user","content":"x"}],"logit_bias":{"constructor":1,"__proto__":2}}`,
    `{"model":"${model}","messages":[{"role":"user","content":"x","constructor":{"prototype":{"x":1}}}]}`,
    `{"model":"${model}","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"__proto__":{"x":1}}}}]}`,
    `{"model":"constructor","messages":[{"role":"__proto__","content":"x"}]}`,
    `{"model":"${model}","messages":[{"role":"toString","content":"x"}]}`,
  ];
  return pick(rng, variants);
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  'application/vnd.api+json',
  'foo',
  ';;;',
  undefined,
];

/** `count` cases from `seed`. */
export function* fuzzCases(seed: number, count: number): Generator<FuzzCase> {
  const rng = mulberry32(seed);
  for (let i = 0; i < count; i++) {
    const r = rng();
    let kind: string;
    let body: string | Buffer;
    let contentType: string | undefined = 'application/json';
    if (r < 0.1) {
      kind = 'valid';
      body = JSON.stringify(validBody(rng));
    } else if (r < 0.55) {
      kind = 'mutated';
      const tree = validBody(rng);
      for (let n = 1 + Math.floor(rng() * 3); n > 0; n--) mutate(rng, tree);
      body = JSON.stringify(tree);
    } else if (r < 0.62) {
      kind = 'truncated';
      const text = JSON.stringify(validBody(rng));
      body = text.slice(0, Math.floor(rng() * text.length));
    } else if (r < 0.67) {
      kind = 'non-object';
      body = pick(rng, ['null', '42', '-1e400', '"str"', '[]', '[{}]', 'true', '""', ' ', '{}', '[1,2,3]']);
    } else if (r < 0.72) {
      kind = 'random-bytes';
      body = Buffer.from(Array.from({ length: 1 + Math.floor(rng() * 512) }, () => Math.floor(rng() * 256)));
    } else if (r < 0.77) {
      kind = 'deep';
      body = deepNesting(rng);
    } else if (r < 0.84) {
      kind = 'proto';
      body = protoPollution(rng);
    } else if (r < 0.94) {
      kind = 'content-type';
      contentType = pick(rng, CONTENT_TYPES);
      body = JSON.stringify(chance(rng, 0.5) ? validBody(rng) : { model: 'gpt-4o' });
    } else {
      kind = 'number-literals';
      // Literals JSON.stringify cannot produce: overflow to Infinity, 30-digit integers, exponents.
      const literal = pick(rng, ['1e400', '-1e400', '123456789012345678901234567890', '1E2', '0.1e1', '-0']);
      const field = pick(rng, ['temperature', 'max_tokens', 'n', 'seed', 'top_p', 'top_logprobs']);
      body = `{"model":"${pick(rng, MODELS)}","messages":[{"role":"user","content":"x"}],"${field}":${literal}}`;
    }
    yield { name: `#${i} ${kind}`, body, contentType };
  }
}
