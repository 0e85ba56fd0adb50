/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, or `npm run bench -- --cpu-prof`): self time by function
 * and by module (package or source file), so the biggest per-request costs stand out.
 *
 *   node --import tsx bench/profile-summary.ts bench/.tmp/<run>/cpu-prof/*.cpuprofile [--top 30] [--skip-ms 8000]
 *
 * `--skip-ms` leaves out the first milliseconds (start-up: module loading), so what remains is the load;
 * `--until-ms` ends the window (e.g. the first seconds after a cold start: `--skip-ms 1800 --until-ms 3000`).
 * Also prints inclusive ("total") time of the gateway's own functions (src/).
 *
 * A gap between two samples longer than `--max-gap-ms` (default 100; V8 samples every millisecond or so,
 * through garbage collection too) is time the process did not run: `npm run bench` stops the other proxies
 * while one is measured (decision 0199), and V8 would charge the whole stop to the sample after it. Such
 * gaps are left out and their total is printed.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  startTime: number;
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  options: {
    top: { type: 'string', default: '30' },
    'skip-ms': { type: 'string', default: '0' },
    'until-ms': { type: 'string' },
    'max-gap-ms': { type: 'string', default: '100' },
  },
  allowPositionals: true,
});
const top = Number(values.top);
const maxGapUs = Number(values['max-gap-ms']) * 1000;

function moduleOf(url: string): string {
  if (!url) return '(native / idle / gc)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url;
  // Sources through tsx (src/…) and the compiled build (dist/…, or a bench build under bench/.tmp).
  const src = Math.max(url.lastIndexOf('/src/'), url.lastIndexOf('/dist/'));
  return src >= 0 ? url.slice(src + 1) : url;
}

/** A frame of the gateway's own code, from the sources or the compiled build. */
function isGateway(url: string): boolean {
  return !url.includes('node_modules/') && (url.includes('/src/') || url.includes('/dist/'));
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const skipUs = Number(values['skip-ms']) * 1000;
  const untilUs =
    values['until-ms'] === undefined ? Number.POSITIVE_INFINITY : Number(values['until-ms']) * 1000;
  let t = 0;
  let stoppedUs = 0;
  let gaps = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t < skipUs || t > untilUs) continue;
    if (delta > maxGapUs) {
      stoppedUs += delta;
      gaps++;
      continue;
    }
    const id = profile.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + delta);
  }
  // Inclusive time: a node's self time plus its descendants'.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame;
      if (!f || !isGateway(f.url)) continue;
      const key = `${f.functionName || '(anonymous)'} ${moduleOf(f.url)}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  let total = 0;
  let idle = 0;
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    total += us;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const fn = `${functionName || '(anonymous)'} ${moduleOf(url)}:${lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const mod = functionName === '(garbage collector)' ? '(garbage collector)' : moduleOf(url);
    byModule.set(mod, (byModule.get(mod) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)} %`;
  process.stdout.write(
    `\n${file}\n  busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s (idle excluded below)` +
      (gaps > 0
        ? `; ${(stoppedUs / 1e6).toFixed(2)} s in ${gaps} gaps over ${maxGapUs / 1000} ms left out (process stopped)`
        : '') +
      '\n',
  );
  process.stdout.write('\n  by module (self time)\n');
  for (const [m, us] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`  ${pct(us)}  ${m}\n`);
  }
  process.stdout.write('\n  by function (self time)\n');
  for (const [f, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    if (f.startsWith('(idle)')) continue;
    process.stdout.write(`  ${pct(us)}  ${f}\n`);
  }
  process.stdout.write('\n  gateway functions (inclusive time)\n');
  for (const [f, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`  ${pct(us)}  ${f}\n`);
  }
}
