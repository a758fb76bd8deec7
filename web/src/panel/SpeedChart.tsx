// uPlot chart of observed 5-minute mean speed, the latest forecast and its 80 % band.
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import { BAND_COLORS, FAST_ABOVE_MPH, SLOW_BELOW_MPH } from '../bands';
import type { SpeedChartData } from './chartData';

export const OBSERVED_COLOR = '#4ea8ff';
export const FORECAST_COLOR = '#c084fc';
const FORECAST_BAND_FILL = 'rgba(192, 132, 252, 0.2)';
const BAND_EDGE_COLOR = 'rgba(192, 132, 252, 0.45)';
const AXIS_COLOR = '#9aa4b2';
const GRID_COLOR = 'rgba(255, 255, 255, 0.07)';
const HEIGHT = 230;

function toAligned(data: SpeedChartData): uPlot.AlignedData {
  return [data.x, data.observed, data.forecast, data.lower, data.upper];
}

/** 24-hour UTC clock, like the rest of the page. */
function formatAxisTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(11, 16);
}

function formatValue(_u: uPlot, value: number | null): string {
  return value == null ? '—' : `${value.toFixed(1)} mph`;
}

function formatBand(u: uPlot, low: number | null, _seriesIdx: number, idx: number | null): string {
  const high = idx === null ? null : u.data[4]?.[idx];
  return low == null || high == null ? '—' : `${Math.round(low)}–${Math.round(high)} mph`;
}

/** Faint lines at the band boundaries and a marker at the forecast's issue time. */
function drawGuides(u: uPlot, issuedAt: number | null): void {
  const { ctx, bbox } = u;
  ctx.save();
  ctx.lineWidth = devicePixelRatio;
  ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
  for (const [speed, color] of [
    [FAST_ABOVE_MPH, BAND_COLORS.fast],
    [SLOW_BELOW_MPH, BAND_COLORS.slow],
  ] as const) {
    const y = Math.round(u.valToPos(speed, 'y', true));
    ctx.strokeStyle = color;
    ctx.globalAlpha = 0.55;
    ctx.beginPath();
    ctx.moveTo(bbox.left, y);
    ctx.lineTo(bbox.left + bbox.width, y);
    ctx.stroke();
  }
  const xMin = u.scales.x?.min;
  const xMax = u.scales.x?.max;
  if (issuedAt !== null && xMin != null && xMax != null && issuedAt >= xMin && issuedAt <= xMax) {
    const x = Math.round(u.valToPos(issuedAt, 'x', true));
    ctx.strokeStyle = AXIS_COLOR;
    ctx.globalAlpha = 0.6;
    ctx.beginPath();
    ctx.moveTo(x, bbox.top);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
  }
  ctx.restore();
}

function chartOptions(width: number, issuedAt: { current: number | null }): uPlot.Options {
  const axis: uPlot.Axis = {
    stroke: AXIS_COLOR,
    grid: { stroke: GRID_COLOR, width: 1 },
    ticks: { stroke: GRID_COLOR, width: 1 },
    font: '11px system-ui, sans-serif',
  };
  return {
    width,
    height: HEIGHT,
    // Same UTC clock as the rest of the page (see format.ts).
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: {
      x: { time: true },
      y: {
        range: (_u, _min, max) => [0, Math.max(80, Math.ceil((max ?? 0) / 10) * 10 + 5)],
      },
    },
    axes: [
      { ...axis, values: (_u, splits) => splits.map(formatAxisTime) },
      { ...axis, size: 40, values: (_u, splits) => splits.map((v) => `${v}`) },
    ],
    series: [
      { label: 'UTC', value: (_u, v) => (v == null ? '—' : formatAxisTime(v)) },
      { label: 'Observed', stroke: OBSERVED_COLOR, width: 2, value: formatValue, points: { show: false } },
      {
        label: 'Forecast',
        stroke: FORECAST_COLOR,
        width: 2,
        dash: [6, 4],
        value: formatValue,
        points: { show: true, size: 5, fill: FORECAST_COLOR },
      },
      // One legend entry for the band: the lower edge shows "low–high", the upper
      // edge's entry is hidden in CSS (.u-series:nth-child(5)).
      { label: '80% band', stroke: BAND_EDGE_COLOR, width: 1, value: formatBand, points: { show: false } },
      { label: '80% high', stroke: BAND_EDGE_COLOR, width: 1, value: formatValue, points: { show: false } },
    ],
    bands: [{ series: [4, 3], fill: FORECAST_BAND_FILL }],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    hooks: { drawAxes: [(u) => drawGuides(u, issuedAt.current)] },
  };
}

export function SpeedChart({ data }: { data: SpeedChartData }) {
  const containerRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<uPlot | null>(null);
  const issuedAtRef = useRef<number | null>(null);

  useEffect(() => {
    const container = containerRef.current;
    if (!container) return;
    // Created empty: the data effect below runs right after and fills it.
    const plot = new uPlot(chartOptions(container.clientWidth, issuedAtRef), [[], [], [], [], []], container);
    plotRef.current = plot;
    const observer = new ResizeObserver(() => {
      if (container.clientWidth > 0) plot.setSize({ width: container.clientWidth, height: HEIGHT });
    });
    observer.observe(container);
    return () => {
      observer.disconnect();
      plot.destroy();
      plotRef.current = null;
    };
  }, []);

  useEffect(() => {
    issuedAtRef.current = data.issuedAt;
    plotRef.current?.setData(toAligned(data));
  }, [data]);

  return <div ref={containerRef} className="speed-chart" data-testid="speed-chart" />;
}
