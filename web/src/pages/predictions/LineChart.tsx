// A small uPlot line chart for this page: several series on one x axis (time or
// horizon minutes), optionally one shaded band between two of them.
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
  dash?: number[];
  /** A band edge: drawn thin, its legend value hidden. */
  edge?: boolean;
}

export interface LineChartProps {
  x: number[];
  series: ChartSeries[];
  /** Indexes (into `series`) of the upper and lower edge of a shaded band. */
  band?: { upper: number; lower: number; fill: string };
  xTime?: boolean;
  formatX: (value: number) => string;
  formatY: (value: number) => string;
  height?: number;
  /** What the chart shows, for screen readers (the same figures are in a table next to it). */
  label: string;
  testId?: string;
}

const AXIS_COLOR = '#9aa4b2';
const GRID_COLOR = 'rgba(255, 255, 255, 0.07)';

function options(props: LineChartProps, width: number): uPlot.Options {
  const axis: uPlot.Axis = {
    stroke: AXIS_COLOR,
    grid: { stroke: GRID_COLOR, width: 1 },
    ticks: { stroke: GRID_COLOR, width: 1 },
    font: '11px system-ui, sans-serif',
  };
  return {
    width,
    height: props.height ?? 200,
    ...(props.xTime ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') } : {}),
    scales: { x: { time: Boolean(props.xTime) }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(1, (max ?? 0) * 1.1)] } },
    axes: [
      { ...axis, values: (_u, splits) => splits.map(props.formatX) },
      { ...axis, size: 48, values: (_u, splits) => splits.map(props.formatY) },
    ],
    series: [
      { label: props.xTime ? 'UTC' : 'Horizon', value: (_u, v) => (v == null ? '—' : props.formatX(v)) },
      ...props.series.map(
        (s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: s.edge ? 1 : 2,
          ...(s.dash ? { dash: s.dash } : {}),
          points: { show: !s.edge, size: 5, fill: s.color },
          value: (_u, v) => (v == null ? '—' : props.formatY(v)),
        }),
      ),
    ],
    ...(props.band ? { bands: [{ series: [props.band.upper + 1, props.band.lower + 1], fill: props.band.fill }] } : {}),
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  };
}

export function LineChart(props: LineChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const propsRef = useRef(props);
  propsRef.current = props;
  // The shape (series count, band) decides the plot's options; data alone only updates it.
  const shape = `${props.series.map((s) => `${s.label}|${s.color}|${s.edge ? 1 : 0}`).join(';')}|${props.band ? 1 : 0}|${props.xTime ? 1 : 0}`;

  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return undefined;
    const current = propsRef.current;
    const created = new uPlot(
      options(current, Math.max(element.clientWidth, 200)),
      [current.x, ...current.series.map((s) => s.values)],
      element,
    );
    plot.current = created;
    const observer = new ResizeObserver(() => {
      if (element.clientWidth > 0) created.setSize({ width: element.clientWidth, height: current.height ?? 200 });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      created.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([props.x, ...props.series.map((s) => s.values)]);
  }, [props.x, props.series]);

  return <div ref={container} className="predictions-chart" role="img" aria-label={props.label} data-testid={props.testId} />;
}
