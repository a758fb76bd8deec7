// Builds the aligned columns uPlot draws: observed 5-minute mean speeds, the latest
// forecast, and its 80 % band, all on one shared time axis (epoch seconds).
//
// uPlot treats `null` as a gap in the line and `undefined` as "no point here, keep
// the line going". Columns are aligned on the union of all timestamps, so a series
// is `undefined` where only another series has a point, and `null` only where data
// is really missing (a window without speed, or missing windows).
//
// Imputed windows (a silent detector's, filled from neighbours or the usual
// profile) have their own column, never the observed one, anchored on the
// measured points beside them so the two lines join.
import { fillOf, isImputed } from '../fill';
import { toEpochSeconds } from '../format';
import type { Prediction, TrafficWindow } from '../types';

export type ChartValue = number | null | undefined;

export interface SpeedChartData {
  x: number[];
  observed: ChartValue[];
  imputed: ChartValue[];
  /** Per x: true where an imputed window is plotted (drawn as a hollow point). */
  imputedAt: boolean[];
  forecast: ChartValue[];
  lower: ChartValue[];
  upper: ChartValue[];
  /** When the shown forecast was issued (epoch seconds), for the "now" marker. */
  issuedAt: number | null;
}

export interface ChartOptions {
  /** How much history to show, counted back from the newest window. */
  historyHours?: number;
  windowMinutes?: number;
}

interface Row {
  observed?: number | null;
  imputed?: number | null;
  imputedAt?: boolean;
  forecast?: number;
  lower?: number;
  upper?: number;
}

function finite(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function buildSpeedChartData(
  windows: readonly TrafficWindow[],
  forecasts: readonly Prediction[],
  { historyHours = 3, windowMinutes = 5 }: ChartOptions = {},
): SpeedChartData {
  const rows = new Map<number, Row>();
  const row = (x: number): Row => {
    let existing = rows.get(x);
    if (!existing) {
      existing = {};
      rows.set(x, existing);
    }
    return existing;
  };

  // A window's mean is known once it closes, so it is plotted at its end; the
  // forecast issued at that moment then continues from the last observed point.
  const observed = windows
    .map((w) => ({
      start: toEpochSeconds(w.window_start),
      end: toEpochSeconds(w.window_end),
      speed: w.mean_speed,
      fill: fillOf(w),
    }))
    .filter((w) => Number.isFinite(w.start) && Number.isFinite(w.end))
    .sort((a, b) => a.end - b.end);
  const newestEnd = observed.at(-1)?.end;
  const since = newestEnd === undefined ? -Infinity : newestEnd - historyHours * 3600;
  const windowSeconds = windowMinutes * 60;

  const inRange = observed.filter((w) => w.end >= since);
  let previousEnd: number | null = null;
  let lastObserved: { x: number; speed: number } | null = null;
  for (const [i, w] of inRange.entries()) {
    if (previousEnd !== null && w.start - previousEnd >= windowSeconds / 2) {
      // Missing windows: break the line instead of drawing a straight lie across.
      const gap = row(previousEnd + windowSeconds / 2);
      gap.observed = gap.imputed = null;
    }
    previousEnd = w.end;
    const r = row(w.end);
    const speed = finite(w.speed) ? w.speed : null;
    if (isImputed(w.fill)) {
      r.observed = null;
      r.imputed = speed;
      r.imputedAt = true;
    } else {
      r.observed = speed;
      const beside = (o: (typeof inRange)[number] | undefined) =>
        o !== undefined && isImputed(o.fill) && Math.abs(o.end - w.end) <= windowSeconds * 1.5;
      r.imputed = w.fill === 'observed' && (beside(inRange[i - 1]) || beside(inRange[i + 1])) ? speed : null;
    }
    if (speed !== null) lastObserved = { x: w.end, speed };
  }

  const targets = forecasts
    .map((p) => ({ x: toEpochSeconds(p.target_time), p }))
    .filter(({ x, p }) => Number.isFinite(x) && finite(p.predicted_speed))
    .sort((a, b) => a.x - b.x);
  for (const { x, p } of targets) {
    const r = row(x);
    r.forecast = p.predicted_speed;
    if (finite(p.speed_lower) && finite(p.speed_upper)) {
      r.lower = p.speed_lower;
      r.upper = p.speed_upper;
    }
  }
  const firstTarget = targets[0];
  if (firstTarget && lastObserved && lastObserved.x < firstTarget.x) {
    // Start the forecast line and band at the last observation so they read as its continuation.
    const anchor = row(lastObserved.x);
    anchor.forecast = lastObserved.speed;
    anchor.lower = lastObserved.speed;
    anchor.upper = lastObserved.speed;
  }

  const issued = forecasts.map((p) => toEpochSeconds(p.issued_at)).filter(Number.isFinite);
  const x = [...rows.keys()].sort((a, b) => a - b);
  const at = (t: number): Row => rows.get(t) as Row;
  return {
    x,
    observed: x.map((t) => at(t).observed),
    imputed: x.map((t) => at(t).imputed),
    imputedAt: x.map((t) => at(t).imputedAt === true),
    forecast: x.map((t) => at(t).forecast),
    lower: x.map((t) => at(t).lower),
    upper: x.map((t) => at(t).upper),
    issuedAt: issued.length > 0 ? Math.max(...issued) : null,
  };
}
