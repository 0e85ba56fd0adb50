/**
 * System calls per request at a fixed rate, on warm processes: the compiled gateway beside the bare Node.js
 * proxy (bench/lib/bare-proxy.ts). Tells whether a per-request cost at low rates is wake-ups, timers and
 * thread hand-offs (system calls the bare proxy does not make) or the process's own code.
 *
 * Method: the mock upstream on CPU 0, each proxy on CPU 1 in turn; `--warm` requests in a closed loop (V8's
 * compiler done, decision 0198) and 2 s at the rate, then `strace -c -f` attached for `--seconds` at
 * `--rate` (cache misses at temperature 0.7). strace slows every call it sees, so latencies under it are
 * not the proxy's; the counts are. The gateway runs with the bench's defaults (no database, info logs, rate
 * limit off); `--env K=V` (repeatable) adds settings, e.g. `--env USAGE_ENABLED=true`.
 *
 *   npm run bench:syscalls                          # 500 req/s, 8 s
 *   npm run bench:syscalls -- --rate 1000 --stream  # streamed answers (20 chunks)
 *
 * Needs strace (`apt-get install -y strace`).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { missSpec, runAtRate, warmUp } from './lib/loadgen.js';
import {
  buildGateway,
  envPairs,
  type Proc,
  REPO_ROOT,
  startBareProxy,
  startGateway,
  startMock,
  which,
  whileTraced,
} from './lib/targets.js';

const { values: opts } = parseArgs({
  options: {
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '8' },
    warm: { type: 'string', default: '15000' },
    stream: { type: 'boolean', default: false },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const RATE = Number(opts.rate);
const SECONDS = Number(opts.seconds);
const WARM = Number(opts.warm);

if (!which('strace')) {
  process.stderr.write('strace is not installed: apt-get install -y strace\n');
  process.exit(2);
}

/** `strace -c` summary lines → calls per syscall name. */
function parseSummary(text: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors,] syscall
    if (cols.length < 5 || !/^\d/.test(cols[0] ?? '') || !/^\d+$/.test(cols[3] ?? '')) continue;
    const name = cols[cols.length - 1] as string;
    if (name !== 'total') calls.set(name, Number(cols[3]));
  }
  return calls;
}

async function measure(name: string, proc: Proc): Promise<{ ok: number; calls: Map<string, number> }> {
  const spec = missSpec(proc.origin, opts.stream);
  const warmed = await warmUp(spec, WARM, { maxMs: 60_000 });
  await runAtRate(spec, { rate: RATE, durationMs: 2000 });
  const out = join(dir, `${name}.strace`);
  const result = await whileTraced('strace', ['-c', '-f', '-o', out, '-p', String(proc.child.pid)], 500, () =>
    runAtRate(spec, { rate: RATE, durationMs: SECONDS * 1000 }),
  );
  process.stderr.write(`[syscalls] ${name}: warmed with ${warmed} requests, ${result.ok} measured\n`);
  return { ok: result.ok, calls: parseSummary(readFileSync(out, 'utf8')) };
}

// Inside the repository: the compiled build resolves its packages from node_modules.
mkdirSync(join(REPO_ROOT, 'bench/.tmp'), { recursive: true });
const dir = mkdtempSync(join(REPO_ROOT, 'bench/.tmp/syscalls-'));
const built = buildGateway(join(dir, 'dist'));
if ('error' in built) throw new Error(built.error);
const mock = await startMock('mock', dir, '0', { chunks: 20 });
const env = { RATE_LIMIT_ENABLED: 'false', ...envPairs(opts.env) };
const results: Array<{ name: string; ok: number; calls: Map<string, number> }> = [];
try {
  for (const name of ['gateway', 'node-bare']) {
    const proc =
      name === 'node-bare'
        ? await startBareProxy(name, dir, '1', mock.origin)
        : await startGateway(name, dir, '1', mock.origin, { env, entry: built.entry });
    try {
      results.push({ name, ...(await measure(name, proc)) });
    } finally {
      proc.child.kill('SIGTERM');
    }
  }
} finally {
  mock.child.kill('SIGTERM');
}

const names = [...new Set(results.flatMap((r) => [...r.calls.keys()]))].sort(
  (a, b) =>
    Math.max(...results.map((r) => (r.calls.get(b) ?? 0) / r.ok)) -
    Math.max(...results.map((r) => (r.calls.get(a) ?? 0) / r.ok)),
);
const kind = opts.stream ? 'streamed' : 'JSON';
console.log(
  `System calls per ${kind} request at ${RATE} req/s (strace -c -f, ${SECONDS} s, warm processes)\n`,
);
console.log(`| syscall | ${results.map((r) => r.name).join(' | ')} |`);
console.log(`| --- | ${results.map(() => '---').join(' | ')} |`);
const perRequest = (r: (typeof results)[number], count: number) => (count / r.ok).toFixed(2);
for (const name of names) {
  const cells = results.map((r) => perRequest(r, r.calls.get(name) ?? 0));
  if (cells.some((c) => c !== '0.00')) console.log(`| ${name} | ${cells.join(' | ')} |`);
}
const totals = results.map((r) =>
  perRequest(
    r,
    [...r.calls.values()].reduce((a, b) => a + b, 0),
  ),
);
console.log(`| **total** | ${totals.join(' | ')} |`);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
