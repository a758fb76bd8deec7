// A small uPlot line chart for this page: several series on one x axis (time or
// horizon minutes), optionally one shaded band between two of them.
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'react';
import type uPlot from 'uplot';
import { AXIS, useUPlot, utcDate } from '../../chartKit';

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

function options(props: LineChartProps, width: number): uPlot.Options {
  return {
    width,
    height: props.height ?? 200,
    ...(props.xTime ? { tzDate: utcDate } : {}),
    scales: { x: { time: Boolean(props.xTime) }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(1, (max ?? 0) * 1.1)] } },
    axes: [
      { ...AXIS, values: (_u, splits) => splits.map(props.formatX) },
      { ...AXIS, size: 48, values: (_u, splits) => splits.map(props.formatY) },
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
  const propsRef = useRef(props);
  propsRef.current = props;
  // The shape (series count, band) decides the plot's options; data alone only updates it.
  const shape = `${props.series.map((s) => `${s.label}|${s.color}|${s.edge ? 1 : 0}`).join(';')}|${props.band ? 1 : 0}|${props.xTime ? 1 : 0}`;
  const { container, plot } = useUPlot(
    (width) => {
      const current = propsRef.current;
      return { options: options(current, width), data: [current.x, ...current.series.map((s) => s.values)] };
    },
    [shape],
    200,
  );

  useEffect(() => {
    plot.current?.setData([props.x, ...props.series.map((s) => s.values)]);
  }, [props.x, props.series]);

  return <div ref={container} className="predictions-chart" role="img" aria-label={props.label} data-testid={props.testId} />;
}
