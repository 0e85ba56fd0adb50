import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../core/errors.js';
import { compilePrompt, declareVariables, type PromptMessage } from './template.js';

const messages: PromptMessage[] = [
  { role: 'system', content: 'You answer in {{language}}.' },
  { role: 'user', content: 'Summarise: {{text}}{{#tags}} #{{.}}{{/tags}}' },
];

function param(fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.param;
  }
  assert.fail('expected a ValidationError');
}

describe('prompt templates', () => {
  test('renders without HTML escaping', () => {
    const vars = declareVariables(
      { language: { type: 'string' }, text: { type: 'string' }, tags: { type: 'list', required: false } },
      messages,
    );
    const out = compilePrompt(messages, vars).render({
      language: 'French',
      text: '<b>"a" & b</b>',
      tags: ['x', 'y'],
    });
    assert.deepEqual(out, [
      { role: 'system', content: 'You answer in French.' },
      { role: 'user', content: 'Summarise: <b>"a" & b</b> #x #y' },
    ]);
  });

  test('infers required variables of any type when none are declared', () => {
    const vars = declareVariables(undefined, messages);
    assert.deepEqual(Object.keys(vars), ['language', 'text', 'tags']);
    assert.deepEqual(vars.text, { type: 'any', required: true });
    const out = compilePrompt(messages, vars).render({ language: 'en', text: 42, tags: false });
    assert.equal(out[1]?.content, 'Summarise: 42');
  });

  test('a template using an undeclared name is refused at creation', () => {
    assert.equal(
      param(() => declareVariables(['language'], messages)),
      'variables.text',
    );
  });

  test('missing, undeclared and mistyped variables are 422 naming them', () => {
    const vars = declareVariables(
      { language: {}, text: { type: 'string' }, tags: { type: 'list', required: false } },
      messages,
    );
    const compiled = compilePrompt(messages, vars);
    assert.equal(
      param(() => compiled.render({ language: 'en' })),
      'prompt.variables.text',
    );
    assert.equal(
      param(() => compiled.render({ language: 'en', text: 't', extra: 1 })),
      'prompt.variables.extra',
    );
    assert.equal(
      param(() => compiled.render({ language: 'en', text: 5 })),
      'prompt.variables.text',
    );
  });

  test('integer variables; `array` is another name for list', () => {
    const msgs: PromptMessage[] = [{ role: 'user', content: '{{n}}{{#xs}}.{{.}}{{/xs}}' }];
    const vars = declareVariables({ n: { type: 'integer' }, xs: { type: 'array' } }, msgs);
    assert.equal(vars.xs?.type, 'list');
    const compiled = compilePrompt(msgs, vars);
    assert.deepEqual(compiled.render({ n: 3, xs: [1, 2] }), [{ role: 'user', content: '3.1.2' }]);
    assert.equal(
      param(() => compiled.render({ n: 3.5, xs: [] })),
      'prompt.variables.n',
    );
  });

  test('a name used only inside a section is a required variable, which the items may hold instead', () => {
    const msgs: PromptMessage[] = [{ role: 'user', content: '{{#items}}- {{.}} ({{language}})\n{{/items}}' }];
    const vars = declareVariables(undefined, msgs);
    assert.deepEqual(vars, {
      items: { type: 'any', required: true },
      language: { type: 'any', required: true },
    });
    const compiled = compilePrompt(msgs, vars);
    const content = (values: Record<string, unknown>) => compiled.render(values)[0]?.content;
    // Given: accepted (it used to be "Undeclared prompt variable 'language'") and rendered in every item.
    assert.equal(content({ items: ['a', 'b'], language: 'French' }), '- a (French)\n- b (French)\n');
    // Left out: a 422 naming it, not "- a ()".
    assert.equal(
      param(() => compiled.render({ items: ['a', 'b'] })),
      'prompt.variables.language',
    );
    assert.equal(
      param(() => compiled.render({ items: ['a'] }, 'variables')),
      'variables.language',
    );
    // Not needed when the section renders nothing.
    assert.equal(content({ items: [] }), '');

    // Items with fields: the field serves the name; a missing field falls back to the variable, else 422.
    const people: PromptMessage[] = [{ role: 'user', content: '{{#people}}{{name}}: {{role}}; {{/people}}' }];
    const team = compilePrompt(people, declareVariables(undefined, people));
    const rendered = (values: Record<string, unknown>) => team.render(values)[0]?.content;
    assert.equal(rendered({ people: [{ name: 'Ann', role: 'dev' }] }), 'Ann: dev; ');
    assert.equal(
      rendered({ people: [{ name: 'Ann' }, { name: 'Bo', role: 'ops' }], role: 'dev' }),
      'Ann: dev; Bo: ops; ',
    );
    assert.equal(
      param(() => team.render({ people: [{ name: 'Ann', role: 'dev' }, { name: 'Bo' }] })),
      'prompt.variables.role',
    );
    // Declared variables: names inside sections need no declaration (the items' fields), as before.
    const declared = compilePrompt(people, declareVariables(['people'], people));
    assert.equal(declared.render({ people: [{ name: 'Ann', role: 'dev' }] })[0]?.content, 'Ann: dev; ');
  });

  test('objects and lists in a value tag render as JSON, not [object Object]', () => {
    const msgs: PromptMessage[] = [
      { role: 'user', content: 'Q: {{text}} | {{o.k}} | {{tags}} | {{#rows}}<{{.}}>{{/rows}} | {{n}} {{s}}' },
    ];
    const compiled = compilePrompt(msgs, declareVariables(undefined, msgs));
    const [out] = compiled.render({
      text: { a: 1, b: ['x', { c: null }] },
      o: { k: { x: 1 } },
      tags: ['x', 'y'],
      rows: [{ id: 1 }, [2, 3], 'plain'],
      n: 4.5,
      s: '"quoted" & <b>',
    });
    assert.equal(
      out?.content,
      'Q: {"a":1,"b":["x",{"c":null}]} | {"x":1} | ["x","y"] | <{"id":1}><[2,3]><plain> | 4.5 "quoted" & <b>',
    );
    // Sections still enter objects and iterate lists.
    const section: PromptMessage[] = [
      { role: 'user', content: '{{#o}}{{k}}{{/o}};{{#tags}}{{.}},{{/tags}}' },
    ];
    const entered = compilePrompt(section, declareVariables(['o', 'tags'], section));
    assert.equal(entered.render({ o: { k: 'v' }, tags: ['x', 'y'] })[0]?.content, 'v;x,y,');
    // JSON counts against the render bound like any text.
    const big: PromptMessage[] = [{ role: 'user', content: '{{#items}}{{o}}{{/items}}' }];
    const bounded = compilePrompt(big, declareVariables(['items', 'o'], big));
    assert.equal(
      param(() => bounded.render({ items: new Array(200).fill(0), o: { t: 'x'.repeat(60_000) } })),
      'prompt.variables',
    );
  });

  test('partials and malformed templates are refused', () => {
    assert.equal(
      param(() => declareVariables(undefined, [{ role: 'user', content: 'hi {{> other}}' }])),
      'messages[0].content',
    );
    assert.equal(
      param(() => declareVariables(undefined, [{ role: 'user', content: 'hi {{#a}} open' }])),
      'messages[0].content',
    );
  });

  test('a section cannot blow a small request up into a huge prompt (422, stopped early)', () => {
    const repeat: PromptMessage[] = [{ role: 'user', content: '{{#items}}{{text}}{{/items}}' }];
    const compiled = compilePrompt(repeat, declareVariables(['items', 'text'], repeat));
    // 2,000 items × 10,000 characters: a 30 kB request asking for a 20 MB prompt.
    const items = new Array(2_000).fill(1);
    const text = 'x'.repeat(10_000);
    assert.equal(
      param(() => compiled.render({ items, text })),
      'prompt.variables',
    );
    // The same version renders ordinary lists, and again after a refused render.
    assert.equal(compiled.render({ items: [1, 2, 3], text: 'ab' })[0]?.content, 'ababab');

    // Nested sections over one list: n³ steps with no output at all.
    const nested: PromptMessage[] = [{ role: 'user', content: '{{#a}}{{#a}}{{#a}}.{{/a}}{{/a}}{{/a}}' }];
    const cubed = compilePrompt(nested, declareVariables(['a'], nested));
    assert.equal(
      param(() => cubed.render({ a: new Array(300).fill(0) })),
      'prompt.variables',
    );
    assert.equal(cubed.render({ a: [1, 1] })[0]?.content, '........');
  });
});
