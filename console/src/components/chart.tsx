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
}

interface Props {
  /** Accessible name of the chart (also its visible title). */
  title: string;
  /** x values: unix seconds (`time`) or indexes with `labels`. */
  x: number[];
  series: Array<Series & { values: Array<number | null> }>;
  /** Category labels for the x axis (index → label) instead of time. */
  labels?: string[];
  height?: number;
}

export function Chart({ title, x, series, labels, height = 200 }: Props) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const bars = uPlot.paths.bars?.({ size: [0.6, 60] });
    // The y axis in the series' own unit: uPlot's default rounds sub-cent costs to "0, 0, 0".
    const yFormat = series[0]?.format;
    const plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: labels === undefined } },
        axes: [
          labels
            ? { values: (_u, ticks) => ticks.map((t) => labels[Math.round(t)] ?? ''), stroke: '#555' }
            : { stroke: '#555' },
          yFormat
            ? { stroke: '#555', size: 104, values: (_u, ticks) => ticks.map((t) => yFormat(t)) }
            : { stroke: '#555', size: 60 },
        ],
        series: [
          { label: labels ? 'group' : 'time', value: labels ? (_u, v) => labels[v] ?? '' : undefined },
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
  }, [x, series, labels, height]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={title} />
    </figure>
  );
}
