/**
 * The event loop first (docs/decisions/0186-helper-threads-yield-to-the-event-loop.md). Besides its main
 * thread, a Node process runs helper threads: V8's (parallel scavenges, concurrent marking and sweeping,
 * background compilation), libuv's thread pool (file writes of the log, DNS lookups) and worker threads (the
 * embedding pool). On a machine with spare cores they run beside the event loop. On one core (taskset, a
 * cpuset, `resources.limits.cpu: 1`) they take turns with it, and Linux's scheduler shares the core fairly
 * among runnable threads: a request that arrives while a helper runs waits for it. Measured at 1,000 req/s
 * on one core, that wait was most of the p99 (the main thread runnable but not running for 10–85 ms).
 *
 * `lowerHelperThreads` raises the nice value of every thread of the process but the main one by `nice`
 * (Linux applies `setpriority` per thread), so that when both want the core the event loop gets it (a
 * nice-10 thread weighs about a tenth of a nice-0 one), and the helpers use what the loop leaves. Nothing
 * changes when there is a free core. Raising a nice value needs no privilege; the main thread keeps its own.
 * Threads appear later too (the thread pool on first use, a restarted embedding worker), so the threads are
 * looked at again every `rescanMs`. Elsewhere than Linux nothing happens.
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** Where Linux lists a process's threads. */
const TASKS = '/proc/self/task';
/** The highest nice value (the lowest priority). */
const MAX_NICE = 19;

export interface HelperThreadsOptions {
  /** How much nicer than the main thread helpers become (0 = nothing is done). */
  nice: number;
  /** How often the thread list is read again; 0 = only once. */
  rescanMs?: number;
  /** The main thread's id (its pid on Linux). */
  pid?: number;
  /** Injected for tests. */
  listThreads?: () => number[];
  getPriority?: (tid: number) => number;
  setPriority?: (tid: number, nice: number) => void;
}

export interface HelperThreads {
  /** Helper threads at the lowered priority so far (set here, or found nicer already). */
  readonly lowered: number;
  /** Threads whose priority could not be set (gone meanwhile, or not allowed). */
  readonly failed: number;
  /** Looks at the thread list again (also done every `rescanMs`). */
  scan(): void;
  stop(): void;
}

function linuxThreads(): number[] {
  try {
    return readdirSync(TASKS).map(Number);
  } catch {
    return [];
  }
}

/** Lowers the scheduling priority of the process's helper threads; see the module comment. */
export function lowerHelperThreads(options: HelperThreadsOptions): HelperThreads {
  const pid = options.pid ?? process.pid;
  const list = options.listThreads ?? linuxThreads;
  const get = options.getPriority ?? getPriority;
  const set = options.setPriority ?? setPriority;
  const seen = new Set<number>();
  let lowered = 0;
  let failed = 0;
  let timer: NodeJS.Timeout | undefined;
  const scan = (): void => {
    if (options.nice <= 0) return;
    let target: number;
    try {
      target = Math.min(MAX_NICE, get(pid) + options.nice);
    } catch {
      return;
    }
    for (const tid of list()) {
      if (tid === pid || seen.has(tid)) continue;
      seen.add(tid);
      try {
        // Only ever nicer: a thread someone made nicer still is left as it is.
        if (get(tid) < target) set(tid, target);
        lowered++;
      } catch {
        failed++;
      }
    }
  };
  scan();
  if (options.nice > 0 && (options.rescanMs ?? 0) > 0) {
    timer = setInterval(scan, options.rescanMs);
    timer.unref();
  }
  return {
    get lowered() {
      return lowered;
    },
    get failed() {
      return failed;
    },
    scan,
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
