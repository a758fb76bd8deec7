// uPlot options for the page's charts, in the dark theme of the other charts
// (../../chartKit.ts). Times are UTC like everywhere on the dashboard.
import uPlot from 'uplot';
import { AXIS, utcDate } from '../../chartKit';
import type { PdfLegendItem } from '../../export/pdf';
import type { Period } from './api';

export const SPEED_COLOR = '#4ea8ff';
export const VOLUME_COLOR = 'rgba(154, 164, 178, 0.55)';
export const VOLUME_LEGEND_COLOR = '#7d8693';
export const THROUGHPUT_COLOR = '#3ddc84';
export const CHART_BACKGROUND = '#1e232b';
const HORIZON_COLORS = ['#4ea8ff', '#3ddc84', '#f9c80e', '#ff7a59', '#c084fc', '#2dd4bf', '#f472b6', '#a3e635'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export const CHART_HEIGHT = 240;

export function horizonColor(index: number): string {
  return HORIZON_COLORS[index % HORIZON_COLORS.length]!;
}


function dayText(seconds: number, period: Period): string {
  const d = new Date(seconds * 1000);
  if (period === 'month') return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCFullYear()).slice(2)}`;
  return d.toISOString().slice(5, 10);
}

function clockText(seconds: number, withDate: boolean): string {
  const iso = new Date(seconds * 1000).toISOString();
  return withDate ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

/** Axis labels "HH:MM" (or "HH:MM:SS"), with the date under the first and at each new day. */
export function clockTicks(splits: readonly number[], seconds = false): string[] {
  return splits.map((s, i) => {
    const iso = new Date(s * 1000).toISOString();
    const clock = seconds ? iso.slice(11, 19) : iso.slice(11, 16);
    const previous = i > 0 ? new Date(splits[i - 1]! * 1000).toISOString().slice(0, 10) : null;
    return previous === iso.slice(0, 10) ? clock : `${clock}\n${iso.slice(5, 10)}`;
  });
}

/** At most `count` of the bucket starts, evenly spaced, as axis ticks. */
export function thinTicks(values: readonly number[], count: number): number[] {
  if (values.length <= count) return [...values];
  const step = Math.ceil(values.length / Math.max(1, count));
  return values.filter((_, i) => i % step === 0);
}

const BUCKET_SECONDS: Record<Period, number> = { day: 86_400, week: 7 * 86_400, month: 30.5 * 86_400 };

/** Average speed (line, left axis) and volume (bars, right axis) per bucket. */
export function trendOptions(period: Period, unitLabel: string): Omit<uPlot.Options, 'width'> {
  const half = BUCKET_SECONDS[period] / 2;
  return {
    height: CHART_HEIGHT,
    tzDate: utcDate,
    scales: {
      x: { time: true, range: (_u, min, max) => [min - half, max + half] },
      speed: { range: (_u, _min, max) => [0, Math.max(10, Math.ceil(((max ?? 0) * 1.15) / 10) * 10)] },
      volume: { range: (_u, _min, max) => [0, Math.max(1, (max ?? 0) * 1.15)] },
    },
    axes: [
      {
        ...AXIS,
        splits: (u) => thinTicks((u.data[0] ?? []) as number[], Math.max(2, Math.floor(u.bbox.width / devicePixelRatio / 70))),
        values: (_u, splits) => splits.map((s) => dayText(s, period)),
      },
      { ...AXIS, scale: 'speed', size: 44, label: `speed (${unitLabel})`, labelSize: 16, labelFont: '11px system-ui, sans-serif' },
      {
        ...AXIS,
        scale: 'volume',
        side: 1,
        size: 44,
        grid: { show: false },
        label: 'volume (veh/5 min)',
        labelSize: 16,
        labelFont: '11px system-ui, sans-serif',
      },
    ],
    series: [
      { label: 'Bucket', value: (_u, v) => (v == null ? '—' : dayText(v, period)) },
      {
        label: `Avg speed (${unitLabel})`,
        scale: 'speed',
        stroke: SPEED_COLOR,
        width: 2,
        points: { show: true, size: 6, fill: SPEED_COLOR },
        value: (_u, v) => (v == null ? '—' : v.toFixed(1)),
      },
      {
        label: 'Avg volume',
        scale: 'volume',
        stroke: VOLUME_COLOR,
        fill: VOLUME_COLOR,
        width: 1,
        paths: uPlot.paths.bars?.({ size: [0.6, 48] }),
        points: { show: false },
        value: (_u, v) => (v == null ? '—' : v.toFixed(1)),
      },
    ],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  };
}

export function trendLegend(unitLabel: string): PdfLegendItem[] {
  return [
    { label: `Avg speed (${unitLabel})`, color: SPEED_COLOR },
    { label: 'Avg volume (veh/5 min, bars)', color: VOLUME_LEGEND_COLOR },
  ];
}

/** MAE over time, one line per horizon. */
export function accuracyOptions(horizons: readonly number[], unitLabel: string): Omit<uPlot.Options, 'width'> {
  return {
    height: CHART_HEIGHT,
    tzDate: utcDate,
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil((max ?? 0) * 1.2))] } },
    axes: [
      { ...AXIS, space: 70, size: 44, values: (_u, splits) => clockTicks(splits) },
      { ...AXIS, size: 44, label: `MAE (${unitLabel})`, labelSize: 16, labelFont: '11px system-ui, sans-serif' },
    ],
    series: [
      { label: 'UTC', value: (_u, v) => (v == null ? '—' : clockText(v, true)) },
      ...horizons.map((h, i) => ({
        label: `${h} min`,
        stroke: horizonColor(i),
        width: 2,
        spanGaps: false,
        points: { show: true, size: 4, fill: horizonColor(i) },
        value: (_u: uPlot, v: number | null) => (v == null ? '—' : v.toFixed(2)),
      })),
    ],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  };
}

export function accuracyLegend(horizons: readonly number[]): PdfLegendItem[] {
  return horizons.map((h, i) => ({ label: `${h} min ahead`, color: horizonColor(i) }));
}

/** Events per second over the sampler's history. */
export function throughputOptions(): Omit<uPlot.Options, 'width'> {
  return {
    height: 180,
    tzDate: utcDate,
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, (max ?? 0) * 1.2)] } },
    axes: [
      {
        ...AXIS,
        space: 70,
        size: 44,
        // Seconds while the history is short (a fresh server), minutes after.
        values: (u, splits) => clockTicks(splits, (u.scales.x?.max ?? 0) - (u.scales.x?.min ?? 0) < 900),
      },
      { ...AXIS, size: 50, label: 'events/s', labelSize: 16, labelFont: '11px system-ui, sans-serif' },
    ],
    series: [
      { label: 'UTC', value: (_u, v) => (v == null ? '—' : new Date(v * 1000).toISOString().slice(11, 19)) },
      {
        label: 'Events/s',
        stroke: THROUGHPUT_COLOR,
        fill: 'rgba(61, 220, 132, 0.12)',
        width: 2,
        points: { show: false },
        value: (_u, v) => (v == null ? '—' : v.toFixed(1)),
      },
    ],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  };
}
