/**
 * Where a request's wall time goes inside a proxy, from its system calls: `perf trace` on warm processes at a
 * fixed rate, each request cut at four calls — the client's request read, the first write to the upstream,
 * the upstream's first read, the first write back to the client. The two spans in the proxy (request side:
 * read → upstream write; response side: upstream read → client write) are its own code, with no system
 * call between their ends, so they tell which side a latency target (first byte, overhead p50) has to be cut
 * on, and an A/B of one side moves less with the machine's noise than a whole-request latency does.
 *
 * Method: the mock upstream on CPU 0, each proxy on CPU 1 in turn (this build, `--baseline REV`, the bare
 * Node.js proxy), in `--rounds` alternating rounds; per proxy `--warm` requests in a closed loop (V8's
 * compiler done, decision 0198), 2 s at the rate, then `perf trace -e read,write,writev,readv` attached for
 * `--seconds` at `--rate`. The gateway runs with the bench's defaults (PGlite in memory, info logs, rate
 * limit off); `--env K=V` (repeatable) adds settings. perf trace lengthens each traced call by a few
 * microseconds, so absolute spans read a little high; the same for every proxy.
 *
 *   npm run bench:timeline -- --stream                       # streamed answers (20 chunks) at 100 req/s
 *   npm run bench:timeline -- --stream --baseline HEAD~1      # A/B of the two spans, 3 rounds
 *
 * Needs perf (`apt-get install -y linux-perf`) and a kernel that lets it read syscall tracepoints.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { missSpec, runAtRate, warmUp } from './lib/loadgen.js';
import { spread } from './lib/stats.js';
import {
  buildsToCompare,
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
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '8' },
    warm: { type: 'string', default: '15000' },
    rounds: { type: 'string', default: '3' },
    stream: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const RATE = Number(opts.rate);
const SECONDS = Number(opts.seconds);
const ROUNDS = Number(opts.rounds);

if (!which('perf')) {
  process.stderr.write('perf is not installed: apt-get install -y linux-perf\n');
  process.exit(2);
}

interface Call {
  t: number; // ms since the trace started
  name: string;
  fd: number;
  ret: number;
}

/** The traced calls of `perf trace` output lines (`t (dur ms): comm/tid name(fd: N, …) = ret`). */
function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  const line = /^\s*([\d.]+) \(\s*[\d.]+ ms\): \S+ (read|readv|write|writev)\(fd: (\d+)[^)]*\)\s+= (-?\d+)/;
  for (const l of text.split('\n')) {
    const m = line.exec(l);
    if (m) calls.push({ t: Number(m[1]), name: m[2] as string, fd: Number(m[3]), ret: Number(m[4]) });
  }
  return calls;
}

/** The sockets of `pid` connected to `port` (the upstream's): their file descriptors. */
function upstreamFds(pid: number, port: string): Set<number> {
  const out = spawnSync('ss', ['-tnp'], { encoding: 'utf8' }).stdout;
  const fds = new Set<number>();
  for (const line of out.split('\n')) {
    if (!line.includes(`:${port} `)) continue;
    for (const m of line.matchAll(/pid=(\d+),fd=(\d+)/g)) if (Number(m[1]) === pid) fds.add(Number(m[2]));
  }
  return fds;
}

interface Spans {
  requests: number;
  requestSide: number[];
  upstream: number[];
  responseSide: number[];
}

/** Cuts the calls into requests: client read → upstream write → upstream read → client write (same fd). */
function spans(calls: Call[], upstream: Set<number>): Spans {
  const out: Spans = { requests: 0, requestSide: [], upstream: [], responseSide: [] };
  const isWrite = (c: Call) => c.name === 'write' || c.name === 'writev';
  const after = (from: number, match: (c: Call) => boolean) => {
    for (let i = from; i < calls.length; i++) if (match(calls[i] as Call)) return i;
    return -1;
  };
  for (let i = 0; i < calls.length; i++) {
    const read = calls[i] as Call;
    // A client's request (an HTTP request line and headers are far longer than 100 bytes).
    if (read.name !== 'read' || upstream.has(read.fd) || read.ret <= 100) continue;
    const j = after(i + 1, (c) => isWrite(c) && upstream.has(c.fd));
    const k = j < 0 ? -1 : after(j + 1, (c) => c.name === 'read' && upstream.has(c.fd) && c.ret > 0);
    const w = k < 0 ? -1 : after(k + 1, (c) => isWrite(c) && c.fd === read.fd);
    if (w < 0) break;
    const [a, b, c, d] = [read, calls[j] as Call, calls[k] as Call, calls[w] as Call];
    if (d.t - a.t > 50) continue; // not one request's calls (another request interleaved, or a stall)
    out.requests++;
    out.requestSide.push((b.t - a.t) * 1000);
    out.upstream.push((c.t - b.t) * 1000);
    out.responseSide.push((d.t - c.t) * 1000);
  }
  return out;
}

async function measure(name: string, proc: Proc, mockPort: string): Promise<Spans> {
  const spec = missSpec(proc.origin, opts.stream);
  await warmUp(spec, Number(opts.warm), { maxMs: 60_000 });
  await runAtRate(spec, { rate: RATE, durationMs: 2000 });
  const out = join(dir, `${name}.trace`);
  const pid = proc.child.pid as number;
  const args = ['trace', '-o', out, '-p', String(pid), '-e', 'read,readv,write,writev'];
  await whileTraced('perf', args, 1000, () => runAtRate(spec, { rate: RATE, durationMs: SECONDS * 1000 }));
  const result = spans(parseTrace(readFileSync(out, 'utf8')), upstreamFds(pid, mockPort));
  process.stderr.write(`[timeline] ${name}: ${result.requests} requests cut\n`);
  return result;
}

mkdirSync(join(REPO_ROOT, 'bench/.tmp'), { recursive: true });
const dir = mkdtempSync(join(REPO_ROOT, 'bench/.tmp/timeline-'));
const builds = buildsToCompare(dir, opts.baseline);
const mock = await startMock('mock', dir, '0', { chunks: 20 });
const mockPort = new URL(mock.origin).port;
const env = { RATE_LIMIT_ENABLED: 'false', ...envPairs(opts.env) };
const targets = [...builds.map(([name]) => name), 'node-bare'];
const results = new Map<string, Spans[]>(targets.map((t) => [t, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating order, so a drift of the machine over a round does not favour one build.
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const name of order) {
      const entry = builds.find(([b]) => b === name)?.[1];
      const proc = entry
        ? await startGateway('gateway', dir, '1', mock.origin, { env, entry })
        : await startBareProxy('node-bare', dir, '1', mock.origin);
      try {
        results.get(name)?.push(await measure(name.replace(/\W+/g, '-'), proc, mockPort));
      } finally {
        proc.child.kill('SIGTERM');
        await new Promise((resolve) => proc.child.once('exit', resolve));
      }
    }
  }
} finally {
  mock.child.kill('SIGTERM');
}

const kind = opts.stream ? 'streamed (20 chunks)' : 'JSON';
console.log(
  `Spans of a ${kind} request at ${RATE} req/s, µs (perf trace, ${SECONDS} s per round, ${ROUNDS} rounds; median of each round)\n`,
);
console.log(
  '| proxy | client read → upstream write | upstream write → upstream read | upstream read → client write |',
);
console.log('| --- | --- | --- | --- |');
const cell = (rounds: Spans[], key: 'requestSide' | 'upstream' | 'responseSide') =>
  rounds.map((r) => (spread(r[key])?.median ?? Number.NaN).toFixed(0)).join(', ');
for (const [name, rounds] of results) {
  console.log(
    `| ${name} | ${cell(rounds, 'requestSide')} | ${cell(rounds, 'upstream')} | ${cell(rounds, 'responseSide')} |`,
  );
}
rmSync(dir, { recursive: true, force: true });
process.exit(0);
