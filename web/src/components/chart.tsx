import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: Array<number | null>;
  color: string;
  /** Drawn as a step line (data age) rather than points joined. */
  stepped?: boolean;
  dash?: number[];
}

/**
 * A time-series chart (uPlot, bundled: no CDN) that follows its container's
 * width. `x` is seconds since the epoch; `format` labels the y axis.
 */
export function Chart({
  title,
  x,
  series,
  format,
  axis = format,
  height = 220,
}: {
  title: string;
  x: number[];
  series: Series[];
  format: (v: number) => string;
  axis?: (v: number) => string;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || x.length === 0) return;
    const plot = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        axes: [{}, { values: (_u, ticks) => ticks.map(axis), size: 90 }],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            ...(s.dash ? { dash: s.dash } : {}),
            points: { show: x.length < 60 },
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : format(v)),
            ...(s.stepped ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
          })),
        ],
      },
      [x, ...series.map((s) => s.values)],
      el,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height }));
    ro.observe(el);
    return () => (ro.disconnect(), plot.destroy());
  }, [x, series, height, format, axis]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {x.length === 0 ? <p class="muted">No data yet.</p> : <div ref={box} role="img" aria-label={title} />}
    </figure>
  );
}
