// Live accuracy per model and horizon, from the accuracy endpoint's hourly buckets.
// The figures are weighted by the number of forecasts scored in each bucket, as the
// server's own per-horizon summary is (RMSE from the weighted mean squared error).
import { convertSpeed, type SpeedUnit } from '../../format';
import type { AccuracyBucket } from '../../types';

export interface HorizonStats {
  horizon_minutes: number;
  n: number;
  speed_mae: number | null;
  speed_rmse: number | null;
  speed_coverage: number | null;
}

export interface ModelAccuracy {
  model_version: string;
  /** Forecasts scored over all horizons. */
  n: number;
  byHorizon: Map<number, HorizonStats>;
}

type Field = 'speed_mae' | 'speed_rmse' | 'speed_coverage';

function weighted(rows: readonly AccuracyBucket[], field: Field, squared = false): number | null {
  let total = 0;
  let weight = 0;
  for (const row of rows) {
    const value = row[field];
    if (value == null || !Number.isFinite(value)) continue;
    total += row.n * (squared ? value * value : value);
    weight += row.n;
  }
  return weight > 0 ? total / weight : null;
}

/** One entry per model version, the most scored first; horizons as the buckets hold them. */
export function accuracyByModel(buckets: readonly AccuracyBucket[]): ModelAccuracy[] {
  const groups = new Map<string, Map<number, AccuracyBucket[]>>();
  for (const bucket of buckets) {
    let byHorizon = groups.get(bucket.model_version);
    if (!byHorizon) groups.set(bucket.model_version, (byHorizon = new Map()));
    const rows = byHorizon.get(bucket.horizon_minutes);
    if (rows) rows.push(bucket);
    else byHorizon.set(bucket.horizon_minutes, [bucket]);
  }
  const out: ModelAccuracy[] = [];
  for (const [model_version, byHorizon] of groups) {
    const stats = new Map<number, HorizonStats>();
    let n = 0;
    for (const [horizon, rows] of [...byHorizon].sort((a, b) => a[0] - b[0])) {
      const mse = weighted(rows, 'speed_rmse', true);
      const count = rows.reduce((sum, r) => sum + r.n, 0);
      n += count;
      stats.set(horizon, {
        horizon_minutes: horizon,
        n: count,
        speed_mae: weighted(rows, 'speed_mae'),
        speed_rmse: mse === null ? null : Math.sqrt(mse),
        speed_coverage: weighted(rows, 'speed_coverage'),
      });
    }
    out.push({ model_version, n, byHorizon: stats });
  }
  return out.sort((a, b) => b.n - a.n || a.model_version.localeCompare(b.model_version));
}

/** Every horizon any model was scored at, ascending. */
export function horizonsOf(models: readonly ModelAccuracy[]): number[] {
  const all = new Set<number>();
  for (const m of models) for (const h of m.byHorizon.keys()) all.add(h);
  return [...all].sort((a, b) => a - b);
}

export type AccuracyMetric = 'speed_mae' | 'speed_rmse' | 'speed_coverage' | 'n';

export const ACCURACY_METRICS: readonly { value: AccuracyMetric; label: string }[] = [
  { value: 'speed_mae', label: 'MAE' },
  { value: 'speed_rmse', label: 'RMSE' },
  { value: 'speed_coverage', label: '80 % band coverage' },
  { value: 'n', label: 'Forecasts scored' },
];

/** The figure as a number to chart: errors in the viewer's unit, coverage in percent. */
export function metricValue(stats: HorizonStats | undefined, metric: AccuracyMetric, unit: SpeedUnit): number | null {
  if (!stats) return null;
  const value = stats[metric];
  if (value == null || !Number.isFinite(value)) return null;
  if (metric === 'speed_coverage') return value * 100;
  if (metric === 'n') return value;
  return convertSpeed(value, unit);
}

export function formatMetricValue(value: number | null, metric: AccuracyMetric): string {
  if (value === null) return '—';
  if (metric === 'n') return value.toLocaleString('en-US');
  if (metric === 'speed_coverage') return `${Math.round(value)} %`;
  return value.toFixed(2);
}
