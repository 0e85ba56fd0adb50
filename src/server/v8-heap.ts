/**
 * V8 heap settings for the gateway process, applied at start-up so that `npm start`, the container image,
 * `--workers` and the benchmark's compiled builds run alike.
 *
 * The heap growing factor (docs/decisions/0157-heap-growing-factor.md). Under load
 * V8 lets the old generation grow up to 4× the live data before a full collection (its factor on a machine
 * with 2 GiB of heap limit or more), which is the RSS sawtooth of the soak; `--heap-growing-percent` fixes
 * the factor at 1 + percent / 100. V8 reads the flag at every collection, so setting it at start-up applies
 * it the same way to `npm start`, the container image, `--workers` and the benchmark's compiled builds.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** True when the node command line sets the flag already (it wins over the configuration). */
export function heapGrowingFlagGiven(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg));
}

/**
 * Sets V8's heap growing factor to 1 + `percent` / 100 (0 = V8's own adaptive factor). Returns what applies:
 * the percent set, or `command-line` when `node --heap-growing-percent=…` was given.
 */
export function applyHeapGrowing(
  percent: number,
  execArgv: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = setFlagsFromString,
): number | 'command-line' {
  if (heapGrowingFlagGiven(execArgv)) return 'command-line';
  setFlags(`--heap-growing-percent=${percent}`);
  return percent;
}

/** True when the node command line sets allocation-site pretenuring either way (it wins). */
export function pretenuringFlagGiven(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => /^--(no-)?allocation[-_]site[-_]pretenuring$/.test(arg));
}

/**
 * Allocation-site pretenuring (docs/decisions/0187-no-allocation-site-pretenuring.md): V8 allocates objects
 * straight into the old generation from the sites whose objects survived scavenges before. On the gateway's
 * request path that turned per-request objects into old-space garbage that kept the next requests' young
 * objects alive at every scavenge (about 2 MB copied and promoted each time, 5–9 ms pauses). `enabled: false`
 * turns it off (`--no-allocation-site-pretenuring`). Returns what applies.
 */
export function applyPretenuring(
  enabled: boolean,
  execArgv: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = setFlagsFromString,
): boolean | 'command-line' {
  if (pretenuringFlagGiven(execArgv)) return 'command-line';
  if (!enabled) setFlags('--no-allocation-site-pretenuring');
  return enabled;
}

/**
 * One full garbage collection on demand, for the end of start-up (docs/decisions/0205-warm-before-ready.md),
 * without starting Node with `--expose-gc`: start-up (schema compilation, migrations, warm-ups) leaves tens
 * of MiB of garbage in the old generation, and V8's first major collection of it otherwise runs during the
 * first requests. `--expose-gc` is on only while V8's `gc` function is fetched from a fresh context, so no
 * `gc` global appears in the gateway's own.
 */
let collect: (() => void) | null = null;

/** Runs a full, synchronous collection; false when V8 would not give its `gc` function. */
export function collectGarbage(): boolean {
  try {
    if (collect === null) {
      const exposed = (globalThis as { gc?: unknown }).gc;
      if (typeof exposed === 'function') {
        collect = exposed as () => void;
      } else {
        setFlagsFromString('--expose-gc');
        try {
          collect = runInNewContext('gc') as () => void;
        } finally {
          setFlagsFromString('--no-expose-gc');
        }
      }
    }
    collect();
    return true;
  } catch {
    return false;
  }
}
