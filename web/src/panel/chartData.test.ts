import { describe, expect, it } from 'vitest';
import type { Prediction, TrafficWindow } from '../types';
import { buildSpeedChartData } from './chartData';

const T0 = Date.parse('2012-03-01T08:00:00Z') / 1000;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const minutes = (m: number) => T0 + m * 60;

function win(startMinute: number, speed: number | null): TrafficWindow {
  return {
    window_start: iso(minutes(startMinute)),
    window_end: iso(minutes(startMinute + 5)),
    mean_speed: speed,
    harmonic_mean_speed: speed,
    volume: null,
    occupancy: null,
    count: 3,
    level_of_service: null,
  };
}

function forecast(horizon: number, speed: number, band: [number, number] | null = [speed - 5, speed + 5]): Prediction {
  return {
    prediction_id: `p${horizon}`,
    segment_id: 'S1',
    issued_at: iso(minutes(15)),
    horizon_minutes: horizon,
    target_time: iso(minutes(15 + horizon)),
    predicted_speed: speed,
    speed_lower: band ? band[0] : null,
    speed_upper: band ? band[1] : null,
    predicted_volume: null,
    volume_lower: null,
    volume_upper: null,
    confidence: 0.8,
    model_version: 'blend-v1',
  };
}

describe('buildSpeedChartData', () => {
  it('plots windows at their end and continues with the forecast from the last observation', () => {
    const data = buildSpeedChartData([win(0, 50), win(5, 48), win(10, 45)], [forecast(30, 35), forecast(15, 40)]);
    expect(data.x).toEqual([minutes(5), minutes(10), minutes(15), minutes(30), minutes(45)]);
    expect(data.observed).toEqual([50, 48, 45, undefined, undefined]);
    expect(data.forecast).toEqual([undefined, undefined, 45, 40, 35]);
    expect(data.lower).toEqual([undefined, undefined, 45, 35, 30]);
    expect(data.upper).toEqual([undefined, undefined, 45, 45, 40]);
    expect(data.issuedAt).toBe(minutes(15));
  });

  it('breaks the observed line at missing windows and windows without speed', () => {
    const data = buildSpeedChartData([win(0, 50), win(5, null), win(20, 40)], []);
    expect(data.x).toEqual([minutes(5), minutes(10), minutes(12.5), minutes(25)]);
    expect(data.observed).toEqual([50, null, null, 40]);
    expect(data.forecast).toEqual([undefined, undefined, undefined, undefined]);
    expect(data.issuedAt).toBeNull();
  });

  it('shows only the recent hours of history', () => {
    const windows = Array.from({ length: 48 }, (_, i) => win(i * 5, 50 + (i % 3)));
    const data = buildSpeedChartData(windows, [], { historyHours: 1 });
    expect(data.x[0]).toBe(minutes(180));
    expect(data.x.at(-1)).toBe(minutes(240));
    expect(data.x).toHaveLength(13);
  });

  it('leaves the band out when the forecast has no bounds', () => {
    const data = buildSpeedChartData([], [forecast(15, 40, null)]);
    expect(data.x).toEqual([minutes(30)]);
    expect(data.forecast).toEqual([40]);
    expect(data.lower).toEqual([undefined]);
    expect(data.upper).toEqual([undefined]);
  });

  it('is empty without data', () => {
    expect(buildSpeedChartData([], []).x).toEqual([]);
  });
});

describe('buildSpeedChartData with filled windows', () => {
  it('keeps imputed windows off the observed line and joins them to the measured points beside them', () => {
    const windows: TrafficWindow[] = [
      win(0, 50),
      win(5, 49),
      { ...win(10, 44), fill: 'imputed_neighbours', count: 0 },
      { ...win(15, 43), fill: 'imputed_profile', count: 0 },
      { ...win(20, null), fill: 'missing', count: 0 },
      win(25, 47),
      win(30, 46),
    ];
    const data = buildSpeedChartData(windows, []);
    expect(data.x).toEqual([5, 10, 15, 20, 25, 30, 35].map(minutes));
    expect(data.observed).toEqual([50, 49, null, null, null, 47, 46]);
    expect(data.imputed).toEqual([null, 49, 44, 43, null, null, null]);
    expect(data.imputedAt).toEqual([false, false, true, true, false, false, false]);
  });
});
