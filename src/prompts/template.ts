/**
 * Prompt templates (DESIGN §12): Mustache, logic-less (`{{name}}`, sections `{{#list}}…{{/list}}`,
 * inverted sections, comments), with HTML escaping OFF — a prompt is text for a model, not HTML, so
 * `{{name}}` and `{{{name}}}` render the same (decision 0111). Partials (`{{> x}}`) and delimiter changes
 * are refused when a version is created.
 *
 * Variables are declared with a type (`any` unless given) and whether they are required. A version's
 * templates may use only declared names at the top level (inside a section a name may also be a field of
 * the section's items); a request must give every required one and no undeclared one (422 naming it). A
 * required name used only inside sections may come from the items instead: the render fails (422 naming
 * it) only when it looks one up that neither the variables nor the items hold (decision 0228). An object
 * or a list in a value tag renders as JSON (`render-writer.ts`).
 *
 * @example
 * const vars = declareVariables(['topic'], messages);       // {topic: {type: 'any', required: true}}
 * const compiled = compilePrompt(messages, vars);
 * compiled.render({ topic: 'tides' });                     // [{role: 'system', content: 'Explain tides'}]
 */
import Mustache from 'mustache';
import { ValidationError } from '../core/errors.js';
import { RequiredContext, renderWriter, WRITE_AS_IS } from './render-writer.js';

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

/** The root names a template uses, in order of first use, and those used at the top level. */
interface UsedNames {
  readonly all: Set<string>;
  readonly top: Set<string>;
}

/** Collects the root variable names of tokens (`a.b` uses `a`; `.` inside a section is the item). */
function namesOf(tokens: readonly Token[], out: UsedNames, depth = 0): UsedNames {
  for (const [type, value, , , children] of tokens) {
    if (type === 'text' || type === '!') continue;
    const root = value.split('.')[0] ?? '';
    if (root !== '') {
      out.all.add(root);
      if (depth === 0) out.top.add(root);
    }
    if (Array.isArray(children)) namesOf(children as Token[], out, depth + 1);
  }
  return out;
}

function usedNames(templates: ReadonlyArray<readonly Token[]>): UsedNames {
  const used: UsedNames = { all: new Set(), top: new Set() };
  for (const tokens of templates) namesOf(tokens, used);
  return used;
}

/**
 * The variable names the messages use, in order of first use: every name at the top level, and names used
 * only inside sections (which a section's items may hold instead) in `sectionOnly`.
 */
export function templateNames(messages: readonly PromptMessage[]): { all: string[]; sectionOnly: string[] } {
  const used = usedNames(messages.map((m, i) => parseTemplate(m.content, `messages[${i}].content`)));
  return { all: [...used.all], sectionOnly: [...used.all].filter((name) => !used.top.has(name)) };
}

/**
 * The declared variables of a new version: a list of names (required, any type), an object of
 * name → `{type, required}` (type `any` unless given), or nothing (every name the templates use — inside
 * sections too — required, any type). Every name the templates use at the top level must be declared; a
 * name used only inside sections may be declared, or be a field of the section's items.
 * @throws ValidationError naming the variable
 */
export function declareVariables(input: unknown, messages: readonly PromptMessage[]): VariableDecls {
  const names = templateNames(messages);
  const sectionOnly = new Set(names.sectionOnly);
  const used = names.all.filter((name) => !sectionOnly.has(name));
  const decls: Record<string, VariableSpec> = {};
  if (input === undefined || input === null) {
    for (const name of names.all) decls[name] = { type: 'any', required: true };
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
 * Checks a request's variables against the declarations: no undeclared name, every required one given
 * (except those in `fromItems`, used only inside sections, which the render checks where it looks them
 * up), each of its declared type. @throws ValidationError (422) naming the variable
 */
export function checkVariables(
  decls: VariableDecls,
  variables: Readonly<Record<string, unknown>>,
  param = 'prompt.variables',
  fromItems: ReadonlySet<string> = new Set(),
): void {
  for (const name of Object.keys(variables)) {
    if (!Object.hasOwn(decls, name)) {
      throw new ValidationError(`Undeclared prompt variable '${name}'.`, `${param}.${name}`);
    }
  }
  for (const [name, spec] of Object.entries(decls)) {
    const value = variables[name];
    if (value === undefined) {
      if (spec.required && !fromItems.has(name)) {
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

/** Parses a version's messages once (kept per version in memory by the prompt stage). */
export function compilePrompt(messages: readonly PromptMessage[], variables: VariableDecls): CompiledPrompt {
  // One writer per version, with its own template cache off: the tokens are kept here instead.
  const { writer, budget } = renderWriter();
  const parsed = messages.map((m, i) => ({
    role: m.role,
    template: m.content,
    tokens: parseTemplate(m.content, `messages[${i}].content`) as unknown as string[][],
  }));
  const used = usedNames(parsed.map((m) => m.tokens as unknown as Token[]));
  // Required names used only inside sections: given by the request, or by the items where looked up.
  const fromItems = new Set(
    [...used.all].filter((name) => !used.top.has(name) && variables[name]?.required === true),
  );
  return {
    variables,
    render(values, param = 'prompt.variables') {
      checkVariables(variables, values, param, fromItems);
      budget.reset(param);
      const missing = new Set([...fromItems].filter((name) => values[name] === undefined));
      const context =
        missing.size > 0
          ? new RequiredContext(values, undefined, missing, param)
          : new Mustache.Context(values);
      return parsed.map((m) => ({
        role: m.role,
        content: writer.renderTokens(m.tokens, context, undefined, m.template, WRITE_AS_IS),
      }));
    },
  };
}
