import { describe, expect, it } from 'vitest';
import { accuracyByModel, formatMetricValue, horizonsOf, metricValue } from './accuracy';
import type { AccuracyBucket } from '../../types';

function bucket(model: string, horizon: number, n: number, mae: number | null, rmse: number | null = mae, coverage: number | null = 0.8): AccuracyBucket {
  return {
    bucket_start: '2026-01-05T08:00:00Z',
    model_version: model,
    horizon_minutes: horizon,
    n,
    speed_mae: mae,
    speed_rmse: rmse,
    speed_mape: null,
    speed_bias: null,
    speed_coverage: coverage,
    volume_mae: null,
  };
}

describe('accuracy by model', () => {
  it('weights buckets by forecasts scored, RMSE from the mean squared error', () => {
    const [gbm] = accuracyByModel([bucket('gbm', 15, 30, 2, 3, 0.9), bucket('gbm', 15, 10, 6, 5, 0.5)]);
    const stats = gbm?.byHorizon.get(15);
    expect(stats?.n).toBe(40);
    expect(stats?.speed_mae).toBeCloseTo((30 * 2 + 10 * 6) / 40);
    expect(stats?.speed_rmse).toBeCloseTo(Math.sqrt((30 * 9 + 10 * 25) / 40));
    expect(stats?.speed_coverage).toBeCloseTo((30 * 0.9 + 10 * 0.5) / 40);
  });

  it('groups by model, most scored first, and skips unknown figures', () => {
    const models = accuracyByModel([
      bucket('blend-v1', 60, 5, 4),
      bucket('gbm', 15, 20, 2),
      bucket('gbm', 60, 20, null),
      bucket('blend-v1', 15, 5, 3),
    ]);
    expect(models.map((m) => [m.model_version, m.n])).toEqual([
      ['gbm', 40],
      ['blend-v1', 10],
    ]);
    expect(models[0]?.byHorizon.get(60)?.speed_mae).toBeNull();
    expect([...(models[1]?.byHorizon.keys() ?? [])]).toEqual([15, 60]);
    expect(horizonsOf(models)).toEqual([15, 60]);
  });

  it('is empty without buckets', () => {
    expect(accuracyByModel([])).toEqual([]);
    expect(horizonsOf([])).toEqual([]);
  });

  it('converts errors to the viewer unit and coverage to percent', () => {
    const stats = { horizon_minutes: 15, n: 1200, speed_mae: 2, speed_rmse: 3, speed_coverage: 0.815 };
    expect(metricValue(stats, 'speed_mae', 'kmh')).toBeCloseTo(3.218688);
    expect(formatMetricValue(metricValue(stats, 'speed_coverage', 'mph'), 'speed_coverage')).toBe('82 %');
    expect(formatMetricValue(metricValue(stats, 'n', 'mph'), 'n')).toBe('1,200');
    expect(formatMetricValue(metricValue(stats, 'speed_rmse', 'mph'), 'speed_rmse')).toBe('3.00');
    expect(metricValue(undefined, 'speed_mae', 'mph')).toBeNull();
  });
});
