/**
 * The report's plots as inline SVG (no script, no external asset): score distributions (one row of dots per
 * target with its mean), cost against quality (one point per target), and latency (TTFT and total).
 */
import { overallQuality, type ReportModel } from './model.js';

export const PALETTE = [
  '#2563eb',
  '#dc2626',
  '#059669',
  '#d97706',
  '#7c3aed',
  '#0891b2',
  '#db2777',
  '#4b5563',
];
export const colourOf = (i: number): string => PALETTE[i % PALETTE.length] as string;

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Deterministic jitter in [-0.5, 0.5) from an index (no randomness: the same report every time). */
const jitter = (i: number): number => ((i * 0.618_034) % 1) - 0.5;

/** Dots per target for one metric on a 0–1 (or 0–max) axis, with the mean as a bar. */
export function distributionSvg(
  model: ReportModel,
  metric: string,
  scoreOf: (r: ReportModel['records'][number]) => number | null | undefined = (r) =>
    r.scores[metric as keyof typeof r.scores],
): string {
  const targets = model.run.targets;
  const rowH = 34;
  const left = 170;
  const width = 640;
  const plotW = width - left - 40;
  const height = targets.length * rowH + 40;
  const values = targets.map((t) =>
    model.records
      .filter((r) => r.target === t && r.error === null)
      .map(scoreOf)
      .filter((x): x is number => typeof x === 'number'),
  );
  const max = metric.endsWith('_ms') || metric === 'cost_usd' ? Math.max(1e-9, ...values.flat()) : 1;
  const x = (v: number) => left + (v / max) * plotW;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(metric)} distribution per target">`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    parts.push(
      `<line x1="${x(v)}" y1="10" x2="${x(v)}" y2="${height - 25}" stroke="#e5e7eb"/>`,
      `<text x="${x(v)}" y="${height - 10}" font-size="11" text-anchor="middle" fill="#6b7280">${axisLabel(v, metric)}</text>`,
    );
  }
  targets.forEach((t, i) => {
    const cy = 10 + i * rowH + rowH / 2;
    parts.push(
      `<text x="${left - 8}" y="${cy + 4}" font-size="12" text-anchor="end" fill="#111827">${esc(truncate(t, 24))}</text>`,
    );
    const xs = values[i] ?? [];
    xs.forEach((v, j) => {
      parts.push(
        `<circle cx="${x(v).toFixed(1)}" cy="${(cy + jitter(j) * (rowH - 12)).toFixed(1)}" r="3" fill="${colourOf(i)}" fill-opacity="0.45"/>`,
      );
    });
    if (xs.length > 0) {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      parts.push(
        `<line x1="${x(m).toFixed(1)}" y1="${cy - rowH / 2 + 3}" x2="${x(m).toFixed(1)}" y2="${cy + rowH / 2 - 3}" stroke="${colourOf(i)}" stroke-width="3"><title>mean ${m.toFixed(3)}</title></line>`,
      );
    }
  });
  parts.push('</svg>');
  return parts.join('');
}

/** One point per target: mean cost per item (x) against mean quality (y). */
export function costQualitySvg(model: ReportModel): string {
  const width = 640;
  const height = 320;
  const pad = { l: 70, r: 30, t: 20, b: 45 };
  const points = model.summaries.map((s, i) => ({
    label: s.target,
    i,
    cost: s.items - s.errors > 0 ? s.cost_usd / (s.items - s.errors) : 0,
    quality: overallQuality(s),
  }));
  const maxCost = Math.max(1e-9, ...points.map((p) => p.cost)) * 1.1;
  const x = (v: number) => pad.l + (v / maxCost) * (width - pad.l - pad.r);
  const y = (v: number) => height - pad.b - v * (height - pad.t - pad.b);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="cost against quality">`,
  ];
  for (let k = 0; k <= 4; k++) {
    parts.push(
      `<line x1="${pad.l}" y1="${y(k / 4)}" x2="${width - pad.r}" y2="${y(k / 4)}" stroke="#e5e7eb"/>`,
      `<text x="${pad.l - 8}" y="${y(k / 4) + 4}" font-size="11" text-anchor="end" fill="#6b7280">${(k / 4).toFixed(2)}</text>`,
      `<text x="${x((maxCost * k) / 4)}" y="${height - pad.b + 16}" font-size="11" text-anchor="middle" fill="#6b7280">$${((maxCost * k) / 4).toPrecision(2)}</text>`,
    );
  }
  parts.push(
    `<text x="${(pad.l + width - pad.r) / 2}" y="${height - 8}" font-size="12" text-anchor="middle" fill="#374151">mean cost per item (USD)</text>`,
    `<text x="16" y="${(pad.t + height - pad.b) / 2}" font-size="12" text-anchor="middle" fill="#374151" transform="rotate(-90 16 ${(pad.t + height - pad.b) / 2})">mean quality (0–1)</text>`,
  );
  for (const p of points) {
    if (p.quality === null) continue;
    parts.push(
      `<circle cx="${x(p.cost).toFixed(1)}" cy="${y(p.quality).toFixed(1)}" r="7" fill="${colourOf(p.i)}"><title>${esc(p.label)}: quality ${p.quality.toFixed(3)}, $${p.cost.toFixed(6)} per item</title></circle>`,
      // Labels of points in the right half go to their left, so they stay inside the plot.
      x(p.cost) > width / 2
        ? `<text x="${(x(p.cost) - 10).toFixed(1)}" y="${(y(p.quality) - 8).toFixed(1)}" font-size="12" text-anchor="end" fill="#111827">${esc(truncate(p.label, 28))}</text>`
        : `<text x="${(x(p.cost) + 10).toFixed(1)}" y="${(y(p.quality) - 8).toFixed(1)}" font-size="12" fill="#111827">${esc(truncate(p.label, 28))}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

function axisLabel(v: number, metric: string): string {
  if (metric.endsWith('_ms')) return `${Math.round(v)} ms`;
  if (metric === 'cost_usd') return `$${v.toPrecision(2)}`;
  return v.toFixed(2);
}

const truncate = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
