// The forecast layer's data and wording: the newest forecast of each segment at
// the chosen horizon, drawn in purple beside the live speeds.
import { formatSpeed, convertSpeed, speedUnitLabel, type SpeedUnit } from '../format';
import type { ForecastLayerRow } from './layerTypes';

/** Purple marks predicted conditions everywhere on the map (PRODUCT.md §8). */
export const FORECAST_COLOR = '#b15cff';

export const HORIZON_MIN = 15;
export const HORIZON_MAX = 60;
export const HORIZON_STEP = 5;

/** A horizon the server accepts (5..60, multiple of 5) nearest to `value`, kept in the slider's range. */
export function clampHorizon(value: number): number {
  if (!Number.isFinite(value)) return HORIZON_MIN;
  const snapped = Math.round(value / HORIZON_STEP) * HORIZON_STEP;
  return Math.min(HORIZON_MAX, Math.max(HORIZON_MIN, snapped));
}

export type ForecastBySegment = ReadonlyMap<string, ForecastLayerRow>;

/** Rows by segment; a row without a usable speed is kept (its band is "no data"). */
export function forecastBySegment(rows: readonly ForecastLayerRow[]): ForecastBySegment {
  const out = new Map<string, ForecastLayerRow>();
  for (const row of rows) {
    if (row && typeof row.segment_id === 'string') out.set(row.segment_id, row);
  }
  return out;
}

/** "52 mph (45–58)" in the chosen unit; "—" without a forecast. */
export function describeForecast(row: ForecastLayerRow | undefined, unit: SpeedUnit): string {
  if (!row || row.predicted_speed == null || !Number.isFinite(row.predicted_speed)) return '—';
  const speed = formatSpeed(row.predicted_speed, unit);
  const { speed_lower: lo, speed_upper: hi } = row;
  if (lo == null || hi == null || !Number.isFinite(lo) || !Number.isFinite(hi)) return speed;
  const show = (mph: number) => Math.round(convertSpeed(mph, unit));
  return `${speed} (${show(lo)}–${show(hi)} ${speedUnitLabel(unit)})`;
}
