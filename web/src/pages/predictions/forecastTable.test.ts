import { describe, expect, it } from 'vitest';
import type { GeneratedForecast } from './api';
import { forecastChart, forecastRows, formatBand, formatConfidence, formatVolume } from './forecastTable';

const FORECAST: GeneratedForecast = {
  prediction_id: 'S1@1/gbm',
  segment_id: 'S1',
  horizon_minutes: 15,
  model_version: 'gbm',
  generated_at: '2026-01-05T08:00:00Z',
  predictions: [
    { timestamp: '2026-01-05T08:10:00Z', horizon_minutes: 10, predicted_speed: 50, predicted_volume: 12.4, confidence: 0.8, speed_lower: 45, speed_upper: 55 },
    { timestamp: '2026-01-05T08:05:00Z', horizon_minutes: 5, predicted_speed: 52, predicted_volume: null, confidence: null, speed_lower: null, speed_upper: null },
    { timestamp: '2026-01-05T08:15:00Z', horizon_minutes: 15, predicted_speed: null, predicted_volume: 3, confidence: 0.5 },
  ],
};

describe('on-demand forecast', () => {
  it('has one row per horizon, ascending, with nulls for what is missing', () => {
    const rows = forecastRows(FORECAST);
    expect(rows.map((r) => r.horizon)).toEqual([5, 10, 15]);
    expect(rows[1]).toEqual({ timestamp: '2026-01-05T08:10:00Z', horizon: 10, speed: 50, lower: 45, upper: 55, volume: 12.4, confidence: 0.8 });
    expect(rows[2]).toMatchObject({ speed: null, lower: null, upper: null });
  });

  it('charts speeds in the viewer unit on epoch seconds', () => {
    const chart = forecastChart(forecastRows(FORECAST), 'kmh');
    expect(chart.x).toEqual([1767600300, 1767600600, 1767600900]);
    expect(chart.speed[1]).toBeCloseTo(80.4672);
    expect(chart.lower).toEqual([null, expect.closeTo(72.42, 2), null]);
  });

  it('formats the band, volume and confidence', () => {
    expect(formatBand(45, 55, 'mph')).toBe('45–55 mph');
    expect(formatBand(45, 55, 'kmh')).toBe('72–89 km/h');
    expect(formatBand(null, 55, 'mph')).toBe('—');
    expect(formatVolume(12.4)).toBe('12');
    expect(formatConfidence(0.804)).toBe('80 %');
    expect(formatConfidence(null)).toBe('—');
  });
});
