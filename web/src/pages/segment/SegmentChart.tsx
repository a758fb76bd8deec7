// Two uPlot panels on one time axis: speed above, volume below. Each shows the
// observed 5-minute values, the forecasts once made for them at the chosen
// horizon, and the current forecast fan with its 80 % band. Cursors are synced.
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import { BAND_COLORS } from '../../bands';
import type { SegmentSeries } from './series';

export const OBSERVED_COLOR = '#4ea8ff';
export const PAST_COLOR = '#ffb86b';
export const FAN_COLOR = '#c084fc';
const FAN_FILL = 'rgba(192, 132, 252, 0.22)';
const FAN_EDGE = 'rgba(192, 132, 252, 0.5)';
const AXIS_COLOR = '#9aa4b2';
const GRID_COLOR = 'rgba(255, 255, 255, 0.07)';
const SPEED_HEIGHT = 230;
const VOLUME_HEIGHT = 150;
const SYNC_KEY = 'segment-chart';

type Kind = 'speed' | 'volume';

export interface ChartScale {
  unitLabel: string;
  /** Band limits in the display unit, drawn as guides on the speed panel. */
  fastAbove: number;
  slowBelow: number;
  horizonMinutes: number;
}

function formatAxisTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(11, 16);
}

function columns(data: SegmentSeries, kind: Kind): uPlot.AlignedData {
  return kind === 'speed'
    ? [data.x, data.speed, data.pastSpeed, data.fanSpeed, data.fanSpeedLow, data.fanSpeedHigh]
    : [data.x, data.volume, data.pastVolume, data.fanVolume, data.fanVolumeLow, data.fanVolumeHigh];
}

interface Guides {
  now: number | null;
  scale: ChartScale;
}

/** Band limits (speed panel) and a "now" line at the newest window's end. */
function drawGuides(u: uPlot, kind: Kind, guides: Guides): void {
  const { ctx, bbox } = u;
  ctx.save();
  ctx.lineWidth = devicePixelRatio;
  ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
  if (kind === 'speed') {
    for (const [value, color] of [
      [guides.scale.fastAbove, BAND_COLORS.fast],
      [guides.scale.slowBelow, BAND_COLORS.slow],
    ] as const) {
      const y = Math.round(u.valToPos(value, 'y', true));
      if (y < bbox.top || y > bbox.top + bbox.height) continue;
      ctx.strokeStyle = color;
      ctx.globalAlpha = 0.5;
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
    }
  }
  const { min, max } = u.scales.x ?? {};
  if (guides.now !== null && min != null && max != null && guides.now >= min && guides.now <= max) {
    const x = Math.round(u.valToPos(guides.now, 'x', true));
    ctx.strokeStyle = AXIS_COLOR;
    ctx.globalAlpha = 0.7;
    ctx.beginPath();
    ctx.moveTo(x, bbox.top);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
  }
  ctx.restore();
}

function options(kind: Kind, width: number, guides: { current: Guides }): uPlot.Options {
  const { unitLabel, horizonMinutes } = guides.current.scale;
  const unit = kind === 'speed' ? ` ${unitLabel}` : ' veh';
  const digits = kind === 'speed' ? 1 : 0;
  const value = (_u: uPlot, v: number | null) => (v == null ? '—' : `${v.toFixed(digits)}${unit}`);
  const band = (u: uPlot, low: number | null, _s: number, idx: number | null) => {
    const high = idx === null ? null : u.data[5]?.[idx];
    return low == null || high == null ? '—' : `${low.toFixed(digits)}–${high.toFixed(digits)}${unit}`;
  };
  const axis: uPlot.Axis = {
    stroke: AXIS_COLOR,
    grid: { stroke: GRID_COLOR, width: 1 },
    ticks: { stroke: GRID_COLOR, width: 1 },
    font: '11px system-ui, sans-serif',
  };
  return {
    width,
    height: kind === 'speed' ? SPEED_HEIGHT : VOLUME_HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: {
      x: { time: true },
      y: {
        range:
          kind === 'speed'
            ? (_u, _min, max) => [0, Math.max(guides.current.scale.fastAbove * 1.3, Math.ceil(((max ?? 0) * 1.1) / 10) * 10)]
            : (_u, _min, max) => [0, Math.max(10, Math.ceil(((max ?? 0) * 1.15) / 10) * 10)],
      },
    },
    axes: [
      { ...axis, values: (_u, splits) => splits.map(formatAxisTime) },
      { ...axis, size: 48, label: kind === 'speed' ? `Speed (${unitLabel})` : 'Vehicles / 5 min', labelSize: 14 },
    ],
    series: [
      { label: 'UTC', value: (_u, v) => (v == null ? '—' : formatAxisTime(v)) },
      { label: 'Observed', stroke: OBSERVED_COLOR, width: 2, value, points: { show: false } },
      {
        label: `Forecast +${horizonMinutes} min (past)`,
        stroke: PAST_COLOR,
        width: 1.5,
        dash: [5, 3],
        value,
        points: { show: false },
      },
      {
        label: 'Current forecast',
        stroke: FAN_COLOR,
        width: 2,
        value,
        points: { show: true, size: 5, fill: FAN_COLOR },
      },
      // One legend entry for the band: the lower edge shows "low–high"; the upper one is hidden in CSS.
      { label: '80 % band', stroke: FAN_EDGE, width: 1, value: band, points: { show: false } },
      { label: '80 % high', stroke: FAN_EDGE, width: 1, value, points: { show: false } },
    ],
    bands: [{ series: [5, 4], fill: FAN_FILL }],
    legend: { live: true },
    cursor: { sync: { key: SYNC_KEY }, drag: { x: false, y: false } },
    hooks: { drawAxes: [(u) => drawGuides(u, kind, guides.current)] },
  };
}

function Panel({ kind, data, scale }: { kind: Kind; data: SegmentSeries; scale: ChartScale }) {
  const containerRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<uPlot | null>(null);
  const guides = useRef<Guides>({ now: data.now, scale });
  guides.current = { now: data.now, scale };
  const dataRef = useRef(data);
  dataRef.current = data;

  // Options hold the unit, band limits and horizon: a change of those rebuilds the plot.
  const { unitLabel, fastAbove, slowBelow, horizonMinutes } = scale;
  useEffect(() => {
    const container = containerRef.current;
    if (!container) return undefined;
    const plot = new uPlot(options(kind, container.clientWidth, guides), columns(dataRef.current, kind), container);
    plotRef.current = plot;
    const observer = new ResizeObserver(() => {
      if (container.clientWidth > 0) plot.setSize({ width: container.clientWidth, height: plot.height });
    });
    observer.observe(container);
    return () => {
      observer.disconnect();
      plot.destroy();
      plotRef.current = null;
    };
  }, [kind, unitLabel, fastAbove, slowBelow, horizonMinutes]);

  useEffect(() => {
    plotRef.current?.setData(columns(data, kind));
  }, [data, kind]);

  const observed = kind === 'speed' ? data.speed : data.volume;
  const past = kind === 'speed' ? data.pastSpeed : data.pastVolume;
  const fan = kind === 'speed' ? data.fanSpeed : data.fanVolume;
  const count = (values: readonly (number | null | undefined)[]) => values.filter((v) => v != null).length;
  return (
    <div
      ref={containerRef}
      className={`segment-chart segment-chart-${kind}`}
      data-testid={`segment-chart-${kind}`}
      data-observed-points={count(observed)}
      data-past-points={count(past)}
      data-fan-points={count(fan)}
    />
  );
}

export function SegmentChart({ data, scale }: { data: SegmentSeries; scale: ChartScale }) {
  return (
    <div className="segment-charts">
      <Panel kind="speed" data={data} scale={scale} />
      <Panel kind="volume" data={data} scale={scale} />
    </div>
  );
}
