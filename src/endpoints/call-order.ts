/**
 * Parallel tool calls streamed by chat upstreams may interleave their argument deltas (by `index`), while
 * the Messages and Responses streams write one block or item at a time. Both encoders finish the streaming
 * call early when its arguments already form a whole JSON value, and otherwise hold a later call back and
 * write it whole after the earlier ones.
 */

/** Whether a call's arguments so far are a whole JSON value: nothing but whitespace can validly follow. */
export function isCompleteJson(args: string): boolean {
  if (args.trim() === '') return false;
  try {
    JSON.parse(args);
    return true;
  } catch {
    return false;
  }
}

/** The first entry of a map (insertion order): the call that is streaming. */
export function first<K, V>(map: Map<K, V>): [K, V] | undefined {
  return map.entries().next().value;
}
