/**
 * CPU time and resident memory of a process and its descendants (node:cluster workers, nginx workers),
 * read from /proc. Linux only; elsewhere every figure is null.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // getconf missing: Linux's USER_HZ is 100 almost everywhere.
}

export const procAvailable = existsSync('/proc/self/stat');

/** The pid and every descendant's pid. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    let tasks: string[] = [];
    try {
      tasks = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      return;
    }
    for (const child of tasks) walk(Number(child));
  };
  walk(pid);
  return out;
}

/** utime + stime of one process in seconds, null when it is gone. */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return null;
  }
}

function rssMiB(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** CPU seconds of the whole tree (processes that already exited are not counted). */
export function treeCpuSeconds(pid: number): number | null {
  if (!procAvailable) return null;
  let total = 0;
  for (const p of processTree(pid)) total += cpuSeconds(p) ?? 0;
  return total;
}

/** RSS of the whole tree in MiB. */
export function treeRssMiB(pid: number): number | null {
  if (!procAvailable) return null;
  let total = 0;
  for (const p of processTree(pid)) total += rssMiB(p) ?? 0;
  return Math.round(total * 10) / 10;
}

/** Samples the tree's RSS every `everyMs` until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 200): { stop(): number | null } {
  let peak: number | null = treeRssMiB(pid);
  const timer = setInterval(() => {
    const now = treeRssMiB(pid);
    if (now !== null && (peak === null || now > peak)) peak = now;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const now = treeRssMiB(pid);
      if (now !== null && (peak === null || now > peak)) peak = now;
      return peak;
    },
  };
}
