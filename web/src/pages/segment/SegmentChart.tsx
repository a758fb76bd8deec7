// Two uPlot panels on one time axis: speed above, volume below. Each shows the
// observed 5-minute values, the forecasts once made for them at the chosen
// horizon, and the current forecast fan with its 80 % band. Cursors are synced.
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'react';
import type uPlot from 'uplot';
import { BAND_COLORS } from '../../bands';
import {
  AXIS,
  drawGuides,
  FORECAST_COLOR as FAN_COLOR,
  formatAxisTime,
  OBSERVED_COLOR,
  useUPlot,
  utcDate,
  type GuideLines,
} from '../../chartKit';
import type { SegmentSeries } from './series';

const PAST_COLOR = '#ffb86b';
const FAN_FILL = 'rgba(192, 132, 252, 0.22)';
const FAN_EDGE = 'rgba(192, 132, 252, 0.5)';
/** Imputed windows: a dashed line with hollow points over a shaded span, never the measured blue. */
export const IMPUTED_COLOR = '#5eead4';
const IMPUTED_SHADE = 'rgba(94, 234, 212, 0.10)';
const HOLLOW = '#161b22';
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

function columns(data: SegmentSeries, kind: Kind): uPlot.AlignedData {
  return kind === 'speed'
    ? [data.x, data.speed, data.pastSpeed, data.fanSpeed, data.fanSpeedLow, data.fanSpeedHigh, data.imputedSpeed]
    : [data.x, data.volume, data.pastVolume, data.fanVolume, data.fanVolumeLow, data.fanVolumeHigh, data.imputedVolume];
}

interface Guides {
  now: number | null;
  scale: ChartScale;
  data: SegmentSeries;
}

/** Shades the runs of imputed windows behind the series. */
function drawSpans(u: uPlot, data: SegmentSeries): void {
  if (data.spans.length === 0) return;
  const { ctx } = u;
  const { top, height } = u.bbox;
  ctx.save();
  ctx.fillStyle = IMPUTED_SHADE;
  for (const span of data.spans) {
    const x0 = u.valToPos(span.start, 'x', true);
    const x1 = u.valToPos(span.end, 'x', true);
    ctx.fillRect(Math.min(x0, x1), top, Math.max(1, Math.abs(x1 - x0)), height);
  }
  ctx.restore();
}

/** Band limits (speed panel) and a "now" line at the newest window's end. */
function guideLines(kind: Kind, guides: Guides): GuideLines {
  const { fastAbove, slowBelow } = guides.scale;
  const levels = kind === 'speed' ? ([[fastAbove, BAND_COLORS.fast], [slowBelow, BAND_COLORS.slow]] as const) : [];
  return { levels, levelAlpha: 0.5, marker: guides.now, markerAlpha: 0.7 };
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
  return {
    width,
    height: kind === 'speed' ? SPEED_HEIGHT : VOLUME_HEIGHT,
    tzDate: utcDate,
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
      { ...AXIS, values: (_u, splits) => splits.map(formatAxisTime) },
      { ...AXIS, size: 48, label: kind === 'speed' ? `Speed (${unitLabel})` : 'Vehicles / 5 min', labelSize: 14 },
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
      {
        label: 'Imputed (neighbours/profile)',
        stroke: IMPUTED_COLOR,
        width: 1.5,
        dash: [3, 3],
        value,
        // Hollow points on the imputed windows only, not on the measured anchors.
        points: {
          show: true,
          size: 6,
          width: 1.5,
          fill: HOLLOW,
          filter: () => guides.current.data.imputedAt.flatMap((on, i) => (on ? [i] : [])),
        },
      },
    ],
    bands: [{ series: [5, 4], fill: FAN_FILL }],
    legend: { live: true },
    cursor: { sync: { key: SYNC_KEY }, drag: { x: false, y: false } },
    hooks: {
      drawAxes: [
        (u) => {
          drawSpans(u, guides.current.data);
          drawGuides(u, guideLines(kind, guides.current));
        },
      ],
    },
  };
}

function Panel({ kind, data, scale }: { kind: Kind; data: SegmentSeries; scale: ChartScale }) {
  const guides = useRef<Guides>({ now: data.now, scale, data });
  guides.current = { now: data.now, scale, data };
  const dataRef = useRef(data);
  dataRef.current = data;

  // Options hold the unit, band limits and horizon: a change of those rebuilds the plot.
  const { unitLabel, fastAbove, slowBelow, horizonMinutes } = scale;
  const { container, plot } = useUPlot(
    (width) => ({ options: options(kind, width, guides), data: columns(dataRef.current, kind) }),
    [kind, unitLabel, fastAbove, slowBelow, horizonMinutes],
  );

  useEffect(() => {
    plot.current?.setData(columns(data, kind));
  }, [data, kind]);

  const observed = kind === 'speed' ? data.speed : data.volume;
  const past = kind === 'speed' ? data.pastSpeed : data.pastVolume;
  const fan = kind === 'speed' ? data.fanSpeed : data.fanVolume;
  const count = (values: readonly (number | null | undefined)[]) => values.filter((v) => v != null).length;
  return (
    <div
      ref={container}
      className={`segment-chart compact-chart segment-chart-${kind}`}
      data-testid={`segment-chart-${kind}`}
      data-observed-points={count(observed)}
      data-past-points={count(past)}
      data-fan-points={count(fan)}
      data-imputed-points={data.counts.imputed}
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
