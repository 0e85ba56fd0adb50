/**
 * How a compiled prompt renders (`template.ts` parses and checks; this renders): a Mustache writer whose
 * leaf calls are bounded, turn structured values into JSON, and escape nothing (decision 0111), and a
 * context that refuses a required name no variable or section item holds.
 *
 * - **Bounds** (decision 0176): a section repeats its body per list item, so a small request can ask for a
 *   huge prompt (`{{#items}}{{text}}{{/items}}` with 2,000 items and 100 kB of text is 200 MB) and stall
 *   the gateway while it is built and sent; the render stops with a 422 once it has produced
 *   `MAX_RENDERED_CHARS` characters (the default body limit) or visited `MAX_RENDER_STEPS` template pieces
 *   (nested sections over lists).
 * - **Objects and lists** in a value tag render as compact JSON (`{"a":1}`), not Mustache's `String()`
 *   (`[object Object]`; decision 0228).
 *
 * @example
 * const { writer, budget } = renderWriter();
 * budget.reset('prompt.variables');
 * writer.renderTokens(tokens, new Mustache.Context({ o: { a: 1 } }), undefined, template, WRITE_AS_IS);
 */
import Mustache from 'mustache';
import { ValidationError } from '../core/errors.js';

export const MAX_RENDERED_CHARS = 10 * 1024 * 1024;
export const MAX_RENDER_STEPS = 2_000_000;

/** The writer's config: no HTML escaping (a prompt is text for a model). */
export const WRITE_AS_IS = { escape: (value: string): string => value };

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** The text of a looked-up value: objects and lists as JSON, anything else as Mustache writes it. */
function valueText(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : value;
}

/**
 * A writer with its template cache off (the caller keeps the tokens), whose leaf calls — every output
 * character comes from exactly one — are counted against the bounds and write structured values as JSON.
 * `budget.reset(param)` starts a render (`param` names the variables in the 422).
 */
export function renderWriter(): {
  writer: InstanceType<typeof Mustache.Writer>;
  budget: { reset(param: string): void };
} {
  const writer = new Mustache.Writer();
  (writer as unknown as { templateCache: undefined }).templateCache = undefined;
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
      const value = valueText(original.apply(this, args));
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
    writer,
    budget: {
      reset(where: string) {
        chars = 0;
        steps = 0;
        param = where;
      },
    },
  };
}

/**
 * A context that refuses to look up, anywhere in the stack (the section's item, its parents, the
 * variables), a required name the request did not give: a name used only inside sections may be the
 * items' field, so its absence is known only here (decision 0228). Without it the name would render as
 * nothing.
 */
export class RequiredContext extends Mustache.Context {
  readonly #required: ReadonlySet<string>;
  readonly #param: string;

  constructor(
    view: unknown,
    parent: Mustache.Context | undefined,
    required: ReadonlySet<string>,
    param: string,
  ) {
    super(view, parent);
    this.#required = required;
    this.#param = param;
  }

  override push(view: unknown): Mustache.Context {
    return new RequiredContext(view, this, this.#required, this.#param);
  }

  override lookup(name: string): unknown {
    const value: unknown = super.lookup(name);
    const root = name.split('.')[0] ?? '';
    if (value === undefined && this.#required.has(root) && !this.#holds(root)) {
      throw new ValidationError(`Missing prompt variable '${root}'.`, `${this.#param}.${root}`);
    }
    return value;
  }

  #holds(root: string): boolean {
    for (let c: Mustache.Context | undefined = this; c; c = c.parent) {
      const view: unknown = c.view;
      if (typeof view === 'object' && view !== null && root in view) return true;
    }
    return false;
  }
}
