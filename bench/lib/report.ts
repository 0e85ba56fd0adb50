/**
 * Turns the benchmark's JSON result into Markdown: one table per point (median over repeats with min–max),
 * overheads against the direct baseline of the same repeat, ratios against the peers, and the targets of
 * DESIGN §14 marked met / not met / not measured.
 */
import type { LoadResult } from './loadgen.js';
import { fmt, type Spread, spread } from './stats.js';

interface M {
  point: string;
  target: string;
  repeat: number;
  result: LoadResult;
  cpuUsPerRequest: number | null;
  rssPeakMiB: number | null;
  /** semantic-load points: the lookups beside, skipped lookups, the pool threads' CPU. */
  semantic?: {
    lookups: LoadResult | null;
    counters: { skipped: Record<string, number>; embedderErrors: number; embeddings: number } | null;
    poolCpuSeconds: number | null;
  };
}

export interface BenchResult {
  startedAt: string;
  finishedAt: string;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  targets: Array<{
    name: string;
    description: string;
    unavailable: string | null;
    rssIdleMiB: number | null;
    /**
     * Lowest RSS over 110 s without traffic (40 s before 2026-12-06); null when the run did not measure
     * memory, absent in results of older runs.
     */
    rssSettledMiB?: number | null;
    rssAfterMiB: number | null;
  }>;
  points: Array<{
    id: string;
    group: string;
    label: string;
    targets: string[];
    load: { kind: string; rate?: number; connections?: number };
    stream: boolean;
    semantic?: { target: string; lookupRate: number | null };
  }>;
  measurements: M[];
  /** semantic-load: where the embedding pool's threads ran. */
  semanticPinning?: { gatewayCpus: string | null; embedderCpus: string | null; note: string } | null;
  /** coldstart: per configuration, requests of the first minute slower than upstream p50 + 50 ms. */
  coldStarts?: Array<{ target: string; slower: number; thresholdMs: number; result: LoadResult }>;
}

type Getter = (m: M) => number | null | undefined;

export class Results {
  constructor(readonly data: BenchResult) {}
  of(point: string, target: string): M[] {
    return this.data.measurements.filter((m) => m.point === point && m.target === target);
  }
  stat(point: string, target: string, get: Getter): Spread | null {
    return spread(this.of(point, target).map(get));
  }
  /** Per-repeat difference target − baseline, then the spread of those differences. */
  delta(point: string, target: string, baseline: string, get: Getter): Spread | null {
    const base = new Map(this.of(point, baseline).map((m) => [m.repeat, get(m)]));
    return spread(
      this.of(point, target).map((m) => {
        const a = get(m);
        const b = base.get(m.repeat);
        return typeof a === 'number' && typeof b === 'number' ? a - b : null;
      }),
    );
  }
  /** Per-repeat difference of one target between two points (`point` − `basePoint`), then the spread. */
  across(point: string, basePoint: string, target: string, get: Getter): Spread | null {
    const base = new Map(this.of(basePoint, target).map((m) => [m.repeat, get(m)]));
    return spread(
      this.of(point, target).map((m) => {
        const a = get(m);
        const b = base.get(m.repeat);
        return typeof a === 'number' && typeof b === 'number' ? a - b : null;
      }),
    );
  }
  unavailable(target: string): string | null | undefined {
    return this.data.targets.find((t) => t.name === target)?.unavailable;
  }
}

const p50: Getter = (m) => m.result.latencyMs.p50;
const p99: Getter = (m) => m.result.latencyMs.p99;
const c99: Getter = (m) => m.result.correctedMs?.p99;
const tput: Getter = (m) => m.result.throughput;
const cpu: Getter = (m) => m.cpuUsPerRequest;
const rss: Getter = (m) => m.rssPeakMiB;
const errRate: Getter = (m) =>
  m.result.sent > 0 ? (m.result.errors / Math.max(1, m.result.completed)) * 100 : null;
const t50: Getter = (m) => m.result.ttfbMs?.p50;
const t99: Getter = (m) => m.result.ttfbMs?.p99;

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}
function table(head: string[], rows: string[][]): string[] {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)];
}

export function renderMarkdown(data: BenchResult): string {
  const r = new Results(data);
  const lines: string[] = [];
  const m = data.machine as {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    kernel: string;
    node: string;
    loadavgStart: number[];
    loadavgEnd: number[];
    pinning: unknown;
    services?: string | null;
  };
  const s = data.settings as {
    repeats: number;
    durationS: number;
    warmupS: number;
    jitWarmupRequests?: number;
    parkNeighbours?: boolean;
    quick: boolean;
  };
  lines.push(`# Benchmark ${data.startedAt}`, '');
  lines.push(
    `Machine: ${m.cpus} CPU (${m.cpuModel}), ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}. ` +
      `Load average at start ${m.loadavgStart.join(' / ')}, at end ${m.loadavgEnd.join(' / ')}. ` +
      `Pinning: ${m.pinning ? JSON.stringify(m.pinning) : 'none'}.` +
      (m.services ? ` Services: ${m.services}.` : ''),
    '',
    (s.jitWarmupRequests
      ? `Before the first point, ${s.jitWarmupRequests} requests (at most 60 s) of closed-loop load per target and request kind (JIT warm-up). `
      : 'No JIT warm-up before the first point: its first repeat includes V8 compiling the hot code. ') +
      `${s.repeats} repeat(s) of ${s.durationS} s per point after ${s.warmupS} s warm-up; targets interleaved, order rotated each repeat. ` +
      (s.parkNeighbours
        ? 'While a target is measured (warm-up included), every other proxy process is stopped (SIGSTOP), so none wakes on the proxy CPU. '
        : s.parkNeighbours === false
          ? 'Every proxy process stays running while the others are measured (`--park off`): idle neighbours wake on the proxy CPU. '
          : '') +
      'Cells: median (min–max over repeats). Latency in ms, service time from the actual send; "corrected" is from the due time of an open-loop schedule. ' +
      "Overhead = target − direct in the same repeat. CPU = the proxy process tree's utime+stime per completed request (µs).",
    '',
  );
  if (s.quick) lines.push('**Quick run (smoke): too short to quote.**', '');

  lines.push('## Targets', '');
  lines.push(
    ...table(
      ['target', 'what', 'status', 'RSS 1 s after start MiB', 'RSS idle (settled) MiB', 'RSS after load MiB'],
      data.targets.map((t) => [
        t.name,
        t.description,
        t.unavailable ? `not available on this build: ${t.unavailable.replaceAll('|', '/')}` : 'measured',
        t.rssIdleMiB?.toFixed(1) ?? '—',
        t.rssSettledMiB?.toFixed(1) ?? '—',
        t.rssAfterMiB?.toFixed(1) ?? '—',
      ]),
    ),
    '',
  );

  for (const point of data.points) {
    const names = point.targets.filter((t) => r.of(point.id, t).length > 0);
    const missing = point.targets.filter((t) => r.of(point.id, t).length === 0);
    lines.push(`## ${point.label} (\`${point.id}\`)`, '');
    if (names.length === 0) {
      lines.push('Not measured: no target of this point is available on this build.', '');
      continue;
    }
    const hasDirect = names.includes('direct');
    if (point.stream) {
      lines.push(
        ...table(
          [
            'target',
            'req/s',
            'TTFB p50',
            'TTFB p99',
            'TTFB overhead p50',
            'total p50',
            'total p99',
            'total overhead p50',
            'CPU µs/req',
            'RSS peak MiB',
            'errors %',
          ],
          names.map((t) => [
            t,
            fmt(r.stat(point.id, t, tput), 0),
            fmt(r.stat(point.id, t, t50)),
            fmt(r.stat(point.id, t, t99)),
            hasDirect && t !== 'direct' ? fmt(r.delta(point.id, t, 'direct', t50)) : '—',
            fmt(r.stat(point.id, t, p50)),
            fmt(r.stat(point.id, t, p99)),
            hasDirect && t !== 'direct' ? fmt(r.delta(point.id, t, 'direct', p50)) : '—',
            fmt(r.stat(point.id, t, cpu), 0),
            fmt(r.stat(point.id, t, rss), 0),
            fmt(r.stat(point.id, t, errRate), 2),
          ]),
        ),
      );
    } else if (point.load.kind === 'closed') {
      lines.push(
        ...table(
          [
            'target',
            'req/s',
            'p50',
            'p99',
            'CPU µs/req',
            'req/s per core (1e6 ÷ CPU µs)',
            'RSS peak MiB',
            'errors %',
          ],
          names.map((t) => [
            t,
            fmt(r.stat(point.id, t, tput), 0),
            fmt(r.stat(point.id, t, p50)),
            fmt(r.stat(point.id, t, p99)),
            fmt(r.stat(point.id, t, cpu), 0),
            fmt(
              r.stat(point.id, t, (x) => (x.cpuUsPerRequest ? 1e6 / x.cpuUsPerRequest : null)),
              0,
            ),
            fmt(r.stat(point.id, t, rss), 0),
            fmt(r.stat(point.id, t, errRate), 2),
          ]),
        ),
      );
    } else {
      const cacheCol = point.id.startsWith('cache') || point.id.startsWith('semantic');
      lines.push(
        ...table(
          [
            'target',
            'req/s',
            'p50',
            'p99',
            'p99 corrected',
            'overhead p50',
            'overhead p99',
            'CPU µs/req',
            'RSS peak MiB',
            'errors %',
            ...(cacheCol ? ['X-Cache-Status'] : []),
          ],
          names.map((t) => [
            t,
            fmt(r.stat(point.id, t, tput), 0),
            fmt(r.stat(point.id, t, p50)),
            fmt(r.stat(point.id, t, p99)),
            fmt(r.stat(point.id, t, c99)),
            hasDirect && t !== 'direct' ? fmt(r.delta(point.id, t, 'direct', p50)) : '—',
            hasDirect && t !== 'direct' ? fmt(r.delta(point.id, t, 'direct', p99)) : '—',
            fmt(r.stat(point.id, t, cpu), 0),
            fmt(r.stat(point.id, t, rss), 0),
            fmt(r.stat(point.id, t, errRate), 2),
            ...(cacheCol
              ? [
                  Object.entries(r.of(point.id, t)[0]?.result.cache ?? {})
                    .map(([k, v]) => `${k}:${v}`)
                    .join(' '),
                ]
              : []),
          ]),
        ),
      );
    }
    if (missing.length > 0) {
      lines.push(
        '',
        `Not available on this build: ${missing.map((t) => `${t} (${r.unavailable(t) ?? 'not started'})`).join('; ')}.`,
      );
    }
    lines.push('');
  }

  lines.push(...semanticLoadSection(r));
  lines.push('## Ratios and targets (DESIGN §14)', '');
  lines.push(...targetsTable(r), '');
  return `${lines.join('\n')}\n`;
}

/** The alone and beside-lookups points of the semantic-load group, and the gateway measured in them. */
function semanticLoadPoints(
  r: Results,
): { alone: string; withLookups: string; target: string; rate: number } | null {
  const pts = r.data.points.filter((p) => p.group === 'semantic-load' && p.semantic);
  const alone = pts.find((p) => p.semantic?.lookupRate === null);
  const withLookups = pts.find((p) => (p.semantic?.lookupRate ?? 0) > 0);
  if (!alone || !withLookups?.semantic) return null;
  return {
    alone: alone.id,
    withLookups: withLookups.id,
    target: withLookups.semantic.target,
    rate: withLookups.semantic.lookupRate ?? 0,
  };
}

const skippedOf =
  (reasons: string[]): Getter =>
  (m) =>
    m.semantic?.counters ? reasons.reduce((n, k) => n + (m.semantic?.counters?.skipped[k] ?? 0), 0) : null;
const SATURATED = skippedOf(['saturated']);
const OTHER_SKIPS = skippedOf(['loading', 'unavailable']);

/** Misses alone vs beside the lookups, side by side, with the pool's own figures (decision 0159). */
function semanticLoadSection(r: Results): string[] {
  const sl = semanticLoadPoints(r);
  if (!sl || r.of(sl.withLookups, sl.target).length === 0) return [];
  const { alone, withLookups: w, target } = sl;
  const both = (label: string, t: string, get: Getter, digits = 3): string[] => [
    label,
    fmt(r.stat(alone, t, get), digits),
    fmt(r.stat(w, t, get), digits),
    fmt(r.across(w, alone, t, get), digits),
  ];
  const lookups =
    (get: Getter): Getter =>
    (m) =>
      m.semantic?.lookups ? get({ ...m, result: m.semantic.lookups }) : null;
  const cacheStatus = r
    .of(w, target)
    .map((m) =>
      Object.entries(m.semantic?.lookups?.cache ?? {})
        .map(([k, v]) => `${k}:${v}`)
        .join(' '),
    )
    .join('; ');
  const pin = r.data.semanticPinning;
  return [
    '## Semantic lookups beside cache misses (`semantic-load`)',
    '',
    `\`${target}\`: ${pin ? `event loop on CPU ${pin.gatewayCpus ?? 'any'}, embedding pool on CPU ${pin.embedderCpus ?? 'any'} (${pin.note})` : 'pool not pinned'}. ` +
      `The lookups (${sl.rate}/s, distinct paraphrases at temperature 0: each one misses the exact cache and is embedded) go to the gateway all through the second column, also while \`direct\` is measured: \`direct\`'s difference is what the lookups cost the load CPU (upstream, load generator and the pinned pool share it). ` +
      'Difference = with − alone in the same repeat; skips and pool CPU are over the measured window.',
    '',
    ...table(
      ['', 'misses alone', `beside ${sl.rate} lookups/s`, 'difference (median of repeats)'],
      [
        both(`${target}: cache-miss p50 ms`, target, p50),
        both(`${target}: cache-miss p99 ms`, target, p99),
        both(`${target}: CPU µs per miss (pool threads included)`, target, cpu, 0),
        both('direct: p50 ms (control)', 'direct', p50),
        both('direct: p99 ms (control)', 'direct', p99),
        both('lookups: answered per s', target, lookups(tput), 1),
        both('lookups: p50 ms', target, lookups(p50)),
        both('lookups: p99 ms', target, lookups(p99)),
        both(
          'skipped, pool saturated (lookups, and the writes of lookups without a vector)',
          target,
          SATURATED,
          0,
        ),
        both('skipped, pool loading or down', target, OTHER_SKIPS, 0),
        both(
          'embeddings past the bounded wait or failed (lookup went on as a miss)',
          target,
          (m) => m.semantic?.counters?.embedderErrors,
          0,
        ),
        both('embeddings completed by the pool', target, (m) => m.semantic?.counters?.embeddings, 0),
        both('pool threads: CPU s over the window', target, (m) => m.semantic?.poolCpuSeconds, 2),
      ],
    ),
    '',
    `Lookups' X-Cache-Status per repeat: ${cacheStatus || '—'}.`,
    '',
  ];
}

function median(s: Spread | null): number | null {
  return s ? s.median : null;
}

/** The §14 goals, each with the measured value and met / not met / not measured. */
export function targetsTable(r: Results): string[] {
  const pts = r.data.points.map((p) => p.id);
  const rateId = pts.find((p) => p === 'overhead@1000') ?? pts.find((p) => p.startsWith('overhead@'));
  const maxId = pts.find((p) => p === 'max@64') ?? pts.find((p) => p.startsWith('max@'));
  const streamId = pts.find((p) => p.startsWith('stream@'));
  const cacheId = pts.find((p) => p.startsWith('cache@'));
  const rows: string[][] = [];
  const check = (goal: string, value: number | null, ok: (v: number) => boolean, unit: string, note = '') => {
    rows.push([
      goal,
      value === null ? '—' : `${value.toFixed(3)} ${unit}`,
      value === null ? 'not measured' : ok(value) ? 'met' : '**not met**',
      note,
    ]);
  };
  const prod = r.data.measurements.some((m) => m.target === 'ours-prod') ? 'ours-prod' : 'ours';
  const prodNote =
    prod === 'ours-prod' ? 'auth + rate limit + accounting on' : 'features not on this build: defaults';
  if (rateId) {
    check(
      `overhead p50 < 0.3 ms (${rateId})`,
      median(r.delta(rateId, prod, 'direct', p50)),
      (v) => v < 0.3,
      'ms',
      prodNote,
    );
    check(
      `overhead p99 < 1 ms (${rateId})`,
      median(r.delta(rateId, prod, 'direct', p99)),
      (v) => v < 1,
      'ms',
      prodNote,
    );
    const nginx = median(r.delta(rateId, 'nginx', 'direct', p50));
    const ours = median(r.delta(rateId, prod, 'direct', p50));
    rows.push([
      'overhead vs nginx floor (p50)',
      ours !== null && nginx !== null ? `${ours.toFixed(3)} vs ${nginx.toFixed(3)} ms` : '—',
      'info',
      '',
    ]);
  }
  if (maxId) {
    const ourCpu = median(r.stat(maxId, prod, cpu));
    const pkCpu = median(r.stat(maxId, 'portkey', cpu));
    check('CPU per request ≤ 150 µs', ourCpu, (v) => v <= 150, 'µs', `${maxId}, ${prodNote}`);
    const ratio = ourCpu && pkCpu ? pkCpu / ourCpu : null;
    check(
      'one core’s throughput ≥ 6× Portkey’s (issue 14)',
      ratio,
      (v) => v >= 6,
      '×',
      ratio !== null
        ? `Portkey ${pkCpu?.toFixed(0)} µs/req vs ours ${ourCpu?.toFixed(0)}`
        : 'Portkey not measured',
    );
    const ourT = median(r.stat(maxId, prod, tput));
    const pkT = median(r.stat(maxId, 'portkey', tput));
    rows.push([
      `max throughput ours ÷ Portkey (${maxId})`,
      ourT && pkT ? `${(ourT / pkT).toFixed(2)} ×` : '—',
      'info',
      ourT && pkT
        ? `${ourT.toFixed(0)} vs ${pkT.toFixed(0)} req/s (load generator and upstream share one CPU)`
        : '',
    ]);
  }
  if (cacheId) {
    check(
      'exact-cache hit p99 < 1 ms (memory)',
      median(r.stat(cacheId, 'ours-cache-memory', p99)),
      (v) => v < 1,
      'ms',
    );
    check(
      'exact-cache hit p99 < 2 ms (Redis)',
      median(r.stat(cacheId, 'ours-cache-redis', p99)),
      (v) => v < 2,
      'ms',
    );
  }
  if (pts.includes('semantic@100'))
    check(
      'semantic lookup p99 < 50 ms',
      median(r.stat('semantic@100', 'ours-semantic', p99)),
      (v) => v < 50,
      'ms',
    );
  if (streamId) {
    // What users run (`npm start`, compiled) when the point measured it; the tsx build otherwise.
    const streamer =
      ['prod-compiled', 'ours-compiled', 'ours'].find((t) => r.of(streamId, t).length > 0) ?? 'ours';
    check(
      'streaming first byte within 0.5 ms of direct (TTFB p50)',
      median(r.delta(streamId, streamer, 'direct', t50)),
      (v) => v <= 0.5,
      'ms',
      `${streamId}, ${streamer}`,
    );
  }
  const sl = semanticLoadPoints(r);
  if (sl) {
    const pin = r.data.semanticPinning;
    check(
      `cache-miss p50 within +0.2 ms while ${sl.rate} semantic lookups/s run (embedding pool on its own core)`,
      median(r.across(sl.withLookups, sl.alone, sl.target, p50)),
      (v) => v <= 0.2,
      'ms',
      `${sl.target}; ${pin ? `pool on CPU ${pin.embedderCpus ?? 'any'}, event loop on CPU ${pin.gatewayCpus ?? 'any'}` : 'pool not pinned'}; direct's own change ${fmt(r.across(sl.withLookups, sl.alone, 'direct', p50))} ms`,
    );
    const saturated = spread(r.of(sl.withLookups, sl.target).map(SATURATED));
    const sent = spread(r.of(sl.withLookups, sl.target).map((m) => m.semantic?.lookups?.sent));
    rows.push([
      'semantic lookups skipped because the pool was saturated (counted, never queued)',
      saturated ? `${fmt(saturated, 0)} per window (${fmt(sent, 0)} lookups sent)` : '—',
      'info',
      `llm_semantic_lookups_skipped_total{reason="saturated"} (counts a lookup's write too when the lookup got no vector); past the bounded wait: ${fmt(spread(r.of(sl.withLookups, sl.target).map((m) => m.semantic?.counters?.embedderErrors)), 0)}`,
    ]);
  }
  for (const c of r.data.coldStarts ?? [])
    rows.push([
      `no request in the first minute after /health/ready slower than upstream + 50 ms (${c.target}${c.result.durationS < 60 ? `, measured over ${c.result.durationS} s only` : ''})`,
      `${c.slower} of ${c.result.completed} slower than ${c.thresholdMs.toFixed(1)} ms; max ${c.result.latencyMs.max} ms`,
      c.slower === 0 ? 'met' : '**not met**',
      'see "Cold start" below',
    ]);
  // Idle = settled: the lowest RSS over 110 s without traffic, watched when the memory group runs (null
  // otherwise); 1 s after start is in the targets table (decision 0180). Older result files have no
  // settled value (undefined): their 1 s reading is checked.
  const prodTarget = r.data.targets.find((t) => t.name === prod);
  const idle =
    prodTarget?.rssSettledMiB === undefined ? (prodTarget?.rssIdleMiB ?? null) : prodTarget.rssSettledMiB;
  check('RSS idle (settled) ≤ 120 MiB (PostgreSQL)', idle, (v) => v <= 120, 'MiB', prod);
  const peak = spread(r.data.measurements.filter((x) => x.target === prod).map(rss));
  check('RSS peak under load ≤ 160 MiB (PostgreSQL)', peak ? peak.max : null, (v) => v <= 160, 'MiB', prod);
  const pglitePeak = spread(r.data.measurements.filter((x) => x.target === 'ours-pglite').map(rss));
  check(
    'RSS peak ≤ 250 MiB with the embedded PGlite default',
    pglitePeak ? pglitePeak.max : null,
    (v) => v <= 250,
    'MiB',
    'ours-pglite',
  );
  return table(['goal', 'measured (median)', 'result', 'note'], rows);
}
