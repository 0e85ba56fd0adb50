/**
 * Copies that keep V8's hidden classes shared ([decision 0188](../../docs/decisions/0188-one-hidden-class-per-shape.md)).
 *
 * On Node 20 (V8 11.3) an object made by spread syntax and then given a property the source did not have
 * (`{ ...req, stream: false }`, `{ ...headers, 'x-request-id': id }`) gets a hidden class of its own, new on
 * every call: V8 does not cache that transition. On the request path that is one or more new maps per
 * request, old-generation garbage until the next full collection, and inline caches that see a new map
 * every time. A copy made with `Object.assign` follows the cached transitions. Node 22 and 24 share the
 * maps either way.
 */

/**
 * `{ ...source, ...extra }`, the same keys in the same order, with shared hidden classes. Typed as `T & U`
 * (as `Object.assign` is): give `extra` only keys whose types agree with `source`'s.
 */
export function extend<T extends object, U extends object>(source: T, extra: U): T & U {
  return Object.assign(Object.assign({}, source), extra);
}
