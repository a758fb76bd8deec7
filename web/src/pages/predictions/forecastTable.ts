// An on-demand forecast as table rows and chart columns, speeds in the viewer's unit.
import { convertSpeed, toEpochSeconds, type SpeedUnit } from '../../format';
import type { GeneratedForecast } from './api';

export interface ForecastRow {
  timestamp: string;
  horizon: number;
  speed: number | null;
  lower: number | null;
  upper: number | null;
  volume: number | null;
  confidence: number | null;
}

function finite(value: number | null | undefined): number | null {
  return value != null && Number.isFinite(value) ? value : null;
}

export function forecastRows(forecast: GeneratedForecast): ForecastRow[] {
  return [...forecast.predictions]
    .sort((a, b) => a.horizon_minutes - b.horizon_minutes)
    .map((p) => ({
      timestamp: p.timestamp,
      horizon: p.horizon_minutes,
      speed: finite(p.predicted_speed),
      lower: finite(p.speed_lower),
      upper: finite(p.speed_upper),
      volume: finite(p.predicted_volume),
      confidence: finite(p.confidence),
    }));
}

export interface ForecastChartData {
  x: number[];
  speed: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
}

export function forecastChart(rows: readonly ForecastRow[], unit: SpeedUnit): ForecastChartData {
  const convert = (v: number | null) => (v === null ? null : convertSpeed(v, unit));
  return {
    x: rows.map((r) => toEpochSeconds(r.timestamp)),
    speed: rows.map((r) => convert(r.speed)),
    lower: rows.map((r) => convert(r.lower)),
    upper: rows.map((r) => convert(r.upper)),
  };
}

/** "41–55 mph"; "—" without a band. */
export function formatBand(lower: number | null, upper: number | null, unit: SpeedUnit): string {
  if (lower === null || upper === null) return '—';
  const label = unit === 'kmh' ? 'km/h' : 'mph';
  return `${Math.round(convertSpeed(lower, unit))}–${Math.round(convertSpeed(upper, unit))} ${label}`;
}

export function formatVolume(volume: number | null): string {
  return volume === null ? '—' : `${Math.round(volume)}`;
}

export function formatConfidence(confidence: number | null): string {
  return confidence === null ? '—' : `${Math.round(confidence * 100)} %`;
}
