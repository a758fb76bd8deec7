// The segment chart's columns: observed 5-minute speed and volume, the forecasts
// once made for them at one horizon, and the current forecast fan with its band,
// all on one time axis (epoch seconds) for uPlot.
//
// uPlot draws `null` as a gap and skips `undefined` (the line carries on), so a
// column is `undefined` where only another column has a point and `null` only
// where its own data is missing.
//
// Measured and imputed windows are separate columns (an imputed value must never
// read as a measured one): the imputed line is anchored on the measured points either
// side of a run so it joins them, and a missing window is a gap in both.
import { convertSpeed, toEpochSeconds, type SpeedUnit } from '../../format';
import { countFill, fillOf, imputedSpans, isImputed, type FillCounts, type FillSpan } from '../../fill';
import type { Prediction, PredictionBatch, TrafficWindow } from '../../types';
import type { PastForecast } from './api';

export type ChartValue = number | null | undefined;

export interface SegmentSeries {
  x: number[];
  speed: ChartValue[];
  pastSpeed: ChartValue[];
  fanSpeed: ChartValue[];
  fanSpeedLow: ChartValue[];
  fanSpeedHigh: ChartValue[];
  volume: ChartValue[];
  pastVolume: ChartValue[];
  fanVolume: ChartValue[];
  fanVolumeLow: ChartValue[];
  fanVolumeHigh: ChartValue[];
  imputedSpeed: ChartValue[];
  imputedVolume: ChartValue[];
  /** Per x: true where an imputed window is plotted (its points are drawn hollow; anchors are not). */
  imputedAt: boolean[];
  /** Runs of imputed windows in the range, to shade. */
  spans: FillSpan[];
  /** Fill of the windows in the range. */
  fill: FillCounts;
  /** End of the newest window (epoch s): "now" in data time. */
  now: number | null;
  /** Points actually drawn, per kind (for the legend's "no data" notes and tests). */
  counts: { observed: number; imputed: number; past: number; fan: number };
}

type Key = Exclude<keyof SegmentSeries, 'x' | 'now' | 'counts' | 'imputedAt' | 'spans' | 'fill'>;
type Row = Partial<Record<Key, number | null>>;

export interface SeriesInput {
  windows: readonly TrafficWindow[];
  past: readonly PastForecast[];
  fan: readonly Prediction[];
  rangeHours: number;
  unit: SpeedUnit;
  windowMinutes?: number;
}

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

const KEYS: readonly Key[] = [
  'speed',
  'pastSpeed',
  'fanSpeed',
  'fanSpeedLow',
  'fanSpeedHigh',
  'volume',
  'pastVolume',
  'fanVolume',
  'fanVolumeLow',
  'fanVolumeHigh',
  'imputedSpeed',
  'imputedVolume',
];

export function buildSeries({ windows, past, fan, rangeHours, unit, windowMinutes = 5 }: SeriesInput): SegmentSeries {
  const rows = new Map<number, Row>();
  const row = (x: number): Row => {
    let r = rows.get(x);
    if (!r) {
      r = {};
      rows.set(x, r);
    }
    return r;
  };
  const speed = (mph: number | null | undefined): number | null => (finite(mph) ? convertSpeed(mph, unit) : null);
  const volume = (v: number | null | undefined): number | null => (finite(v) ? v : null);
  const step = windowMinutes * 60;
  const counts = { observed: 0, imputed: 0, past: 0, fan: 0 };

  // A window's figures are known when it closes: it is plotted at its end, where
  // forecasts name it as their target.
  const observed = windows
    .map((w) => ({ start: toEpochSeconds(w.window_start), end: toEpochSeconds(w.window_end), w }))
    .filter((o) => Number.isFinite(o.start) && Number.isFinite(o.end))
    .sort((a, b) => a.end - b.end);
  const now = observed.at(-1)?.end ?? null;
  const since = now === null ? -Infinity : now - rangeHours * 3600;

  const inRange = observed.filter((o) => o.end >= since);
  const imputedX = new Set<number>();
  let previousEnd: number | null = null;
  let last: { x: number; speed: number | null; volume: number | null } | null = null;
  for (const [i, { start, end, w }] of inRange.entries()) {
    if (previousEnd !== null && start - previousEnd >= step / 2) {
      // Windows not stored at all: a gap, not a straight line across them.
      const gap = row(previousEnd + step / 2);
      gap.speed = gap.volume = gap.imputedSpeed = gap.imputedVolume = null;
    }
    previousEnd = end;
    const r = row(end);
    const s = speed(w.mean_speed);
    const v = volume(w.volume);
    const fill = fillOf(w);
    if (isImputed(fill)) {
      r.speed = r.volume = null;
      r.imputedSpeed = s;
      r.imputedVolume = v;
      imputedX.add(end);
      if (s !== null || v !== null) counts.imputed += 1;
    } else {
      r.speed = s;
      r.volume = v;
      // A measured point next to an imputed one anchors the imputed line; elsewhere the
      // imputed column is null so separate runs are not joined across measured stretches.
      const neighbour = (o: (typeof inRange)[number] | undefined) =>
        o !== undefined && isImputed(fillOf(o.w)) && Math.abs(o.end - end) <= step * 1.5;
      const anchor = fill === 'observed' && (neighbour(inRange[i - 1]) || neighbour(inRange[i + 1]));
      r.imputedSpeed = anchor ? s : null;
      r.imputedVolume = anchor ? v : null;
      if (fill === 'observed' && (s !== null || v !== null)) counts.observed += 1;
    }
    last = { x: end, speed: s, volume: v };
  }

  // Past forecasts at their target, newest issue last (it wins a shared target).
  const targets = past
    .map((p) => ({ x: toEpochSeconds(p.target_time), issued: toEpochSeconds(p.issued_at), p }))
    .filter((t) => Number.isFinite(t.x) && t.x >= since)
    .sort((a, b) => a.x - b.x || a.issued - b.issued);
  let previousTarget: number | null = null;
  for (const { x, p } of targets) {
    if (previousTarget !== null && x - previousTarget > step * 1.5) {
      const gap = row(previousTarget + step / 2);
      gap.pastSpeed = null;
      gap.pastVolume = null;
    }
    if (previousTarget !== x) counts.past += 1;
    previousTarget = x;
    const r = row(x);
    r.pastSpeed = speed(p.predicted_speed);
    r.pastVolume = volume(p.predicted_volume);
  }

  // The current forecast fan: every horizon of the newest issue, with its band.
  const fanPoints = fan
    .map((p) => ({ x: toEpochSeconds(p.target_time), p }))
    .filter((f) => Number.isFinite(f.x))
    .sort((a, b) => a.x - b.x);
  for (const { x, p } of fanPoints) {
    const r = row(x);
    r.fanSpeed = speed(p.predicted_speed);
    const lo = speed(p.speed_lower);
    const hi = speed(p.speed_upper);
    if (lo !== null && hi !== null) {
      r.fanSpeedLow = lo;
      r.fanSpeedHigh = hi;
    }
    r.fanVolume = volume(p.predicted_volume);
    const vlo = volume(p.volume_lower);
    const vhi = volume(p.volume_upper);
    if (vlo !== null && vhi !== null) {
      r.fanVolumeLow = vlo;
      r.fanVolumeHigh = vhi;
    }
    counts.fan += 1;
  }
  const first = fanPoints[0];
  if (first && last && last.x < first.x) {
    // The fan opens at the last observation, so it reads as its continuation.
    const anchor = row(last.x);
    if (last.speed !== null) {
      anchor.fanSpeed = anchor.fanSpeedLow = anchor.fanSpeedHigh = last.speed;
    }
    if (last.volume !== null) {
      anchor.fanVolume = anchor.fanVolumeLow = anchor.fanVolumeHigh = last.volume;
    }
  }

  const x = [...rows.keys()].sort((a, b) => a - b);
  const columns = Object.fromEntries(
    KEYS.map((key) => [key, x.map((t) => (rows.get(t) as Row)[key])]),
  ) as Record<Key, ChartValue[]>;
  const windowsInRange = inRange.map((o) => o.w);
  return {
    x,
    ...columns,
    imputedAt: x.map((t) => imputedX.has(t)),
    spans: imputedSpans(windowsInRange),
    fill: countFill(windowsInRange),
    now,
    counts,
  };
}

// live merging ---------------------------------------------------------------------

function time(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? -Infinity : t;
}

/**
 * Adds the batch's forecast at `horizon` (a new issue) to the past forecasts,
 * replacing an earlier copy of the same issue and model, in target order.
 */
export function mergePastForecast(
  past: readonly PastForecast[],
  batch: PredictionBatch,
  horizon: number,
): readonly PastForecast[] {
  const p = batch.forecasts.find((f) => f.horizon_minutes === horizon);
  if (!p) return past;
  const item: PastForecast = {
    issued_at: p.issued_at,
    target_time: p.target_time,
    predicted_speed: p.predicted_speed,
    speed_lower: p.speed_lower,
    speed_upper: p.speed_upper,
    predicted_volume: p.predicted_volume,
    volume_lower: p.volume_lower,
    volume_upper: p.volume_upper,
    model_version: p.model_version,
    input_fill: p.input_fill ?? null,
  };
  const issued = time(item.issued_at);
  const next = past.filter((f) => !(time(f.issued_at) === issued && f.model_version === item.model_version));
  next.push(item);
  next.sort((a, b) => time(a.target_time) - time(b.target_time) || time(a.issued_at) - time(b.issued_at));
  return next;
}

/** Past forecasts whose target is before `sinceMs` (they scrolled out of the range) go. */
export function trimPast(past: readonly PastForecast[], sinceMs: number): readonly PastForecast[] {
  const first = past.findIndex((f) => time(f.target_time) >= sinceMs);
  if (first === 0) return past;
  return first === -1 ? [] : past.slice(first);
}
