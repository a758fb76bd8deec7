// Pure merging of the detail panel's data: 5-minute windows and the latest forecast.
import type { Prediction, PredictionBatch, TrafficWindow } from '../types';

export const DETAIL_WINDOW_MINUTES = 5;
/** 24 h of 5-minute windows, as requested from the history endpoint. */
export const DETAIL_WINDOW_LIMIT = 288;

function time(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? -Infinity : t;
}

/**
 * Adds or replaces (a window is re-emitted when late events amend it) one window,
 * keeping the list ascending by start and at most `limit` long. Windows of other
 * sizes (the server may aggregate 1- and 15-minute windows too) are ignored.
 */
export function mergeWindow(
  windows: readonly TrafficWindow[],
  window: TrafficWindow,
  windowMinutes: number = DETAIL_WINDOW_MINUTES,
  limit: number = DETAIL_WINDOW_LIMIT,
): readonly TrafficWindow[] {
  if (window.window_minutes !== undefined && window.window_minutes !== windowMinutes) return windows;
  const start = time(window.window_start);
  const next = windows.filter((w) => time(w.window_start) !== start);
  let index = next.length;
  while (index > 0 && time((next[index - 1] as TrafficWindow).window_start) > start) index -= 1;
  next.splice(index, 0, window);
  return next.length > limit ? next.slice(next.length - limit) : next;
}

/** One forecast per horizon, from the newest issue, sorted by horizon. */
export function latestForecasts(predictions: readonly Prediction[]): Prediction[] {
  const byHorizon = new Map<number, Prediction>();
  for (const prediction of predictions) {
    const existing = byHorizon.get(prediction.horizon_minutes);
    if (!existing || time(prediction.issued_at) > time(existing.issued_at)) {
      byHorizon.set(prediction.horizon_minutes, prediction);
    }
  }
  return [...byHorizon.values()].sort((a, b) => a.horizon_minutes - b.horizon_minutes);
}

/**
 * A pushed batch replaces the shown forecast unless it is older (a fetch that
 * finished late must not overwrite a newer push).
 */
export function mergePredictionBatch(current: readonly Prediction[], batch: PredictionBatch): readonly Prediction[] {
  const currentIssued = current.reduce((latest, p) => Math.max(latest, time(p.issued_at)), -Infinity);
  if (time(batch.issued_at) < currentIssued) return current;
  return latestForecasts(batch.forecasts);
}
