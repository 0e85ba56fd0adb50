/**
 * Which of V8's WebAssembly compilers the process uses (docs/decisions/0168-no-wasm-tier-up-with-pglite.md).
 *
 * V8's choice is process-wide, not per module: by default WebAssembly functions are compiled lazily by
 * Liftoff (the baseline compiler) and the hot ones are recompiled by TurboFan in the background
 * ("dynamic tiering"). For PGlite's 9 MB module that recompilation is what holds most of the embedded
 * database's memory: TurboFan's compile memory comes from malloc and stays in the process (measured in a
 * plain process, 30,000 usage-like inserts: 196 MiB on Node 20 and 490 MiB on Node 24 with V8's defaults,
 * 138–146 MiB without tier-up). Two users of WebAssembly live in the gateway and want different things:
 *
 * - the embedded database (PGlite) wants no tier-up: `noTierUpForDatabase()` around its open, and the
 *   setting stays (a function compiled later is compiled lazily by Liftoff too);
 * - the local embedding model (TensorFlow.js kernels, semantic cache) wants TurboFan (its embeddings take
 *   15 instead of 9 ms on Liftoff): `wasmOptimiserNeeded()` before its model is compiled puts V8's defaults
 *   back for good, and the database's functions tier up again in that configuration.
 *
 * undici's HTTP parser (llhttp, WebAssembly too) stays on Liftoff in the default configuration: measured
 * within noise in a plain undici loop (≤ 2 µs of CPU per upstream request). With PostgreSQL (`DATABASE_URL`)
 * nothing here runs. An operator who sets V8's WebAssembly flags on the command line or in NODE_OPTIONS keeps
 * them: nothing here changes them.
 *
 * The flags are the ones every supported Node honours at run time: `--liftoff-only` set after start-up is
 * ignored by Node 24's V8, `--no-wasm-dynamic-tiering --no-wasm-tier-up` is not (checked on Node 20, 22,
 * 24 and 26 by wasm-tiering.test.ts). `--no-wasm-dynamic-tiering` turns lazy compilation off by implication, so it
 * is named back on after it.
 */
import { setFlagsFromString } from 'node:v8';

/** Liftoff only, compiled lazily (a function is compiled when it first runs). */
export const NO_TIER_UP_FLAGS = '--no-wasm-dynamic-tiering --no-wasm-tier-up --wasm-lazy-compilation';
/** V8's defaults (`node --v8-options`, the same on Node 20, 22 and 24). */
export const WASM_TIERING_DEFAULTS = '--wasm-tier-up --wasm-dynamic-tiering --wasm-lazy-compilation';

export type WasmTiering = 'no-tier-up' | 'default' | 'operator';

let state: WasmTiering | null = null;
let optimiserNeeded = false;

/** Whether the operator set V8 WebAssembly compiler flags (command line or NODE_OPTIONS): then they rule. */
export function wasmFlagsGiven(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((arg) =>
    /^--(no-)?(liftoff|wasm)/.test(arg),
  );
}

/**
 * Runs `open` (which compiles and starts PGlite) with WebAssembly tier-up off, and leaves it off unless
 * something in the process asked for the optimising compiler (then V8's defaults are put back after open).
 */
export async function noTierUpForDatabase<T>(
  open: () => Promise<T>,
  current: { execArgv: readonly string[]; nodeOptions: string | undefined } = {
    execArgv: process.execArgv,
    nodeOptions: process.env.NODE_OPTIONS,
  },
): Promise<T> {
  if (wasmFlagsGiven(current.execArgv, current.nodeOptions)) {
    state = 'operator';
    return open();
  }
  setFlagsFromString(NO_TIER_UP_FLAGS);
  state = 'no-tier-up';
  try {
    return await open();
  } finally {
    if (optimiserNeeded) restoreDefaults();
  }
}

/** Before WebAssembly that needs TurboFan is compiled (the embedding model): V8's defaults, for good. */
export function wasmOptimiserNeeded(): void {
  optimiserNeeded = true;
  if (state === 'no-tier-up') restoreDefaults();
}

function restoreDefaults(): void {
  setFlagsFromString(WASM_TIERING_DEFAULTS);
  state = 'default';
}

/** What this module set: null when nothing asked yet (for tests). */
export function wasmTiering(): WasmTiering | null {
  return state;
}
