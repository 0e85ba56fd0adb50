/** A uPlot chart that redraws when its data changes and follows its container's width. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  /** Bars instead of a line. */
  bars?: boolean;
  format?: (value: number) => string;
  /** The y axis's tick labels (default `format`): the scale needs fewer digits than a value. */
  tick?: (value: number) => string;
}

interface Props {
  /** Accessible name of the chart (also its visible title). */
  title: string;
  /** x values: unix seconds (`time`) or indexes with `labels`. */
  x: number[];
  series: Array<Series & { values: Array<number | null> }>;
  /**
   * Category labels for the x axis instead of time: `x` is then 0, 1, 2 … and bar i is `labels[i]`. One
   * label per bar, or every 2nd, 5th … one when they do not fit; never a repeated or fractional one.
   */
  labels?: string[];
  /** The legend's name of the x value (default `time`, or `group` with labels). */
  xName?: string;
  height?: number;
}

/** Steps between two labelled bars of a category axis. */
const CATEGORY_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000];

export function Chart({ title, x, series, labels, xName, height = 200 }: Props) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const bars = uPlot.paths.bars?.({ size: [0.6, 60] });
    // The y axis in the series' own unit: uPlot's default rounds sub-cent costs to "0, 0, 0".
    const yFormat = series[0]?.tick ?? series[0]?.format;
    // Room for the longest label (about 7 px a character at the axis font) between two ticks.
    const labelSpace = labels ? Math.max(30, 7 * Math.max(...labels.map((l) => l.length)) + 12) : 0;
    const plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: labels
            ? // Half a bar of room on each side, so the first and last bars are whole.
              { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] }
            : { time: true },
          // Bars stand on zero: a scale fitted to the values would make $6 look like nothing.
          ...(series.every((s) => s.bars)
            ? { y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } }
            : {}),
        },
        axes: [
          labels
            ? {
                stroke: '#555',
                // Ticks only on whole indexes (a bar each), as many as fit: every bar, every 2nd, 5th …
                incrs: CATEGORY_STEPS,
                space: labelSpace,
                values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? (labels[t] ?? '') : '')),
              }
            : { stroke: '#555' },
          yFormat
            ? { stroke: '#555', size: 104, values: (_u, ticks) => ticks.map((t) => yFormat(t)) }
            : { stroke: '#555', size: 60 },
        ],
        series: [
          {
            label: xName ?? (labels ? 'group' : 'time'),
            value: labels ? (_u, v) => labels[v] ?? '' : undefined,
          },
          ...series.map(({ format, ...s }) => ({
            label: s.label,
            stroke: s.color,
            fill: s.bars ? s.color : `${s.color}22`,
            width: s.bars ? 0 : 2,
            // A lone bucket with traffic still shows; empty buckets (null) do not break the line.
            spanGaps: true,
            points: { show: !s.bars, size: 5 },
            ...(s.bars && bars ? { paths: bars, points: { show: false } } : {}),
            ...(format ? { value: (_u: uPlot, v: number | null) => (v === null ? '—' : format(v)) } : {}),
          })),
        ],
      },
      [x, ...series.map((s) => s.values)] as uPlot.AlignedData,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [x, series, labels, xName, height]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={title} />
    </figure>
  );
}
