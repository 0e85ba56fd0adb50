/**
 * Polls until a condition holds, for effects another process or a background loop produces (records written
 * by a batch writer after a database came back) — where no fake clock can drive the wait.
 */
import assert from 'node:assert/strict';

/** Calls `probe` every 50 ms until `done` accepts its value (at most 30 s); fails with the last value. */
export async function until<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 600; i++) {
    last = await probe();
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`${what}: gave up, last ${JSON.stringify(last)}`);
}
