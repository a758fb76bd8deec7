import { describe, expect, it } from 'vitest';
import type { Prediction, TrafficWindow } from '../types';
import { latestForecasts, mergePredictionBatch, mergeWindow } from './detail';

function win(start: string, speed: number, extra: Partial<TrafficWindow> = {}): TrafficWindow {
  const end = new Date(Date.parse(start) + 5 * 60_000).toISOString();
  return {
    window_start: start,
    window_end: end,
    mean_speed: speed,
    harmonic_mean_speed: speed,
    volume: 1,
    occupancy: 1,
    count: 1,
    level_of_service: 'C',
    ...extra,
  };
}

function prediction(horizon: number, issuedAt: string, speed = 50): Prediction {
  return {
    prediction_id: `${issuedAt}-${horizon}`,
    segment_id: 'S1',
    issued_at: issuedAt,
    horizon_minutes: horizon,
    target_time: new Date(Date.parse(issuedAt) + horizon * 60_000).toISOString(),
    predicted_speed: speed,
    speed_lower: speed - 5,
    speed_upper: speed + 5,
    predicted_volume: null,
    volume_lower: null,
    volume_upper: null,
    confidence: 0.8,
    model_version: 'blend-v1',
  };
}

describe('mergeWindow', () => {
  it('appends, inserts in order and replaces a re-emitted window', () => {
    let windows = mergeWindow([], win('2012-03-01T08:00:00Z', 50));
    windows = mergeWindow(windows, win('2012-03-01T08:10:00Z', 52));
    windows = mergeWindow(windows, win('2012-03-01T08:05:00Z', 51));
    windows = mergeWindow(windows, win('2012-03-01T08:05:00Z', 40, { window_minutes: 5 }));
    expect(windows.map((w) => [w.window_start, w.mean_speed])).toEqual([
      ['2012-03-01T08:00:00Z', 50],
      ['2012-03-01T08:05:00Z', 40],
      ['2012-03-01T08:10:00Z', 52],
    ]);
  });

  it('ignores windows of another size', () => {
    const windows = [win('2012-03-01T08:00:00Z', 50)];
    expect(mergeWindow(windows, win('2012-03-01T08:00:00Z', 10, { window_minutes: 15 }))).toBe(windows);
  });

  it('keeps only the newest `limit` windows', () => {
    let windows: readonly TrafficWindow[] = [];
    for (let minute = 0; minute < 30; minute += 5) {
      windows = mergeWindow(windows, win(`2012-03-01T08:${String(minute).padStart(2, '0')}:00Z`, minute), 5, 3);
    }
    expect(windows.map((w) => w.mean_speed)).toEqual([15, 20, 25]);
  });
});

describe('latestForecasts', () => {
  it('keeps the newest issue per horizon, sorted by horizon', () => {
    const result = latestForecasts([
      prediction(30, '2012-03-01T08:00:00Z', 1),
      prediction(15, '2012-03-01T08:05:00Z', 2),
      prediction(30, '2012-03-01T08:05:00Z', 3),
      prediction(15, '2012-03-01T08:00:00Z', 4),
    ]);
    expect(result.map((p) => [p.horizon_minutes, p.predicted_speed])).toEqual([
      [15, 2],
      [30, 3],
    ]);
  });
});

describe('mergePredictionBatch', () => {
  const current = [prediction(15, '2012-03-01T08:05:00Z')];

  it('takes a newer batch', () => {
    const forecasts = [60, 45, 30, 15].map((h) => prediction(h, '2012-03-01T08:10:00Z'));
    const result = mergePredictionBatch(current, {
      issued_at: '2012-03-01T08:10:00Z',
      model_version: 'blend-v1',
      forecasts,
    });
    expect(result.map((p) => p.horizon_minutes)).toEqual([15, 30, 45, 60]);
  });

  it('ignores an older batch', () => {
    const result = mergePredictionBatch(current, {
      issued_at: '2012-03-01T08:00:00Z',
      model_version: 'blend-v1',
      forecasts: [prediction(15, '2012-03-01T08:00:00Z')],
    });
    expect(result).toBe(current);
  });
});
