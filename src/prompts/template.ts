/**
 * Prompt templates (DESIGN §12): Mustache, logic-less (`{{name}}`, sections `{{#list}}…{{/list}}`,
 * inverted sections, comments), with HTML escaping OFF — a prompt is text for a model, not HTML, so
 * `{{name}}` and `{{{name}}}` render the same (decision 0111). Partials (`{{> x}}`) and delimiter changes
 * are refused when a version is created.
 *
 * Variables are declared with a type (`any` unless given) and whether they are required. A version's
 * templates may use only
 * declared names; a request must give every required one and no undeclared one (422 naming it).
 *
 * @example
 * const vars = declareVariables(['topic'], messages);       // {topic: {type: 'any', required: true}}
 * const compiled = compilePrompt(messages, vars);
 * compiled.render({ topic: 'tides' });                     // [{role: 'system', content: 'Explain tides'}]
 */
import Mustache from 'mustache';
import { ValidationError } from '../core/errors.js';

export const VARIABLE_TYPES = ['any', 'string', 'number', 'integer', 'boolean', 'list', 'object'] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];
/** Other names accepted for a type (JSON Schema's), stored as the canonical one. */
const TYPE_ALIASES: Readonly<Record<string, VariableType>> = { array: 'list' };

export interface VariableSpec {
  readonly type: VariableType;
  readonly required: boolean;
}

export type VariableDecls = Readonly<Record<string, VariableSpec>>;

/** A template message of a prompt version. */
export interface PromptMessage {
  readonly role: 'system' | 'developer' | 'user' | 'assistant';
  readonly content: string;
}

/** A rendered message, as it is prepended to the request's own. */
export interface RenderedMessage {
  role: PromptMessage['role'];
  content: string;
}

type Token = [string, string, number, number, ...unknown[]];

/** Token types a logic-less template may hold (`name`, `&` unescaped, sections, comments, text). */
const ALLOWED = new Set(['text', 'name', '&', '#', '^', '!']);
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const noEscape = (value: string): string => value;

/** Parses a template, refusing what a logic-less prompt must not use. @throws ValidationError */
function parseTemplate(template: string, param: string): Token[] {
  const writer = new Mustache.Writer();
  let tokens: Token[];
  try {
    tokens = writer.parse(template) as Token[];
  } catch (err) {
    throw new ValidationError(`The template is not valid: ${(err as Error).message}.`, param);
  }
  const visit = (list: Token[]): void => {
    for (const token of list) {
      if (!ALLOWED.has(token[0])) {
        throw new ValidationError(
          `Templates may use {{name}}, sections and comments only; '{{${token[0]} ${token[1]}}}' is not allowed.`,
          param,
        );
      }
      if (Array.isArray(token[4])) visit(token[4] as Token[]);
    }
  };
  visit(tokens);
  return tokens;
}

/** The root variable names a template uses (`a.b` uses `a`; `.` inside a section is the item). */
function namesOf(tokens: readonly Token[], out: Set<string>, depth = 0): Set<string> {
  for (const [type, value, , , children] of tokens) {
    if (type === 'text' || type === '!') continue;
    const root = value.split('.')[0] ?? '';
    // Inside a section, names may refer to the items' fields; only top-level names must be declared.
    if (depth === 0 && root !== '') out.add(root);
    if (Array.isArray(children)) namesOf(children as Token[], out, depth + 1);
  }
  return out;
}

/** The top-level variable names the messages use, in order of first use. */
export function templateNames(messages: readonly PromptMessage[]): string[] {
  const names = new Set<string>();
  messages.forEach((m, i) => {
    namesOf(parseTemplate(m.content, `messages[${i}].content`), names);
  });
  return [...names];
}

/**
 * The declared variables of a new version: a list of names (required, any type), an object of
 * name → `{type, required}` (type `any` unless given), or nothing (every name the templates use, required,
 * any type). Every name the templates use must be declared. @throws ValidationError naming the variable
 */
export function declareVariables(input: unknown, messages: readonly PromptMessage[]): VariableDecls {
  const used = templateNames(messages);
  const decls: Record<string, VariableSpec> = {};
  if (input === undefined || input === null) {
    for (const name of used) decls[name] = { type: 'any', required: true };
  } else if (Array.isArray(input)) {
    input.forEach((name, i) => {
      if (typeof name !== 'string' || !NAME.test(name)) {
        throw new ValidationError('A variable name is letters, digits and _ (up to 64).', `variables[${i}]`);
      }
      decls[name] = { type: 'any', required: true };
    });
  } else if (typeof input === 'object') {
    for (const [name, spec] of Object.entries(input as Record<string, unknown>)) {
      if (!NAME.test(name)) {
        throw new ValidationError(
          'A variable name is letters, digits and _ (up to 64).',
          `variables.${name}`,
        );
      }
      const s = (spec ?? {}) as { type?: unknown; required?: unknown };
      const type = TYPE_ALIASES[String(s.type)] ?? s.type ?? 'any';
      if (!VARIABLE_TYPES.includes(type as VariableType)) {
        throw new ValidationError(
          `type must be one of ${VARIABLE_TYPES.join(', ')}.`,
          `variables.${name}.type`,
        );
      }
      if (s.required !== undefined && typeof s.required !== 'boolean') {
        throw new ValidationError('required must be a boolean.', `variables.${name}.required`);
      }
      decls[name] = { type: type as VariableType, required: s.required !== false };
    }
  } else {
    throw new ValidationError(
      'variables is a list of names or an object of name → {type, required}.',
      'variables',
    );
  }
  for (const name of used) {
    if (!(name in decls)) {
      throw new ValidationError(`The template uses the undeclared variable '${name}'.`, `variables.${name}`);
    }
  }
  return decls;
}

function typeOf(value: unknown): VariableType | 'null' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean' ? t : 'object';
}

/**
 * Checks a request's variables against the declarations: no undeclared name, every required one given,
 * each of its declared type. @throws ValidationError (422) naming the variable
 */
export function checkVariables(
  decls: VariableDecls,
  variables: Readonly<Record<string, unknown>>,
  param = 'prompt.variables',
): void {
  for (const name of Object.keys(variables)) {
    if (!Object.hasOwn(decls, name)) {
      throw new ValidationError(`Undeclared prompt variable '${name}'.`, `${param}.${name}`);
    }
  }
  for (const [name, spec] of Object.entries(decls)) {
    const value = variables[name];
    if (value === undefined) {
      if (spec.required) {
        throw new ValidationError(`Missing prompt variable '${name}'.`, `${param}.${name}`);
      }
      continue;
    }
    const actual = typeOf(value);
    const fits =
      spec.type === 'any' || actual === spec.type || (spec.type === 'integer' && Number.isInteger(value));
    if (!fits) {
      throw new ValidationError(
        `Prompt variable '${name}' must be of type ${spec.type}, not ${actual}.`,
        `${param}.${name}`,
      );
    }
  }
}

/** A version's templates, parsed once. */
export interface CompiledPrompt {
  readonly variables: VariableDecls;
  /**
   * Checks the variables and renders every message. `param` is where the request gave the variables
   * (`prompt.variables` in a chat body, `variables` on `/v1/prompts/{id}/completions`).
   * @throws ValidationError (422) naming a variable
   */
  render(variables: Readonly<Record<string, unknown>>, param?: string): RenderedMessage[];
}

/**
 * Bounds on one render. A section repeats its body per list item, so a small request can ask for a huge
 * prompt (`{{#items}}{{text}}{{/items}}` with 2,000 items and 100 kB of text is 200 MB) and stall the
 * gateway while it is built and sent; the render stops with a 422 instead once it has produced this many
 * characters (the default body limit) or visited this many template pieces (nested sections over lists).
 */
export const MAX_RENDERED_CHARS = 10 * 1024 * 1024;
export const MAX_RENDER_STEPS = 2_000_000;

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Makes `writer` count what it renders (every output character comes from exactly one leaf call). */
function budgetWriter(writer: InstanceType<typeof Mustache.Writer>): { reset(param: string): void } {
  let chars = 0;
  let steps = 0;
  let param = 'prompt.variables';
  const tooLarge = (what: string) =>
    new ValidationError(
      `The rendered prompt is too large (over ${what}); send fewer or shorter list items.`,
      param,
    );
  const base = Mustache.Writer.prototype as unknown as Record<string, Method>;
  const target = writer as unknown as Record<string, Method>;
  for (const leaf of ['escapedValue', 'unescapedValue', 'rawValue']) {
    const original = base[leaf] as Method;
    target[leaf] = function (this: unknown, ...args: unknown[]) {
      const value = original.apply(this, args);
      if (value !== undefined && value !== null) {
        chars += typeof value === 'string' ? value.length : String(value).length;
        if (chars > MAX_RENDERED_CHARS) throw tooLarge(`${MAX_RENDERED_CHARS} characters`);
      }
      return value;
    };
  }
  const renderTokens = base.renderTokens as Method;
  target.renderTokens = function (this: unknown, ...args: unknown[]) {
    steps += (args[0] as unknown[]).length + 1;
    if (steps > MAX_RENDER_STEPS) throw tooLarge(`${MAX_RENDER_STEPS} template steps`);
    return renderTokens.apply(this, args);
  };
  return {
    reset(where: string) {
      chars = 0;
      steps = 0;
      param = where;
    },
  };
}

/** Parses a version's messages once (kept per version in memory by the prompt stage). */
export function compilePrompt(messages: readonly PromptMessage[], variables: VariableDecls): CompiledPrompt {
  // One writer per version, with its own template cache off: the tokens are kept here instead.
  const writer = new Mustache.Writer();
  (writer as unknown as { templateCache: undefined }).templateCache = undefined;
  const budget = budgetWriter(writer);
  const parsed = messages.map((m, i) => ({
    role: m.role,
    template: m.content,
    tokens: parseTemplate(m.content, `messages[${i}].content`) as unknown as string[][],
  }));
  return {
    variables,
    render(values, param = 'prompt.variables') {
      checkVariables(variables, values, param);
      budget.reset(param);
      const context = new Mustache.Context(values);
      return parsed.map((m) => ({
        role: m.role,
        content: writer.renderTokens(m.tokens, context, undefined, m.template, { escape: noEscape }),
      }));
    },
  };
}
